"""userId and username to LDAP queries, with every value escaped."""

from __future__ import annotations

import pytest

from passgate.directory.mappers import SearchMapper, TemplateMapper, UserQuery

SEARCH = SearchMapper(
    users_dn="ou=people,dc=example,dc=org",
    object_classes=["inetOrgPerson", "passgateUser"],
    user_id_attribute="passgateUserId",
    username_attribute="uid",
)


def test_search_by_user_id() -> None:
    assert SEARCH.query_for_user_id("64b7f0c2a1d3e4f5a6b7c8d1") == UserQuery(
        "ou=people,dc=example,dc=org",
        "sub",
        "(&(objectClass=inetOrgPerson)(objectClass=passgateUser)(passgateUserId=64b7f0c2a1d3e4f5a6b7c8d1))",
    )


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("*", "\\2a"),
        ("a)(uid=*", "a\\29\\28uid=\\2a"),
        ("back\\slash", "back\\5cslash"),
        ("nul\x00byte", "nul\\00byte"),
        ("(", "\\28"),
    ],
)
def test_filter_values_are_escaped(value: str, escaped: str) -> None:
    query = SEARCH.query_for_username(value)
    assert query.filter.endswith(f"(uid={escaped}))")


def test_non_ascii_passes_through_a_filter_unharmed() -> None:
    assert SEARCH.query_for_username("José").filter.endswith("(uid=José))")


def test_template_escapes_the_rdn_value() -> None:
    mapper = TemplateMapper("uid={userId},ou=people,dc=example,dc=org", SEARCH)
    query = mapper.query_for_user_id("a,b=c+d")
    assert query.base == "uid=a\\,b\\=c\\+d,ou=people,dc=example,dc=org"
    assert query.scope == "base"
    assert query.filter == "(&(objectClass=inetOrgPerson)(objectClass=passgateUser))"


def test_template_leading_hash_and_space_escaped() -> None:
    mapper = TemplateMapper("cn={userId},dc=x", SEARCH)
    assert mapper.query_for_user_id("#x ").base == "cn=\\#x\\ ,dc=x"


def test_template_usernames_are_searched() -> None:
    mapper = TemplateMapper("uid={userId},ou=people,dc=example,dc=org", SEARCH)
    assert mapper.query_for_username("bob") == SEARCH.query_for_username("bob")


CUSTOM = "(!(pwdAccountLockedTime=*))"
FILTERED = SearchMapper(
    users_dn="ou=people,dc=example,dc=org",
    object_classes=["inetOrgPerson"],
    user_id_attribute="passgateUserId",
    username_attribute="uid",
    custom_filter=CUSTOM,
)


def test_the_custom_filter_is_anded_into_both_lookups() -> None:
    assert FILTERED.query_for_user_id("64b7f0c2a1d3e4f5a6b7c8d1").filter == (
        f"(&(objectClass=inetOrgPerson){CUSTOM}(passgateUserId=64b7f0c2a1d3e4f5a6b7c8d1))"
    )
    assert FILTERED.query_for_username("bob").filter == (
        f"(&(objectClass=inetOrgPerson){CUSTOM}(uid=bob))"
    )


def test_the_template_mappers_base_search_carries_the_custom_filter() -> None:
    mapper = TemplateMapper("uid={userId},ou=people,dc=example,dc=org", FILTERED)
    query = mapper.query_for_user_id("bob")
    assert (query.scope, query.filter) == ("base", f"(&(objectClass=inetOrgPerson){CUSTOM})")
    assert mapper.query_for_username("bob").filter == FILTERED.query_for_username("bob").filter
