"""DNs as servers write them: parsed by value, written one way, compared by value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ldap3.utils.dn import escape_rdn, safe_dn

from passgate.directory.dn import (
    DnError,
    canonical_dn,
    dc_suffix,
    dn_key,
    format_dn,
    parse_dn,
    rdn_values,
    same_dn,
)

PEOPLE = (("ou", "people"),), (("dc", "example"),), (("dc", "org"),)


@pytest.mark.parametrize(
    ("dn", "first"),
    [
        ("CN=Doe\\, John,ou=people,dc=example,dc=org", (("CN", "Doe, John"),)),  # AD
        ("cn=Doe\\2C John,ou=people,dc=example,dc=org", (("cn", "Doe, John"),)),  # OpenLDAP
        ("cn=Ann Lee+uid=alee,ou=people,dc=example,dc=org", (("cn", "Ann Lee"), ("uid", "alee"))),
        ("cn=J\\C3\\BCrgen,ou=people,dc=example,dc=org", (("cn", "Jürgen"),)),
        ("cn=Jürgen,ou=people,dc=example,dc=org", (("cn", "Jürgen"),)),
        ("cn=\\23hash,ou=people,dc=example,dc=org", (("cn", "#hash"),)),
        ("cn=\\#hash,ou=people,dc=example,dc=org", (("cn", "#hash"),)),
        ("cn=#0C024869,ou=people,dc=example,dc=org", (("cn", "Hi"),)),  # BER UTF8String
        ("cn=\\20padded\\20,ou=people,dc=example,dc=org", (("cn", " padded "),)),
        ("cn=\\ padded\\ ,ou=people,dc=example,dc=org", (("cn", " padded "),)),
        ('cn=Say \\"hi\\",ou=people,dc=example,dc=org', (("cn", 'Say "hi"'),)),
        ("cn=Say \\22hi\\22,ou=people,dc=example,dc=org", (("cn", 'Say "hi"'),)),
        ("cn=a\\3Db\\3Bc,ou=people,dc=example,dc=org", (("cn", "a=b;c"),)),
        ("cn=back\\5Cslash,ou=people,dc=example,dc=org", (("cn", "back\\slash"),)),
        ("cn=back\\\\,ou=people,dc=example,dc=org", (("cn", "back\\"),)),
        ("cn = spaced , ou=people , dc=example,dc=org", (("cn", "spaced"),)),  # lenient
        ("2.5.4.3=oid;ou=people;dc=example;dc=org", (("2.5.4.3", "oid"),)),  # RFC 2253 ';'
    ],
)
def test_servers_spellings_are_read_by_value(dn: str, first: tuple[tuple[str, str], ...]) -> None:
    rdns = parse_dn(dn)
    assert rdns[0] == first
    assert [tuple((k.lower(), v) for k, v in r) for r in rdns[1:]] == list(PEOPLE)


@pytest.mark.parametrize(
    "dn", ["cn", "=x", "cn=x\\", 'cn=a"b', "cn=#zz", "cn=#0402", "cn=#300100", "cn=\\FF\\FE"]
)
def test_what_is_not_a_dn_is_refused_and_used_as_it_came(dn: str) -> None:
    with pytest.raises(DnError):
        parse_dn(dn)
    assert canonical_dn(dn) == dn
    assert rdn_values(dn, "cn") == []


def test_canonical_form_of_an_ad_name() -> None:
    assert canonical_dn("CN=Doe\\2C John,CN=Users,DC=corp") == "CN=Doe\\, John,CN=Users,DC=corp"
    assert canonical_dn("cn=#0C024869,dc=x") == "cn=Hi,dc=x"
    assert canonical_dn("cn=line\nbreak,dc=x") == "cn=line\\0Abreak,dc=x"
    assert canonical_dn("") == ""


def test_same_entry_however_spelled() -> None:
    assert same_dn("CN=Doe\\, John,CN=Users,DC=Corp", "cn=doe\\2c john,cn=users,dc=corp")
    assert same_dn("cn=Ann+uid=alee,dc=x", "UID=alee+CN=ann,DC=x")
    assert not same_dn("cn=Doe\\, John,dc=x", "cn=Doe,cn=John,dc=x")
    assert not same_dn("cn=a\\+b,dc=x", "cn=a+b=,dc=x")
    assert dn_key("not a dn") == "not a dn"


def test_rdn_values_and_dc_suffix() -> None:
    assert rdn_values("cn=Ann+uid=a\\2Bb,ou=p", "UID") == ["a+b"]
    assert rdn_values("cn=x,uid=y", "uid") == []
    assert dc_suffix("CN=Doe\\, John,CN=Users,DC=corp,DC=example") == "DC=corp,DC=example"
    assert dc_suffix("CN=x,OU=DC=odd,DC=corp") == "DC=corp"
    assert dc_suffix("cn=x,ou=y") is None
    assert dc_suffix('bad"dn') is None


values = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20
)  # any character a value may hold, NUL and controls included
TYPES = ["cn", "uid", "ou", "CN", "sAMAccountName"]  # ldap3 refuses OIDs as types in safe_dn
rdn = st.lists(st.tuples(st.sampled_from(TYPES), values), min_size=1, max_size=3).map(tuple)


@given(st.lists(rdn, min_size=1, max_size=4))
def test_written_then_read_gives_the_same_values(rdns: list[tuple[tuple[str, str], ...]]) -> None:
    assert parse_dn(format_dn(rdns)) == rdns


@given(st.lists(rdn, min_size=1, max_size=4))
def test_ldap3_leaves_the_canonical_form_alone(rdns: list[tuple[tuple[str, str], ...]]) -> None:
    """ldap3 "makes safe" every search, modify and add base; that must change nothing."""
    dn = format_dn(rdns)
    assert safe_dn(dn) == dn
    assert canonical_dn(dn) == dn


# ldap3 2.9.1 escapes a value of one space as backslash, backslash, space: the space is
# escaped as leading and again as trailing, which reads back as one backslash. passgate
# escapes only userIds (hex) with it.
@given(values.filter(lambda value: value != " "))
def test_ldap3s_escaping_reads_back(value: str) -> None:
    assert parse_dn(f"cn={escape_rdn(value)},dc=x")[0] == (("cn", value),)


def test_ldap3_escapes_a_lone_space_wrongly_and_passgate_reads_what_it_wrote() -> None:
    assert escape_rdn(" ") == "\\\\ "  # if ldap3 fixes this, the filter above can go
    assert parse_dn("cn=\\\\ ,dc=x")[0] == (("cn", "\\"),)
    assert parse_dn("cn=\\ ,dc=x")[0] == (("cn", " "),)


# -- one key per entry (the attempt limiter counts under it) ------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("uid=Bob,ou=People,dc=Example,dc=org", "UID=bob, ou=people,DC=example,dc=ORG"),
        ("CN=Doe\\, John,OU=x,DC=a", "cn=doe\\2c john,ou=x,dc=a"),  # the hex escape servers send
        ("cn=a+sn=b,dc=x", "sn=B+cn=A,dc=x"),  # a multi-valued RDN in either order
        ("cn=J\\C3\\BCrgen,dc=x", "cn=jürgen,dc=x"),
        ("cn=a\\+b,dc=x", "cn=A\\2Bb,dc=x"),
    ],
)
def test_one_entry_one_key_however_its_dn_is_spelled(one: str, other: str) -> None:
    assert dn_key(one) == dn_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [("cn=a\\,b,dc=x", "cn=a,cn=b,dc=x"), ("cn=a+sn=b,dc=x", "cn=a\\+sn=b,dc=x")],
)
def test_different_entries_different_keys(one: str, other: str) -> None:
    assert dn_key(one) != dn_key(other)


@given(st.text(alphabet=st.sampled_from('cnuid=,+\\#; "<>abC2F0\u00fc\x00'), max_size=40))
def test_any_text_gives_a_key_and_never_an_error(dn: str) -> None:
    key = dn_key(dn)
    assert dn_key(key) == key or key == dn.casefold()
