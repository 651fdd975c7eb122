"""RootDSE discovery and the vendor fallback, on the real slapd."""

from __future__ import annotations

import pytest

from passgate.app import directory_from_settings
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID
from passgate.directory.ldap_directory import LdapDirectory
from passgate.errors import PasswordPolicyRejected, PolicyReason
from tests.conftest import Directory, SettingsFactory
from tests.integration.test_pooling import change_password


@pytest.fixture
def ldap(make_settings: SettingsFactory) -> LdapDirectory:
    return directory_from_settings(make_settings())


def test_rootdse_is_read_once(ldap: LdapDirectory) -> None:
    root = ldap.discover()
    assert root is not None
    assert PASSWORD_MODIFY_OID in root.extensions
    assert "1.3.6.1.4.1.42.2.27.8.5.1" in root.controls  # the ppolicy control
    assert ldap.discover() is root


def test_fallback_modify_when_the_extension_is_missing(
    ldap: LdapDirectory, directory: Directory
) -> None:
    ldap.discover()
    ldap._dialect.use_password_modify = False  # as if the RootDSE did not list RFC 3062
    user = directory.add_user()
    with pytest.raises(PasswordPolicyRejected) as caught:
        change_password(ldap, user.dn, user.password, "Sh0rt-pw!")
    assert caught.value.reason is PolicyReason.TOO_SHORT  # ppolicy still applies
    change_password(ldap, user.dn, user.password, "Fallback-N3w-Passw0rd")
    assert directory.can_bind(user.dn, "Fallback-N3w-Passw0rd")
    assert not directory.can_bind(user.dn, user.password)
