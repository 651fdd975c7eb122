"""The directly encoded requests are byte for byte what ldap3 itself would send."""

from __future__ import annotations

from typing import Any

import ldap3
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ldap3.core.exceptions import LDAPInvalidFilterError
from ldap3.core.results import RESULT_CODES
from ldap3.operation.bind import bind_operation
from ldap3.operation.extended import extended_operation
from ldap3.operation.modify import modify_operation
from ldap3.operation.search import compile_filter, parse_filter, search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc3062 import PasswdModifyRequestValue
from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp
from ldap3.utils.asn1 import decode_message_fast, encode
from ldap3.utils.conv import escape_filter_chars

from passgate.directory import ppolicy, wire

PPOLICY = ppolicy.request_control()


def ldap3_sends(message_id: int, kind: str, request: Any, controls: Any) -> bytes:
    """What ldap3's ``BaseStrategy.send`` and ``sending`` put on the socket."""
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName(kind, request)
    built = build_controls_list(controls)
    if built is not None:
        message["controls"] = built
    return bytes(encode(message))


def ldap3_password_modify(old: bytes, new: bytes) -> Any:
    value = PasswdModifyRequestValue()  # as ldap3's ModifyPassword fills it
    if old:
        value["oldPasswd"] = old
    if new:
        value["newPasswd"] = new
    return extended_operation(wire.PASSWORD_MODIFY_OID, value)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
secrets = st.binary(min_size=1, max_size=300)
message_ids = st.integers(min_value=1, max_value=2**31 - 1)
controls = st.sampled_from(
    [None, [PPOLICY], [("1.2.840.113556.1.4.2239", True, b"\x30\x03\x02\x01\x01"), PPOLICY]]
)
attribute_names = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-;0123456789.", min_size=1),
    max_size=6,
)


@given(message_ids, text.filter(bool), secrets, controls)
@settings(max_examples=300, deadline=None)
@example(1, "cn=a", b"x" * 200, [PPOLICY])  # long forms of length
@example(128, "cn=ä,dc=example", b"\x00\xff", None)
def test_bind_request(message_id: int, dn: str, password: bytes, ctrls: Any) -> None:
    request = bind_operation(3, ldap3.SIMPLE, dn, password)
    assert wire.message(message_id, wire.bind_request(dn, password), ctrls) == ldap3_sends(
        message_id, "bindRequest", request, ctrls
    )


def a_read(dn: str, attributes: list[str]) -> bytes:
    """What wire.read_entry sends: a base search for ``(objectClass=*)``, no limits."""
    return wire.search_request(dn, 0, wire.encoded_filter("(objectClass=*)"), attributes)


@given(message_ids, text, attribute_names)
@settings(max_examples=300, deadline=None)
@example(1, "", ["1.1"])
@example(70000, "uid=x,ou=people,dc=example,dc=org" * 20, ["pwdFailureTime"])
def test_read_request(message_id: int, dn: str, attributes: list[str]) -> None:
    wanted = attributes or [ldap3.NO_ATTRIBUTES]
    request = search_operation(
        dn, "(objectClass=*)", ldap3.BASE, ldap3.DEREF_ALWAYS, wanted, 0, 0, False, True, True
    )
    assert wire.message(message_id, a_read(dn, wanted), None) == ldap3_sends(
        message_id, "searchRequest", request, None
    )


SCOPE_CONSTANTS = {"base": ldap3.BASE, "one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
filters = st.one_of(
    st.builds(lambda v: f"(uid={escape_filter_chars(v)})", values),
    st.builds(
        lambda a, v: f"(&(objectClass=inetOrgPerson)({a}={escape_filter_chars(v)}))",
        st.sampled_from(["passgateUserId", "sAMAccountName", "nsUniqueId", "cn;lang-de"]),
        values,
    ),
    st.sampled_from(
        [
            "(objectClass=*)",
            "(|(mail=*@example.org)(!(cn=x*y)))",
            "(&(objectClass=person)(|(uid=a)(uid=b))(!(nsAccountLock=TRUE)))",
            "(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=example,dc=org)",
            "(employeeNumber>=10)",
            "(cn~=smith)",
        ]
    ),
)


@given(
    message_ids,
    text,
    st.sampled_from(["base", "one", "sub"]),
    filters,
    attribute_names,
    st.integers(min_value=0, max_value=2**31 - 1),
    st.integers(min_value=0, max_value=2**31 - 1),
)
@settings(max_examples=300, deadline=None)
@example(1, "dc=example,dc=org", "sub", "(uid=\\2a)", ["1.1"], 2, 10)
def test_search_request(
    message_id: int, base: str, scope: str, flt: str, attributes: list[str], size: int, time: int
) -> None:
    wanted = attributes or [ldap3.NO_ATTRIBUTES]
    request = search_operation(
        base, flt, SCOPE_CONSTANTS[scope], ldap3.DEREF_ALWAYS, wanted, size, time, False, True, True
    )
    mine = wire.search_request(
        base, wire.SCOPES[scope], wire.encoded_filter(flt), wanted, size, time
    )
    assert wire.message(message_id, mine, None) == ldap3_sends(
        message_id, "searchRequest", request, None
    )


def test_an_invalid_filter_raises_ldap3s_error_and_is_not_remembered() -> None:
    with pytest.raises(LDAPInvalidFilterError):
        wire.encoded_filter("(uid=unclosed")
    assert wire.encoded_filter("(uid=closed)") == wire.encoded_filter("(uid=closed)")


filter_attributes = st.sampled_from(["cn", "uid", "cn;lang-de", "1.2.840.113556.1.4.221"])
filter_values = st.one_of(
    st.builds(escape_filter_chars, values),
    st.text("ab\\2a*()=:é0f", max_size=12),  # raw: escapes, stars, stray parentheses
)
extensible = st.builds(
    lambda a, dn, rule, v: f"({a}{':dn' if dn else ''}{':' + rule if rule else ''}:={v})",
    st.sampled_from(["", "cn", "memberOf"]),
    st.booleans(),
    st.sampled_from(["", "2.5.13.2", "1.2.840.113556.1.4.1941"]),
    filter_values,
)
simple_filters = st.one_of(
    st.builds(
        lambda a, op, v: f"({a}{op}{v})",
        filter_attributes,
        st.sampled_from(["=", ">=", "<=", "~="]),
        filter_values,
    ),
    st.builds(
        lambda a, pieces: f"({a}={'*'.join(pieces)})",
        filter_attributes,
        st.lists(st.one_of(st.just(""), filter_values), min_size=2, max_size=4),
    ),
    extensible,
)
any_filters = st.recursive(
    simple_filters,
    lambda inner: st.one_of(
        st.builds(lambda fs: f"(&{''.join(fs)})", st.lists(inner, max_size=3)),
        st.builds(lambda fs: f"(|{''.join(fs)})", st.lists(inner, max_size=3)),
        st.builds(lambda f: f"(!{f})", inner),
    ),
    max_leaves=6,
)


def encoded_by(encoder: Any, text: str) -> bytes | str:
    try:
        return bytes(encoder(text))
    except Exception as error:  # the refusal's kind is compared
        return type(error).__name__


def ldap3_encodes(text: str) -> bytes:
    return bytes(
        encode(compile_filter(parse_filter(text, None, True, True, None, False).elements[0]))
    )


@given(any_filters)
@settings(max_examples=500, deadline=None)
@example("(cn=**)")  # no substrings at all: ldap3's encoder refuses it
@example("(cn:dn:2.5.13.2:=x)")
@example("(!(|(a=1)(b=*)))")
def test_a_filter_is_encoded_as_ldap3_encodes_it(text: str) -> None:
    wire.encoded_filter.cache_clear()
    assert encoded_by(wire.encoded_filter, text) == encoded_by(ldap3_encodes, text)


@given(message_ids, st.binary(max_size=300), st.binary(max_size=300), controls)
@settings(max_examples=300, deadline=None)
@example(5, b"", b"new", [PPOLICY])
def test_password_modify_request(message_id: int, old: bytes, new: bytes, ctrls: Any) -> None:
    request = ldap3_password_modify(old, new)
    encoded = wire.message(message_id, wire.password_modify_request(old, new), ctrls)
    assert encoded == ldap3_sends(message_id, "extendedReq", request, ctrls)


def test_a_str_password_is_refused_not_prepared() -> None:
    """ldap3 would SASLprep a str; passgate's binds send the UTF-8 bytes, unprepared."""
    conn = ldap3.Connection(ldap3.Server("127.0.0.1"), user="cn=a", password="secret")
    with pytest.raises(TypeError) as raised:
        wire.bind(conn)
    assert "secret" not in str(raised.value)


def test_the_request_summary_holds_no_password() -> None:
    """conn.request after a bind or a change names the operation, never a password."""
    sent: list[bytes] = []

    class Socket:
        def sendall(self, data: bytes) -> None:
            sent.append(data)

    conn = ldap3.Connection(ldap3.Server("127.0.0.1"), user="cn=a", password=b"old-secret")
    conn.socket = Socket()
    conn.listening = True  # type: ignore[misc]
    conn.strategy._outstanding = {}
    wire._send(
        conn, "bindRequest", wire.bind_request("cn=a", b"old-secret"), None, {"name": "cn=a"}
    )
    assert b"old-secret" in sent[0]
    assert "old-secret" not in repr(conn.request)
    wire._send(conn, "extendedReq", wire.password_modify_request(b"o-pw", b"n-pw"), None, {})
    assert "o-pw" not in repr(conn.request)
    assert "n-pw" not in repr(conn.request)


OPERATIONS = {wire.MODIFY_ADD: ldap3.MODIFY_ADD, wire.MODIFY_DELETE: ldap3.MODIFY_DELETE}
OPERATIONS[wire.MODIFY_REPLACE] = ldap3.MODIFY_REPLACE
changes = st.lists(
    st.tuples(
        st.sampled_from(sorted(OPERATIONS)),
        st.sampled_from(["unicodePwd", "userPassword", "description"]),
        st.lists(secrets, min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda change: change[1],  # ldap3 takes a dict: one entry per attribute
)


@given(message_ids, text, changes, controls)
@settings(max_examples=300, deadline=None)
@example(
    9,
    "CN=Doe\\, John,OU=Sales,DC=corp,DC=example",
    [
        (wire.MODIFY_DELETE, "unicodePwd", ['"old"'.encode("utf-16-le")]),
        (wire.MODIFY_ADD, "unicodePwd", ['"new"'.encode("utf-16-le")]),
    ],
    None,
)
def test_modify_request(message_id: int, dn: str, mods: Any, ctrls: Any) -> None:
    """AD's delete-old/add-new of unicodePwd, and its reset by the service account."""
    as_ldap3: dict[str, list[tuple[int, list[bytes]]]] = {}
    for operation, attribute, values in mods:
        as_ldap3.setdefault(attribute, []).append((OPERATIONS[operation], values))
    request = modify_operation(dn, as_ldap3, True)
    assert wire.message(message_id, wire.modify_request(dn, mods), ctrls) == ldap3_sends(
        message_id, "modifyRequest", request, ctrls
    )


# -- answers: read directly exactly as ldap3's fast decoder reads them ---------------------

LDAP3_STRATEGY = ldap3.Connection(ldap3.Server("localhost"), client_strategy=ldap3.SYNC).strategy


def ldap3_reads(data: bytes) -> tuple[int, dict[str, Any]]:
    message = decode_message_fast(data)
    return int(message["messageID"]), LDAP3_STRATEGY.decode_response_fast(message)


def results_only(data: bytes) -> tuple[int, dict[str, Any]] | None:
    return wire.decode_answer(data, entries=False)


def entries_only(data: bytes) -> tuple[int, dict[str, Any]] | None:
    return wire.decode_answer(data, results=False)


result_kinds = st.sampled_from([0x61, 0x65, 0x67, 0x78])
result_codes = st.sampled_from(sorted(RESULT_CODES))
answer_controls = st.lists(
    st.tuples(
        st.sampled_from([ppolicy.OID, "1.2.840.113556.1.4.2239", "2.5.4.3", "1.2.3.4.5"]),
        st.sampled_from([None, b"\x00", b"\xff"]),  # criticality absent, FALSE, TRUE
        st.one_of(st.none(), st.binary(max_size=200)),
    ),
    max_size=3,
    unique_by=lambda control: control[0],
)


def encoded_answer(
    message_id: int,
    kind: int,
    code: int,
    matched: str,
    diagnostic: str,
    extra: list[tuple[int, bytes]],
    controls: list[tuple[str, bytes | None, bytes | None]] | None,
) -> bytes:
    body = (
        wire._tlv(0x0A, code.to_bytes(code.bit_length() // 8 + 1, "big"))
        + wire._octets(0x04, matched)
        + wire._octets(0x04, diagnostic)
        + b"".join(wire._tlv(tag, value) for tag, value in extra)
    )
    encoded = wire._integer(message_id) + wire._tlv(kind, body)
    if controls is not None:
        each = b""
        for oid, critical, value in controls:
            inner = wire._octets(0x04, oid)
            if critical is not None:
                inner += wire._tlv(0x01, critical)
            if value is not None:
                inner += wire._tlv(0x04, value)
            each += wire._tlv(0x30, inner)
        encoded += wire._tlv(0xA0, each)
    return wire._tlv(0x30, encoded)


@given(
    message_ids,
    result_kinds,
    result_codes,
    text,
    text,
    st.one_of(st.none(), st.binary(max_size=200)),
    st.one_of(st.none(), text),
    st.one_of(st.none(), answer_controls),
)
@settings(max_examples=400, deadline=None)
def test_a_result_is_read_as_ldap3_reads_it(
    message_id: int,
    kind: int,
    code: int,
    matched: str,
    diagnostic: str,
    value: bytes | None,
    name: str | None,
    controls: list[tuple[str, bytes | None, bytes | None]] | None,
) -> None:
    extra: list[tuple[int, bytes]] = []
    if kind == 0x61 and value is not None:
        extra.append((0x87, value))  # saslCreds
    if kind == 0x78:
        if name is not None:
            extra.append((0x8A, name.encode()))
        if value is not None:
            extra.append((0x8B, value))
    data = encoded_answer(message_id, kind, code, matched, diagnostic, extra, controls)
    assert results_only(data) == ldap3_reads(data)


def test_what_is_not_a_plain_result_is_left_to_ldap3() -> None:
    referral = wire._tlv(0xA3, wire._octets(0x04, "ldap://elsewhere/"))
    with_referral = encoded_answer(7, 0x67, 10, "", "", [(0xA3, referral[2:])], None)
    assert results_only(with_referral) is None
    paged = encoded_answer(7, 0x65, 0, "", "", [], [("1.2.840.113556.1.4.319", None, b"0")])
    assert results_only(paged) is None
    latin1 = encoded_answer(7, 0x67, 0, "", "", [], None).replace(
        b"\x04\x00\x04\x00", b"\x04\x00\x04\x01\xe9"
    )
    assert results_only(latin1) is None  # ldap3 tries its other encodings
    entry = wire._tlv(0x30, wire._integer(3) + wire._tlv(0x64, wire._octets(0x04, "cn=x")))
    assert results_only(entry) is None


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_any_bytes_are_read_or_left_to_ldap3_never_raised(data: bytes) -> None:
    decoded = results_only(data)
    if decoded is not None:
        assert decoded == ldap3_reads(data)


# -- entries: read directly as ldap3 reads them on passgate's connections -------------------

# passgate's connections check no names (no schema is read): every value is text.
UNCHECKED = ldap3.Connection(
    ldap3.Server("localhost"), client_strategy=ldap3.SYNC, check_names=False
).strategy


def ldap3_reads_entry(data: bytes) -> tuple[int, dict[str, Any]]:
    message = decode_message_fast(data)
    return int(message["messageID"]), UNCHECKED.decode_response_fast(message)


attribute_names = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x17F), min_size=1, max_size=40
)
attribute_values = st.one_of(
    text.map(str.encode),
    st.binary(max_size=300),  # not always UTF-8: ldap3 then tries latin-1
    st.just(b"x" * 70_000),  # a three-octet length
)


def encoded_entry(
    message_id: int, dn: bytes, attributes: list[tuple[str, list[bytes]]], controls: bool = False
) -> bytes:
    listed = b"".join(
        wire._tlv(
            0x30,
            wire._octets(0x04, name)
            + wire._tlv(0x31, b"".join(wire._tlv(0x04, value) for value in values)),
        )
        for name, values in attributes
    )
    encoded = wire._integer(message_id) + wire._tlv(
        0x64, wire._tlv(0x04, dn) + wire._tlv(0x30, listed)
    )
    if controls:
        encoded += wire._tlv(0xA0, wire._tlv(0x30, wire._octets(0x04, "1.2.3.4")))
    return wire._tlv(0x30, encoded)


@given(
    message_ids,
    st.one_of(text.map(str.encode), st.binary(max_size=100)),
    st.lists(st.tuples(attribute_names, st.lists(attribute_values, max_size=4)), max_size=6),
)
@example(1, b"uid=a,dc=example", [("pwdFailureTime", [b"20261202150000Z"]), ("cn", [])])
@example(2, b"", [("Cn", [b"one"]), ("cN", [b"two"])])  # a name twice, in other cases
@settings(max_examples=400, deadline=None)
def test_an_entry_is_read_as_ldap3_reads_it(
    message_id: int, dn: bytes, attributes: list[tuple[str, list[bytes]]]
) -> None:
    data = encoded_entry(message_id, dn, attributes)
    decoded = entries_only(data)
    texts = [dn, *(v for _, values in attributes for v in values)]
    if all(_utf8(t) for t in texts):
        assert decoded == ldap3_reads_entry(data)
    else:
        assert decoded is None  # left to ldap3, which tries its other encodings


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_an_entry_with_controls_or_odd_nesting_is_left_to_ldap3() -> None:
    assert entries_only(encoded_entry(3, b"cn=x", [("cn", [b"x"])], controls=True)) is None
    plain = encoded_entry(3, b"cn=x", [("cn", [b"x"])])
    assert entries_only(plain) is not None
    assert entries_only(plain + b"\x00") is None  # bytes after the message
    assert entries_only(plain.replace(b"\x31\x03\x04\x01x", b"\x31\x03\x02\x01\x05")) is None
    assert results_only(plain) is None  # not a result: the entry reader's


@given(st.binary(max_size=300))
@example(encoded_entry(5, b"cn=x", [("cn", [b"x", b"y"])])[:-1])
@settings(max_examples=500, deadline=None)
def test_any_bytes_are_read_as_an_entry_or_left_to_ldap3_never_raised(data: bytes) -> None:
    decoded = entries_only(data)
    if decoded is not None:
        assert decoded == ldap3_reads_entry(data)


def test_an_entry_read_directly_on_the_real_path_equals_ldap3s() -> None:
    """Through _answers, as a search's answers arrive: the entry, then the done."""
    entry = encoded_entry(9, "uid=zoë,dc=example".encode(), [("pwdFailureTime", [b"1", b"2"])])
    done = wire._tlv(0x30, wire._integer(9) + wire._tlv(0x65, b"\x0a\x01\x00\x04\x00\x04\x00"))

    class Strategy:
        def __init__(self) -> None:
            self._outstanding = {
                9: {"type": "searchRequest", "attributes": ["pwdFailureTime", "x"]}
            }

        @staticmethod
        def receiving() -> list[bytes]:
            return [entry, done]

    class Conn:
        strategy = Strategy()
        check_names = False
        empty_attributes = True
        result: Any = None
        last_error = None

    entries, result = wire._answers(Conn(), 9)  # type: ignore[arg-type]
    expected = ldap3_reads_entry(entry)[1]
    expected["raw_attributes"]["x"] = []
    expected["attributes"]["x"] = []
    assert entries == [expected]
    assert result["type"] == "searchResDone"


def test_controls_given_as_lists_are_encoded_as_tuples_are() -> None:
    as_tuple = wire.message(5, wire.bind_request("cn=x", b"pw"), [PPOLICY])
    as_list = wire.message(5, wire.bind_request("cn=x", b"pw"), [list(PPOLICY)])  # type: ignore[list-item]
    assert as_list == as_tuple


@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(encoded_entry, message_ids, st.just(b"cn=x"), st.just([("cn", [b"x"])])),
    )
)
@example(encoded_answer(4, 0x61, 0, "", "", [], None))
@settings(max_examples=300, deadline=None)
def test_one_reading_serves_results_and_entries_alike(data: bytes) -> None:
    """What _answers calls: both kinds in one reading of the envelope."""
    decoded = wire.decode_answer(data)
    assert decoded == (results_only(data) or entries_only(data))
    if decoded is not None:
        assert decoded == ldap3_reads_entry(data)  # results read the same with names unchecked
