"""Crafted usernames and ids find nothing they should not, on the real slapd."""

from __future__ import annotations

import pytest

from passgate.app import directory_from_settings
from passgate.directory.ldap_directory import LdapDirectory
from passgate.errors import UserNotFound
from tests.conftest import Directory, SettingsFactory


@pytest.fixture
def ldap(make_settings: SettingsFactory) -> LdapDirectory:
    found = directory_from_settings(make_settings())
    assert isinstance(found, LdapDirectory)
    return found


def test_plain_username_is_found(ldap: LdapDirectory, directory: Directory) -> None:
    user = directory.add_user()
    assert ldap.user_dn_for_username(user.uid) == user.dn


@pytest.mark.parametrize(
    "crafted",
    ["*", "u*", "*)(uid=*", "x)(|(uid=*", "\\2a", "\x00", "u\\", "(", ")", "Jösé*"],
)
def test_crafted_usernames_match_nothing(
    ldap: LdapDirectory, directory: Directory, crafted: str
) -> None:
    directory.add_user()  # entries exist that a wildcard would match
    with pytest.raises(UserNotFound):
        ldap.user_dn_for_username(crafted)


def test_username_with_special_characters_is_found_literally(
    ldap: LdapDirectory, directory: Directory
) -> None:
    user = directory.add_user(uid="o'brien(*)")
    assert ldap.user_dn_for_username("o'brien(*)").lower() == user.dn.lower()


def test_template_value_cannot_leave_its_rdn(
    make_settings: SettingsFactory, directory: Directory
) -> None:
    user = directory.add_user()
    ldap = directory_from_settings(
        make_settings(ldap_user_dn_template="uid={userId},ou=people,dc=example,dc=org")
    )
    # Without escaping this would name the entry "uid=<user>" under ou=people.
    with pytest.raises(UserNotFound):
        ldap.user_dn_for(f"{user.uid},ou=people,dc=example,dc=org")
    assert ldap.user_dn_for(user.uid) == user.dn
