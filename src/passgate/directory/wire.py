"""The requests of every change, put on the wire without pyasn1's object trees; their answers.

A change sends the same LDAP messages every time: a base read of the
entry (the last-straw guard), a simple bind as the user with the
password-policy request control, the Password Modify extended operation
(RFC 3062), and the lookup's search when the DN is not cached. ldap3
builds each request as a tree of pyasn1 objects, turns it back into a
dictionary for ``conn.request``, and BER-encodes the tree: about two
thirds of its CPU per operation (measured in the README's "Where the time
goes"). Here they are encoded directly, byte for byte what ldap3 sends
(property tests compare them with ldap3's own encoding; a search filter
is parsed by ldap3 and its tree encoded here, once per filter string), and handed
to the same ldap3 connection: its socket, TLS, message ids and receive
timeout are ldap3's. Active Directory's change is a modify of
``unicodePwd`` (delete the old, add the new), encoded here too; the
settlement's binds and discovery stay on ldap3's own methods.

The answers are read as ldap3's ``get_response`` reads them
(:func:`_answers`): the same result dictionaries, the same refusals with
the same words, so :mod:`.results` reads every answer as before. A plain
result (bind, search done, modify, extended) and an entry are decoded
here (:func:`decode_answer`, property-tested against ldap3's fast
decoder); anything unusual by ldap3's decoder.

Unlike ldap3, ``conn.request`` never holds a password: the request's
summary names the operation and its DN only.

It reaches into ldap3 2.9.1's strategy (``_outstanding``, ``receiving``,
``decode_response_fast``): ldap3's last release, and the version
``pyproject.toml`` pins.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import ldap3
from ldap3.core.exceptions import (
    LDAPExceptionError,
    LDAPExtensionError,
    LDAPPasswordIsMandatoryError,
    LDAPSessionTerminatedByServerError,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
    LDAPSocketSendError,
    LDAPTransactionError,
    LDAPUserNameIsMandatoryError,
    communication_exception_factory,
)
from ldap3.core.results import RESULT_CODES, RESULT_SUCCESS
from ldap3.operation.search import (
    AND,
    MATCH_APPROX,
    MATCH_EQUAL,
    MATCH_EXTENSIBLE,
    MATCH_GREATER_OR_EQUAL,
    MATCH_LESS_OR_EQUAL,
    MATCH_PRESENT,
    MATCH_SUBSTRING,
    NOT,
    OR,
    compile_filter,
    parse_filter,
    prepare_filter_for_sending,
)
from ldap3.protocol.oid import Oids
from ldap3.protocol.rfc3062 import PasswdModifyResponseValue
from ldap3.utils.asn1 import decode_message_fast, encode
from ldap3.utils.ciDict import CaseInsensitiveDict
from ldap3.utils.config import get_config_parameter
from pyasn1.codec.ber import decoder as ber_decoder

Control = tuple[str, bool, bytes | None]
# (operation, attribute, values): 0 add, 1 delete, 2 replace (ldap3.MODIFY_*'s numbers)
Change = tuple[int, str, Sequence[bytes]]
MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE = 0, 1, 2

PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"
MAX_CACHED_FILTERS = 10_000  # lookup filters: one per user looked up lately
SCOPES = {"base": 0, "one": 1, "sub": 2}
_VERSION_3 = b"\x02\x01\x03"
_DEREF_ALWAYS = b"\x0a\x01\x03"
_TYPES_ONLY_FALSE = b"\x01\x01\x00"


# -- BER (X.690), definite lengths, as ldap3 has pyasn1 write them (TRUE is 0xFF) ---------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:  # most elements of a change: the short form, one octet
        return bytes((tag, size)) + content
    return bytes((tag,)) + _length(size) + content


def _integer(n: int) -> bytes:
    """A non-negative INTEGER in its shortest two's-complement form."""
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _octets(tag: int, value: str | bytes) -> bytes:
    return _tlv(tag, value.encode("utf-8") if isinstance(value, str) else value)


def _controls(controls: Sequence[Control] | None) -> bytes:
    """``controls [0] Controls`` (RFC 4511, 4.1.11), or nothing."""
    if not controls:
        return b""
    listed = tuple(controls)
    try:
        return _encoded_controls(listed)
    except TypeError:  # a control given as a list (a plugin's): not hashable, not cached
        return _encoded_controls.__wrapped__(listed)


# A change's controls are the same few every time (the password-policy request,
# AD's policy hints); none carries a secret.
@functools.lru_cache(maxsize=64)
def _encoded_controls(controls: tuple[Control, ...]) -> bytes:
    encoded = b""
    for oid, critical, value in controls:
        body = _octets(0x04, oid)
        if critical:  # FALSE is the DEFAULT, left out
            body += b"\x01\x01\xff"
        if value is not None:
            body += _octets(0x04, value)
        encoded += _tlv(0x30, body)
    return _tlv(0xA0, encoded)


def message(message_id: int, operation: bytes, controls: Sequence[Control] | None) -> bytes:
    """An LDAPMessage: SEQUENCE { messageID, protocolOp, controls [0] OPTIONAL }."""
    return _tlv(0x30, _integer(message_id) + operation + _controls(controls))


def bind_request(dn: str, password: bytes) -> bytes:
    """BindRequest [APPLICATION 0]: version 3, the DN, ``simple [0]`` with the password."""
    return _tlv(0x60, _VERSION_3 + _octets(0x04, dn) + _octets(0x80, password))


def search_request(
    base: str,
    scope: int,
    search_filter: bytes,
    attributes: Iterable[str],
    size_limit: int = 0,
    time_limit: int = 0,
) -> bytes:
    """SearchRequest [APPLICATION 3], aliases always dereferenced (ldap3's default)."""
    return _tlv(
        0x63,
        _octets(0x04, base)
        + _search_settings(scope, size_limit, time_limit)
        + search_filter
        + _selection(tuple(attributes)),
    )


@functools.lru_cache(maxsize=64)  # a change's searches use the same few
def _search_settings(scope: int, size_limit: int, time_limit: int) -> bytes:
    """scope, derefAliases, sizeLimit, timeLimit, typesOnly."""
    return (
        _tlv(0x0A, bytes((scope,)))
        + _DEREF_ALWAYS
        + _integer(size_limit)
        + _integer(time_limit)
        + _TYPES_ONLY_FALSE
    )


@functools.lru_cache(maxsize=64)  # the guard's and the lookup's attribute lists
def _selection(attributes: tuple[str, ...]) -> bytes:
    """attributes AttributeSelection."""
    return _tlv(0x30, b"".join(_octets(0x04, name) for name in attributes))


@functools.lru_cache(maxsize=MAX_CACHED_FILTERS)
def encoded_filter(text: str) -> bytes:
    """A filter string as ldap3 encodes it (its parser, then :func:`_filter`), remembered.

    A user's lookup filter comes back with every lookup of that user; an
    invalid one raises ldap3's ``LDAPInvalidFilterError`` (never cached).
    """
    node = parse_filter(text, None, True, True, None, False).elements[0]  # ldap3's defaults
    encoded = _filter(node)
    if encoded is None:  # what ldap3 refuses or encodes oddly: its own encoder says how
        return bytes(encode(compile_filter(node)))
    return encoded


# Filter's CHOICE tags (RFC 4511 section 4.5.1) for an AttributeValueAssertion.
_ASSERTIONS = {
    MATCH_EQUAL: 0xA3,
    MATCH_GREATER_OR_EQUAL: 0xA5,
    MATCH_LESS_OR_EQUAL: 0xA6,
    MATCH_APPROX: 0xA8,
}
_SUBSTRINGS = (("initial", 0x80), ("any", 0x81), ("final", 0x82))


def _filter(node: Any) -> bytes | None:
    """ldap3's parsed filter as its ``compile_filter`` and pyasn1 would encode it.

    Its tree, walked as ``compile_filter`` walks it: pyasn1 objects for a
    user's lookup filter had cost about a tenth of a first change's CPU.
    None where ldap3's encoder refuses (a substring filter with no
    substrings), so its own error is raised.
    """
    tag = node.tag
    if tag in (AND, OR, NOT):
        inner = node.elements[: 1 if tag == NOT else None]
        parts = [part for part in map(_filter, inner) if part is not None]
        if not parts or len(parts) < len(inner):
            return None
        return _tlv(0xA0 + tag - AND, b"".join(parts))
    assertion = node.assertion
    if tag in _ASSERTIONS:
        value = prepare_filter_for_sending(assertion["value"])
        return _tlv(_ASSERTIONS[tag], _octets(0x04, assertion["attr"]) + _octets(0x04, value))
    if tag == MATCH_PRESENT:
        return _octets(0x87, assertion["attr"])
    if tag == MATCH_SUBSTRING:
        pieces = b""
        for key, piece_tag in _SUBSTRINGS:
            found = assertion.get(key)
            for piece in (found if key == "any" else [found]) if found else ():
                pieces += _octets(piece_tag, prepare_filter_for_sending(piece))
        if not pieces:
            return None
        return _tlv(0xA4, _octets(0x04, assertion["attr"]) + _tlv(0x30, pieces))
    if tag == MATCH_EXTENSIBLE:
        encoded = b""
        if assertion["matchingRule"]:
            encoded += _octets(0x81, assertion["matchingRule"])
        if assertion["attr"]:
            encoded += _octets(0x82, assertion["attr"])
        encoded += _octets(0x83, prepare_filter_for_sending(assertion["value"]))
        if assertion["dnAttributes"]:  # DEFAULT FALSE: left out when false
            encoded += b"\x84\x01\xff"
        return _tlv(0xA9, encoded)
    return None


def password_modify_request(old: bytes, new: bytes) -> bytes:
    """ExtendedRequest [APPLICATION 23] for RFC 3062, of the bound user (no userIdentity)."""
    value = b""
    if old:
        value += _octets(0x81, old)
    if new:
        value += _octets(0x82, new)
    name = _octets(0x80, PASSWORD_MODIFY_OID)
    if not value:  # ldap3 leaves out an empty requestValue
        return _tlv(0x77, name)
    return _tlv(0x77, name + _octets(0x81, _tlv(0x30, value)))


def modify_request(dn: str, changes: Sequence[Change]) -> bytes:
    """ModifyRequest [APPLICATION 6]: the changes in order, each an operation on one attribute."""
    encoded = b""
    for operation, attribute, values in changes:
        vals = b"".join(_octets(0x04, value) for value in values)
        modification = _tlv(0x30, _octets(0x04, attribute) + _tlv(0x31, vals))
        encoded += _tlv(0x30, _tlv(0x0A, bytes((operation,))) + modification)
    return _tlv(0x66, _octets(0x04, dn) + _tlv(0x30, encoded))


# -- answers: LDAPResult read directly, anything else by ldap3 ------------------------------

Answer = dict[str, Any]  # as ldap3's decode_response_fast builds it
# The answers passgate waits for, by their [APPLICATION n] tag.
_RESULTS = {
    0x61: "bindResponse",
    0x65: "searchResDone",
    0x67: "modifyResponse",
    0x78: "extendedResp",
}
# Controls ldap3 decodes into dictionaries of their own: left to it.
_DECODED_BY_LDAP3 = frozenset(
    {"1.2.840.113556.1.4.319", "1.2.840.113556.1.4.841", "1.3.6.1.1.13.1", "1.3.6.1.1.13.2"}
)
_NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"
_NOVELL_TRANSACTION_ERROR = "2.16.840.1.113719.1.27.103.4"
_CONTINUED = frozenset({"searchResEntry", "searchResRef", "intermediateResponse"})


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start, end) of the BER element at ``at`` (definite lengths only)."""
    tag = data[at]
    first = data[at + 1]
    if first < 0x80:
        start = at + 2
        end = start + first
    else:
        octets = first & 0x7F
        if not 0 < octets <= 4:
            raise ValueError("unsupported length")
        start = at + 2 + octets
        end = start + int.from_bytes(data[at + 2 : start], "big")
    if end > len(data):
        raise ValueError("truncated")
    return tag, start, end


def _expect(data: bytes, at: int, tag: int) -> tuple[int, int]:
    """(start, end) of the element at ``at``, which must have this tag."""
    found, start, end = _element(data, at)
    if found != tag:
        raise ValueError("unexpected tag")
    return start, end


def _signed(content: bytes) -> int:
    """An INTEGER or ENUMERATED (two's complement; empty is malformed)."""
    if not content:
        raise ValueError("empty integer")
    return int.from_bytes(content, "big", signed=True)


def _message(data: bytes) -> tuple[int, int, int]:
    """(messageID, where the protocolOp begins, the end) of one whole LDAPMessage;
    ValueError (or IndexError) for anything else."""
    start, end = _expect(data, 0, 0x30)
    if end != len(data):
        raise ValueError("not one whole message")
    start, at = _expect(data, start, 0x02)
    return _signed(data[start:at]), at, end


def decode_answer(
    data: bytes, *, results: bool = True, entries: bool = True
) -> tuple[int, Answer] | None:
    """(messageID, answer) for a plain result or a search result entry, as ldap3's fast
    decoder gives it; the message's envelope read once for either.

    ``results``: the bind, search-done, modify and extended answers, with their
    usual parts and plain controls. ``entries``: a search result entry as ldap3
    reads it on a connection with ``check_names=False`` (passgate's: no schema,
    every value text). Anything else (referrals, a control ldap3 decodes
    itself, controls on an entry, text that is not UTF-8, which ldap3 tries in
    other encodings, a malformed message) is None: ldap3's own decoder reads it
    (and raises as it does). ldap3's decoder takes as long as the rest of the
    exchange; this one is a few slices (property tests compare the two).
    """
    try:
        message_id, at, end = _message(data)
        op, start, op_end = _element(data, at)
        kind = _RESULTS.get(op)
        if kind is not None and results:
            answer = _result(data, kind, start, op_end, end)
        elif op == 0x64 and entries:
            answer = _entry(data, start, op_end, end)
        else:
            return None
    except (IndexError, ValueError, KeyError):  # UnicodeDecodeError is a ValueError
        return None
    return None if answer is None else (message_id, answer)


def _entry(data: bytes, start: int, op_end: int, end: int) -> Answer | None:
    if op_end != end:
        return None  # controls on an entry
    start, at = _expect(data, start, 0x04)
    raw_dn = data[start:at]
    start, list_end = _expect(data, at, 0x30)
    if list_end != op_end:
        return None
    insensitive = get_config_parameter("CASE_INSENSITIVE_ATTRIBUTE_NAMES")
    raw: dict[str, Any] = CaseInsensitiveDict() if insensitive else {}
    attributes: dict[str, Any] = CaseInsensitiveDict() if insensitive else {}
    at = start
    while at < list_end:
        start, attribute_end = _expect(data, at, 0x30)
        start, at = _expect(data, start, 0x04)
        name = data[start:at].decode("utf-8")
        start, at = _expect(data, at, 0x31)
        if at != attribute_end:
            return None
        values: list[bytes] = []
        while start < attribute_end:
            first, start = _expect(data, start, 0x04)
            values.append(data[first:start])
        if start != attribute_end:
            return None
        raw[name] = values or None
        attributes[name] = [value.decode("utf-8") for value in values] or None
    if at != list_end:
        return None
    return {
        "raw_dn": raw_dn,
        "dn": raw_dn.decode("utf-8"),
        "raw_attributes": raw,
        "attributes": attributes,
        "type": "searchResEntry",
    }


def _result(data: bytes, kind: str, start: int, op_end: int, end: int) -> Answer | None:
    start, at = _expect(data, start, 0x0A)
    code = _signed(data[start:at])
    start, at = _expect(data, at, 0x04)
    matched = data[start:at].decode("utf-8")
    start, at = _expect(data, at, 0x04)
    diagnostic = data[start:at].decode("utf-8")
    answer: Answer = {
        "result": code,
        "description": RESULT_CODES[code],
        "dn": matched,
        "message": diagnostic,
        "referrals": None,
    }
    if kind == "bindResponse":
        answer["saslCreds"] = None
    elif kind == "extendedResp":
        answer["responseName"] = None
        answer["responseValue"] = None
    while at < op_end:
        tag, start, at = _element(data, at)
        if kind == "bindResponse" and tag == 0x87:
            answer["saslCreds"] = data[start:at]
        elif kind == "extendedResp" and tag == 0x8A:
            answer["responseName"] = data[start:at].decode("utf-8")
            answer["responseValue"] = b""
        elif kind == "extendedResp" and tag == 0x8B:
            answer["responseValue"] = data[start:at]
        else:
            return None  # referrals, or what ldap3 would make of something unexpected
    if at != op_end:
        return None
    answer["type"] = kind
    if op_end < end:
        start, at = _expect(data, op_end, 0xA0)
        if at != end:
            return None
        found = _controls_of(data, start, at)
        if found is None:
            return None
        if found:
            answer["controls"] = found
    return answer


def _controls_of(data: bytes, at: int, end: int) -> dict[str, Answer] | None:
    found: dict[str, Answer] = {}
    while at < end:
        start, at = _expect(data, at, 0x30)
        inner, after = _expect(data, start, 0x04)
        oid = data[inner:after].decode("utf-8")
        if oid in _DECODED_BY_LDAP3:
            return None
        critical, value = False, None
        while after < at:
            tag, inner, after = _element(data, after)
            if tag == 0x01:
                critical = True  # ldap3 reads any criticality it is sent as TRUE
            elif tag == 0x04:
                value = data[inner:after]
            else:
                return None
        found[oid] = {"description": Oids.get(oid, ""), "criticality": critical, "value": value}
    return found


def _terminated(conn: ldap3.Connection) -> LDAPExceptionError:
    with contextlib.suppress(OSError, LDAPExceptionError):
        conn.strategy.close()
    conn.last_error = "session terminated by server"
    return LDAPSessionTerminatedByServerError(conn.last_error)


def _answers(conn: ldap3.Connection, message_id: int) -> tuple[list[Answer], Answer]:
    """(entries, result) of the request: what ldap3's ``get_response`` does for it.

    Waits through the strategy's ``receiving`` (on the event loop inside
    ``passgate.cooperative.run``); reads a plain result, and an entry on a
    connection that checks no names, with :func:`decode_answer`, anything
    else with ldap3's decoder; refuses what
    ldap3 refuses (a notice of disconnection, a stray message id) with its
    exceptions and words. No referral is followed (passgate's connections
    have ``auto_referrals=False``); an entry lacking an asked-for attribute
    gets it empty, as ldap3's ``return_empty_attributes`` default does.
    """
    strategy = conn.strategy
    answers: list[Answer] = []
    complete = False
    while not complete:
        messages = strategy.receiving()
        if not messages:
            raise _terminated(conn)
        for data in messages:
            decoded = decode_answer(data, entries=not conn.check_names)
            if decoded is None:
                message = decode_message_fast(data)
                answer_id, answer = (
                    int(message["messageID"]),
                    strategy.decode_response_fast(message),
                )
            else:
                answer_id, answer = decoded
            if answer_id == message_id:
                answers.append(answer)
                complete = complete or answer["type"] not in _CONTINUED
            elif answer_id == 0:  # unsolicited (RFC 4511, 4.4)
                name = answer.get("responseName")
                if name == _NOTICE_OF_DISCONNECTION:
                    raise _terminated(conn)
                if name == _NOVELL_TRANSACTION_ERROR:
                    conn.last_error = "transaction error"
                    raise LDAPTransactionError(conn.last_error)
                conn.last_error = "unknown unsolicited notification from server"
                raise LDAPSocketReceiveError(conn.last_error)
            elif answer["type"] == "extendedResp":
                conn.last_error = "multiple extended responses to a single extended request"
                raise LDAPExtensionError(conn.last_error)
            else:
                conn.last_error = "invalid messageId received"
                raise LDAPSocketReceiveError(conn.last_error)
    result, entries = answers[-1], answers[:-1]
    request = strategy._outstanding.pop(message_id)
    if conn.empty_attributes:
        asked = [a for a in request.get("attributes") or () if a not in _ANY_ATTRIBUTES]
        for entry in entries:
            if entry["type"] == "searchResEntry":
                for name in asked:
                    if name not in entry["raw_attributes"]:
                        entry["raw_attributes"][name] = []
                        entry["attributes"][name] = []
    conn.result = result
    return entries, result


_ANY_ATTRIBUTES = frozenset(
    {ldap3.ALL_ATTRIBUTES, ldap3.ALL_OPERATIONAL_ATTRIBUTES, ldap3.NO_ATTRIBUTES}
)


# -- on ldap3's connection ----------------------------------------------------------------


def _send(
    conn: ldap3.Connection,
    kind: str,
    operation: bytes,
    controls: Sequence[Control] | None,
    summary: dict[str, object],
) -> int:
    """What ldap3's ``BaseStrategy.send`` and ``sending`` do, for bytes already encoded."""
    conn.request = None
    if not conn.listening:
        conn.last_error = "unable to send message, socket is not open"
        raise LDAPSocketOpenError(conn.last_error)
    message_id: int = conn.server.next_message_id()
    encoded = message(message_id, operation, controls)
    conn.request = {"type": kind, "controls": None, **summary}
    conn.strategy._outstanding[message_id] = conn.request
    try:
        conn.socket.sendall(encoded)
    except OSError as e:
        conn.last_error = "socket sending error" + str(e)
        raise communication_exception_factory(LDAPSocketSendError, type(e)(str(e)))(
            conn.last_error
        ) from None
    return message_id


def _opened(conn: ldap3.Connection) -> None:
    if conn.closed:  # as ldap3's bind does: a closed connection is opened again
        conn.open(read_server_info=False)


def bind(conn: ldap3.Connection, controls: Sequence[Control] | None = None) -> bool:
    """``conn.bind(controls=...)`` for a simple bind as ``conn.user`` with ``conn.password``.

    The password must be bytes (sent unprepared, as ldap3 sends bytes).
    Sets ``conn.result`` and ``conn.bound``; True when the bind succeeded.
    """
    password = conn.password
    if not conn.user:
        raise LDAPUserNameIsMandatoryError("user name is mandatory in simple bind")
    if not password:
        raise LDAPPasswordIsMandatoryError("simple password can't be empty")
    if not isinstance(password, bytes):
        raise TypeError("the bind password must be bytes")
    with conn.connection_lock:
        _opened(conn)
        message_id = _send(
            conn,
            "bindRequest",
            bind_request(conn.user, password),
            controls,
            {"name": conn.user, "authentication": {"simple": "<hidden>", "sasl": None}},
        )
        conn.response = None
        _, result = _answers(conn, message_id)
        conn.bound = bool(result) and result["result"] == RESULT_SUCCESS
        if not conn.bound and result and result["description"] and not conn.last_error:
            conn.last_error = result["description"]
        return bool(conn.bound)


def search(
    conn: ldap3.Connection,
    base: str,
    scope: str,
    search_filter: str,
    attributes: Sequence[str],
    *,
    size_limit: int = 0,
    time_limit: int = 0,
) -> bool:
    """``conn.search(...)`` with ``scope`` "base", "one" or "sub": True if entries came back.

    Sets ``conn.result`` and ``conn.response`` as ldap3's search does.
    """
    wanted = list(attributes) or [ldap3.NO_ATTRIBUTES]
    request = search_request(
        base, SCOPES[scope], encoded_filter(search_filter), wanted, size_limit, time_limit
    )
    summary = {"base": base, "scope": SCOPES[scope], "filter": search_filter, "attributes": wanted}
    with conn.connection_lock:
        message_id = _send(conn, "searchRequest", request, None, summary)
        entries, result = _answers(conn, message_id)
        conn.response = entries
        return result["type"] == "searchResDone" and len(entries) > 0


def read_entry(conn: ldap3.Connection, dn: str, attributes: Sequence[str]) -> bool:
    """``conn.search(dn, "(objectClass=*)", BASE, attributes=...)``: True if the entry came back."""
    return search(conn, dn, "base", "(objectClass=*)", attributes)


def modify(
    conn: ldap3.Connection,
    dn: str,
    changes: Sequence[Change],
    controls: Sequence[Control] | None = None,
) -> bool:
    """``conn.modify(dn, {attribute: [(operation, values)], ...})``: True if it succeeded.

    Sets ``conn.result``. The values are bytes, sent as they are.
    """
    summary: dict[str, object] = {"entry": dn, "changes": [(op, name) for op, name, _ in changes]}
    with conn.connection_lock:
        message_id = _send(conn, "modifyRequest", modify_request(dn, changes), controls, summary)
        conn.response = None
        _, result = _answers(conn, message_id)
        return bool(result) and result["result"] == RESULT_SUCCESS


def modify_password(
    conn: ldap3.Connection, old: bytes, new: bytes, controls: Sequence[Control] | None = None
) -> None:
    """``conn.extend.standard.modify_password(old_password=..., new_password=...)``.

    Sets ``conn.result``; a successful answer's value (a generated password,
    which passgate never asks for) is decoded as ldap3 decodes it.
    """
    with conn.connection_lock:
        message_id = _send(
            conn,
            "extendedReq",
            password_modify_request(old, new),
            controls,
            {"name": PASSWORD_MODIFY_OID, "value": "<hidden>"},
        )
        conn.response = None
        _, result = _answers(conn, message_id)
        if result and result["result"] == RESULT_SUCCESS and result.get("responseValue"):
            _, rest = ber_decoder.decode(
                result["responseValue"], asn1Spec=PasswdModifyResponseValue()
            )
            if rest:
                raise LDAPExtensionError("error decoding extended response value")
