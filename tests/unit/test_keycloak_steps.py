"""The Keycloak import's steps on their own: read finds the provider, mapping needs only its config."""

from __future__ import annotations

from passgate.tools.keycloak import (
    LdapFederation,
    from_realm_export,
    read_realm_export,
    settings_for,
)
from tests.unit.test_keycloak_import import SECRET, export


def test_read_finds_the_provider_and_its_realm() -> None:
    federation = read_realm_export(export("openldap"))
    assert federation.name == "openldap"
    assert federation.realm == "staff"
    assert federation.frontend_url is None
    assert federation.config["bindCredential"] == [SECRET]
    assert "kerberosRealm" not in federation.config  # the Kerberos provider is not read
    assert "kc-Bind" not in repr(federation)  # the config (with the credential) is not shown


def test_mapping_needs_no_realm_export() -> None:
    # Another reader (the admin REST API, say) only has to build an LdapFederation.
    federation = LdapFederation(
        "corp",
        {"connectionUrl": ["ldaps://ldap.example.org"], "vendor": ["rhds"], "searchScope": ["1"]},
        realm="staff",
        frontend_url="https://sso.example.org",
    )
    result = settings_for(federation)
    assert result.provider == "corp"
    assert result.settings["PASSGATE_LDAP_CONNECTION_URL"] == "ldaps://ldap.example.org"
    assert result.settings["PASSGATE_LDAP_VENDOR"] == "rhds"
    assert result.settings["PASSGATE_LDAP_SEARCH_SCOPE"] == "one"
    assert "PASSGATE_AUTH_ISSUER=https://sso.example.org/realms/staff" in "\n".join(result.notes)


def test_from_realm_export_is_read_then_mapping() -> None:
    data = export("multi")
    assert from_realm_export(data, provider="corp-ad", include_secrets=True) == settings_for(
        read_realm_export(data, provider="corp-ad"), include_secrets=True
    )
