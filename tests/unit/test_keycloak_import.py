"""Keycloak realm export -> passgate settings (passgate.tools.keycloak), on exports in Keycloak's format."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from passgate.config import Settings, load_settings
from passgate.errors import ConfigurationError
from passgate.tools.keycloak import ImportedSettings, KeycloakImportError, from_realm_export

DATA = Path(__file__).resolve().parent.parent / "data" / "keycloak"
SECRET = 'kc-Bind#2024 "pw"'  # the bind credential in realm-openldap.json
CREDENTIAL = "PASSGATE_LDAP_BIND_CREDENTIAL"
AUTH: dict[str, Any] = {
    "auth_public_key_file": "/etc/passgate/issuer.pem",
    "auth_issuer": "https://sso.example.org/realms/staff",
}


def export(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"realm-{name}.json").read_text())
    return data


def ldap_config(data: dict[str, Any], provider: str | None = None) -> dict[str, Any]:
    for component in data["components"]["org.keycloak.storage.UserStorageProvider"]:
        if component["providerId"] == "ldap" and provider in (None, component["name"]):
            config: dict[str, Any] = component["config"]
            return config
    raise AssertionError(f"no LDAP provider {provider}")


def openldap_with(**changes: Any) -> dict[str, Any]:
    """realm-openldap.json with config keys replaced (a plain value becomes [value]; None removes)."""
    data = export("openldap")
    config = ldap_config(data)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value if isinstance(value, list) else [value]
    return data


def notes_text(result: ImportedSettings) -> str:
    return "\n".join(result.notes)


def parse_env(text: str) -> dict[str, str]:
    """A tiny .env reader: KEY=bare or KEY="double-quoted with \\\\ \\" \\n \\r \\t escapes"."""
    escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        assert sep, line
        assert key.isidentifier(), line
        assert key.isupper(), line
        if raw.startswith('"'):
            assert len(raw) >= 2, line
            assert raw.endswith('"'), line
            out, i, body = [], 0, raw[1:-1]
            while i < len(body):
                char = body[i]
                if char == "\\":
                    out.append(escapes[body[i + 1]])
                    i += 2
                else:
                    assert char != '"', f"unescaped quote in {line}"
                    out.append(char)
                    i += 1
            values[key] = "".join(out)
        else:
            assert not any(c in raw for c in " \t#\"'$\\"), f"should be quoted: {line}"
            values[key] = raw
    return values


def as_overrides(settings: dict[str, str]) -> dict[str, Any]:
    return {k.removeprefix("PASSGATE_").lower(): v for k, v in settings.items()}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PASSGATE_"):
            monkeypatch.delenv(name)


# -- the mappings --------------------------------------------------------------------------


def test_openldap_export_maps_every_setting() -> None:
    result = from_realm_export(export("openldap"), include_secrets=True)
    assert result.provider == "openldap"
    assert result.settings == {
        "PASSGATE_LDAP_CONNECTION_URL": "ldap://127.0.0.1:389",
        "PASSGATE_LDAP_START_TLS": "false",
        "PASSGATE_LDAP_BIND_DN": "cn=keycloak,ou=services,dc=example,dc=org",
        "PASSGATE_LDAP_BIND_CREDENTIAL": SECRET,
        "PASSGATE_LDAP_USERS_DN": "ou=people,dc=example,dc=org",
        "PASSGATE_LDAP_USERNAME_ATTRIBUTE": "uid",
        "PASSGATE_LDAP_USER_OBJECT_CLASSES": "inetOrgPerson, organizationalPerson, passgateUser",
        "PASSGATE_LDAP_VENDOR": "other",
        "PASSGATE_LDAP_SEARCH_SCOPE": "one",
        "PASSGATE_LDAP_CONNECT_TIMEOUT": "3",  # 2500 ms, rounded up
        "PASSGATE_LDAP_OPERATION_TIMEOUT": "10",
    }


def test_ad_provider_as_keycloak_writes_it() -> None:
    result = from_realm_export(export("multi"), provider="corp-ad", include_secrets=True)
    assert result.provider == "corp-ad"
    assert result.settings == {
        "PASSGATE_LDAP_CONNECTION_URL": "ldaps://dc1.corp.example.org ldaps://dc2.corp.example.org:636",
        "PASSGATE_LDAP_START_TLS": "false",
        "PASSGATE_LDAP_BIND_DN": "CN=Keycloak Service,OU=Service Accounts,DC=corp,DC=example,DC=org",
        "PASSGATE_LDAP_USERS_DN": "OU=Staff,DC=corp,DC=example,DC=org",
        "PASSGATE_LDAP_USERNAME_ATTRIBUTE": "sAMAccountName",
        "PASSGATE_LDAP_USER_OBJECT_CLASSES": "person, organizationalPerson, user",
        "PASSGATE_LDAP_VENDOR": "ad",
        "PASSGATE_LDAP_SEARCH_SCOPE": "sub",
        "PASSGATE_LDAP_CUSTOM_USER_FILTER": "(memberOf=CN=Staff,OU=Groups,DC=corp,DC=example,DC=org)",
        "PASSGATE_LDAP_CONNECT_TIMEOUT": "5",
        "PASSGATE_LDAP_OPERATION_TIMEOUT": "30",
    }
    assert "rdnLDAPAttribute" in result.not_used


def test_minimal_export_maps_what_is_there_and_names_what_is_missing() -> None:
    result = from_realm_export(export("minimal"))
    assert result.provider == "bare"
    assert result.settings == {
        "PASSGATE_LDAP_CONNECTION_URL": "ldap://localhost:3389",
        "PASSGATE_LDAP_USERS_DN": "ou=people,dc=example,dc=org",
        "PASSGATE_LDAP_VENDOR": "other",  # tivoli
    }
    notes = notes_text(result)
    assert "PASSGATE_LDAP_BIND_DN: not in the export (bindDn); passgate requires it" in notes
    assert "PASSGATE_LDAP_BIND_CREDENTIAL: not in the export" in notes
    assert "PASSGATE_LDAP_CA_FILE" not in notes  # loopback, no TLS
    assert result.not_used == {}  # [] values are "not set", not unused keys


def test_every_setting_is_a_passgate_setting() -> None:
    fields = {name.removeprefix("PASSGATE_").lower() for name in Settings.variables()}
    results = [
        from_realm_export(export("openldap"), include_secrets=True),
        from_realm_export(export("multi"), provider="corp-ad", include_secrets=True),
        from_realm_export(export("multi"), provider="openldap-legacy", include_secrets=True),
        from_realm_export(export("minimal"), include_secrets=True),
    ]
    for result in results:
        for name in result.settings:
            assert name.startswith("PASSGATE_")
            assert name.removeprefix("PASSGATE_").lower() in fields, name


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["ldaps://a.example.org"], "ldaps://a.example.org"),
        (
            ["  ldaps://a.example.org   ldaps://b.example.org:636 "],
            "ldaps://a.example.org ldaps://b.example.org:636",
        ),
        (
            ["ldaps://a.example.org", "ldaps://b.example.org"],
            "ldaps://a.example.org ldaps://b.example.org",
        ),
    ],
)
def test_connection_urls_are_all_kept(urls: list[str], expected: str) -> None:
    result = from_realm_export(openldap_with(connectionUrl=urls))
    assert result.settings["PASSGATE_LDAP_CONNECTION_URL"] == expected


def test_a_url_passgate_would_refuse_is_noted() -> None:
    result = from_realm_export(openldap_with(connectionUrl="http://ldap.example.org"))
    assert "http://ldap.example.org is not an ldap:// or ldaps:// URL" in notes_text(result)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("inetOrgPerson", "inetOrgPerson"),
        ("inetOrgPerson, organizationalPerson", "inetOrgPerson, organizationalPerson"),
        ("inetOrgPerson,organizationalPerson", "inetOrgPerson, organizationalPerson"),
        (" person ,  organizationalPerson,user ,", "person, organizationalPerson, user"),
    ],
)
def test_user_object_classes_are_normalised(value: str, expected: str) -> None:
    result = from_realm_export(openldap_with(userObjectClasses=value))
    assert result.settings["PASSGATE_LDAP_USER_OBJECT_CLASSES"] == expected


def test_object_classes_that_are_only_commas_are_not_set() -> None:
    result = from_realm_export(openldap_with(userObjectClasses=" , "))
    assert "PASSGATE_LDAP_USER_OBJECT_CLASSES" not in result.settings


@pytest.mark.parametrize(
    ("vendor", "expected", "note"),
    [
        ("other", "other", None),
        ("rhds", "rhds", None),
        ("ad", "ad", None),
        ("AD", "ad", None),
        ("tivoli", "other", "generic RFC 3062 server"),
        ("edirectory", "other", "generic RFC 3062 server"),
    ],
)
def test_vendors(vendor: str, expected: str, note: str | None) -> None:
    result = from_realm_export(openldap_with(vendor=vendor, startTls="true"))
    assert result.settings["PASSGATE_LDAP_VENDOR"] == expected
    if note is None:
        assert "PASSGATE_LDAP_VENDOR" not in notes_text(result)
    else:
        assert f'vendor "{vendor}"' in notes_text(result)
        assert note in notes_text(result)


def test_unknown_vendor_is_left_to_the_operator() -> None:
    result = from_realm_export(openldap_with(vendor="novell"))
    assert "PASSGATE_LDAP_VENDOR" not in result.settings
    assert '"novell"' in result.not_used["vendor"]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", "true"), ("false", "false"), ("TRUE", "true")]
)
def test_start_tls(value: str, expected: str) -> None:
    result = from_realm_export(openldap_with(startTls=value))
    assert result.settings["PASSGATE_LDAP_START_TLS"] == expected


def test_start_tls_that_is_not_a_boolean_is_not_used() -> None:
    result = from_realm_export(openldap_with(startTls="yes"))
    assert "PASSGATE_LDAP_START_TLS" not in result.settings
    assert "startTls" in result.not_used


@pytest.mark.parametrize(("scope", "expected"), [("1", "one"), ("2", "sub")])
def test_search_scope(scope: str, expected: str) -> None:
    result = from_realm_export(openldap_with(searchScope=scope))
    assert result.settings["PASSGATE_LDAP_SEARCH_SCOPE"] == expected


def test_unknown_search_scope_is_not_used() -> None:
    result = from_realm_export(openldap_with(searchScope="0"))
    assert "PASSGATE_LDAP_SEARCH_SCOPE" not in result.settings
    assert "searchScope" in result.not_used


@pytest.mark.parametrize(
    ("millis", "seconds"),
    [("1", "1"), ("999", "1"), ("1000", "1"), ("1001", "2"), ("2500", "3"), ("300000", "300")],
)
@pytest.mark.parametrize(
    ("key", "env"),
    [
        ("connectionTimeout", "PASSGATE_LDAP_CONNECT_TIMEOUT"),
        ("readTimeout", "PASSGATE_LDAP_OPERATION_TIMEOUT"),
    ],
)
def test_timeouts_are_whole_seconds_rounded_up(
    key: str, env: str, millis: str, seconds: str
) -> None:
    result = from_realm_export(openldap_with(**{key: millis}))
    assert result.settings[env] == seconds


@pytest.mark.parametrize(
    ("key", "env", "millis", "limit"),
    [
        ("connectionTimeout", "PASSGATE_LDAP_CONNECT_TIMEOUT", "300001", "300"),
        ("readTimeout", "PASSGATE_LDAP_OPERATION_TIMEOUT", "3600000", "600"),
    ],
)
def test_timeouts_above_passgates_limit_are_capped(
    key: str, env: str, millis: str, limit: str
) -> None:
    result = from_realm_export(openldap_with(**{key: millis}))
    assert result.settings[env] == limit
    assert f"{env}: {key} is {millis} ms" in notes_text(result)


@pytest.mark.parametrize("millis", ["0", "-1", "abc", "2.5"])
def test_timeouts_passgate_cannot_use_are_not_used(millis: str) -> None:
    result = from_realm_export(openldap_with(connectionTimeout=millis))
    assert "PASSGATE_LDAP_CONNECT_TIMEOUT" not in result.settings
    assert "connectionTimeout" in result.not_used
    assert "stays 5" in result.not_used["connectionTimeout"]


def test_empty_timeouts_are_simply_not_set() -> None:
    result = from_realm_export(export("multi"), provider="openldap-legacy")
    assert "PASSGATE_LDAP_CONNECT_TIMEOUT" not in result.settings
    assert "connectionTimeout" not in result.not_used


def test_uuid_attribute_is_not_passgates_user_id() -> None:
    openldap = from_realm_export(export("openldap"))
    assert "PASSGATE_LDAP_USER_ID_ATTRIBUTE" not in openldap.settings
    reason = openldap.not_used["uuidLDAPAttribute"]
    assert "entryUUID" in reason
    assert "24-hex" in reason
    assert "passgateUserId" in reason

    ad = from_realm_export(export("multi"), provider="corp-ad")
    assert "PASSGATE_LDAP_USER_ID_ATTRIBUTE" not in ad.settings
    assert "objectGUID" in ad.not_used["uuidLDAPAttribute"]
    assert "employeeNumber" in ad.not_used["uuidLDAPAttribute"]


def test_custom_user_search_filter_becomes_the_custom_user_filter() -> None:
    ad = from_realm_export(export("multi"), provider="corp-ad")
    assert ad.settings["PASSGATE_LDAP_CUSTOM_USER_FILTER"] == (
        "(memberOf=CN=Staff,OU=Groups,DC=corp,DC=example,DC=org)"
    )
    assert "customUserSearchFilter" not in ad.not_used
    # [""] (as in realm-openldap.json) means no filter: nothing set.
    assert "PASSGATE_LDAP_CUSTOM_USER_FILTER" not in from_realm_export(export("openldap")).settings


def test_a_custom_filter_without_parentheses_is_a_note_not_a_setting() -> None:
    result = from_realm_export(openldap_with(customUserSearchFilter="uid=a*"))
    assert "PASSGATE_LDAP_CUSTOM_USER_FILTER" not in result.settings
    assert "PASSGATE_LDAP_CUSTOM_USER_FILTER: Keycloak's customUserSearchFilter uid=a*" in (
        notes_text(result)
    )


def test_unused_keys_are_sorted_with_reasons() -> None:
    result = from_realm_export(export("openldap"))
    keys = list(result.not_used)
    assert keys == sorted(keys)
    assert (
        result.not_used["usePasswordModifyExtendedOp"] == "passgate always uses it where advertised"
    )
    for key in (
        "editMode",
        "syncRegistrations",
        "importEnabled",
        "fullSyncPeriod",
        "changedSyncPeriod",
        "cachePolicy",
        "pagination",
        "connectionPooling",
        "allowKerberosAuthentication",
        "useKerberosForPasswordAuthentication",
        "krbPrincipalAttribute",
        "validatePasswordPolicy",
        "trustEmail",
        "rdnLDAPAttribute",
        "authType",
        "useTruststoreSpi",
        "enabled",
        "priority",
        "batchSizeForSync",
        "lastSync",
        "connectionTrace",
    ):
        assert result.not_used[key], key
    mapped = {
        "connectionUrl",
        "bindDn",
        "bindCredential",
        "usersDn",
        "usernameLDAPAttribute",
        "userObjectClasses",
        "vendor",
        "startTls",
        "searchScope",
        "connectionTimeout",
        "readTimeout",
    }
    assert not mapped & set(result.not_used)
    # Keys Keycloak writes as [] are not set: not listed.
    assert "evictionDay" not in result.not_used
    assert "maxLifespan" not in result.not_used


def test_unknown_keys_are_listed_without_a_reason() -> None:
    result = from_realm_export(openldap_with(someFutureOption="x"))
    assert result.not_used["someFutureOption"] == ""
    assert "# not used by passgate: someFutureOption\n" in result.to_env()


def test_anonymous_bind_is_warned_about() -> None:
    result = from_realm_export(openldap_with(authType="none", bindDn=None, bindCredential=None))
    assert "none" in result.not_used["authType"]
    notes = notes_text(result)
    assert "anonymous" in notes
    assert "PASSGATE_LDAP_BIND_DN" in notes


def test_disabled_provider_is_imported_with_a_note() -> None:
    result = from_realm_export(export("multi"), provider="openldap-legacy")
    assert result.settings["PASSGATE_LDAP_USERS_DN"] == "ou=people,dc=legacy,dc=example,dc=org"
    assert 'The provider "openldap-legacy" is disabled in Keycloak' in notes_text(result)
    enabled = from_realm_export(export("openldap"))
    assert "disabled" not in notes_text(enabled)


# -- the bind credential ---------------------------------------------------------------


def test_credential_is_left_out_by_default() -> None:
    result = from_realm_export(export("openldap"))
    assert CREDENTIAL not in result.settings
    env = result.to_env()
    assert "kc-Bind" not in env
    assert "kc-Bind" not in repr(result)
    assert f"# {CREDENTIAL}: left out, it is a secret" in env
    assert f"\n{CREDENTIAL}=" not in env


def test_credential_is_included_when_asked() -> None:
    result = from_realm_export(export("openldap"), include_secrets=True)
    assert result.settings[CREDENTIAL] == SECRET
    assert f'{CREDENTIAL}="kc-Bind#2024 \\"pw\\""\n' in result.to_env()
    assert "left out" not in notes_text(result)
    assert "kc-Bind" not in repr(result)  # repr (logs, tracebacks) never shows it


@pytest.mark.parametrize("include_secrets", [False, True])
@pytest.mark.parametrize(
    ("credential", "said"),
    [
        ("**********", 'Keycloak\'s mask "**********"'),
        ("${vault.ldap_bind}", 'in the vault as "ldap_bind"'),
        ("${LDAP_BIND_PASSWORD}", "a placeholder Keycloak fills in at import"),
        ("$(env:LDAP_BIND_PASSWORD)", "a placeholder Keycloak fills in at import"),
    ],
)
def test_placeholder_credential_is_never_taken_for_a_password(
    credential: str, said: str, include_secrets: bool
) -> None:
    result = from_realm_export(
        openldap_with(bindCredential=credential), include_secrets=include_secrets
    )
    assert CREDENTIAL not in result.settings
    notes = notes_text(result)
    assert said in notes
    assert "not the password" in notes
    assert f"\n{CREDENTIAL}=" not in result.to_env()


def test_ad_export_placeholder() -> None:
    result = from_realm_export(export("multi"), provider="corp-ad", include_secrets=True)
    assert CREDENTIAL not in result.settings
    assert f'# {CREDENTIAL}: the export holds Keycloak\'s mask "**********"' in result.to_env()


def test_vault_reference_in_multi_export() -> None:
    result = from_realm_export(export("multi"), provider="openldap-legacy", include_secrets=True)
    assert CREDENTIAL not in result.settings
    assert "legacy_ldap_bind" in notes_text(result)


def test_placeholders_in_other_keys_are_noted_not_imported() -> None:
    result = from_realm_export(openldap_with(bindDn="${LDAP_BIND_DN}", connectionUrl="${LDAP_URL}"))
    assert "PASSGATE_LDAP_BIND_DN" not in result.settings
    assert "PASSGATE_LDAP_CONNECTION_URL" not in result.settings
    notes = notes_text(result)
    assert "PASSGATE_LDAP_BIND_DN: the export holds the placeholder ${LDAP_BIND_DN}" in notes
    assert "PASSGATE_LDAP_CONNECTION_URL: the export holds the placeholder ${LDAP_URL}" in notes


# -- choosing the provider ---------------------------------------------------------------


def test_several_ldap_providers_need_a_choice() -> None:
    with pytest.raises(KeycloakImportError) as caught:
        from_realm_export(export("multi"))
    message = str(caught.value)
    assert '"corp-ad"' in message
    assert '"openldap-legacy"' in message
    assert "--provider" in message
    assert 'realm "corp"' in message


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("corp-ad", "corp-ad"),
        ("openldap-legacy", "openldap-legacy"),
        ("a1b2c3d4-e5f6-4789-8abc-def012345678", "corp-ad"),  # by id
    ],
)
def test_provider_is_chosen_by_name_or_id(wanted: str, expected: str) -> None:
    assert from_realm_export(export("multi"), provider=wanted).provider == expected


def test_the_only_ldap_provider_is_chosen_next_to_kerberos() -> None:
    assert from_realm_export(export("openldap")).provider == "openldap"


def test_unknown_provider_lists_the_ldap_providers() -> None:
    with pytest.raises(KeycloakImportError) as caught:
        from_realm_export(export("multi"), provider="corp-ldap")
    message = str(caught.value)
    assert 'no LDAP provider "corp-ldap"' in message
    assert '"corp-ad", "openldap-legacy"' in message


def test_a_kerberos_provider_is_not_an_ldap_provider() -> None:
    with pytest.raises(KeycloakImportError) as caught:
        from_realm_export(export("openldap"), provider="kerberos")
    message = str(caught.value)
    assert "not an LDAP provider" in message
    assert "(kerberos)" in message
    assert '"openldap"' in message


def test_realm_without_ldap_provider() -> None:
    data = export("openldap")
    providers = data["components"]["org.keycloak.storage.UserStorageProvider"]
    data["components"]["org.keycloak.storage.UserStorageProvider"] = [
        p for p in providers if p["providerId"] != "ldap"
    ]
    with pytest.raises(
        KeycloakImportError,
        match=r'realm "staff" has no LDAP user federation provider.*"kerberos" \(kerberos\)',
    ):
        from_realm_export(data)
    del data["components"]["org.keycloak.storage.UserStorageProvider"]
    with pytest.raises(KeycloakImportError, match="no LDAP user federation provider"):
        from_realm_export(data)


def test_same_name_twice_asks_for_the_id() -> None:
    data = export("multi")
    data["components"]["org.keycloak.storage.UserStorageProvider"][1]["name"] = "corp-ad"
    with pytest.raises(KeycloakImportError, match=r"give its id instead.*f0e1d2c3"):
        from_realm_export(data, provider="corp-ad")
    picked = from_realm_export(data, provider="f0e1d2c3-b4a5-4968-8776-655443322110")
    assert picked.settings["PASSGATE_LDAP_START_TLS"] == "true"


def test_unnamed_provider_is_named_by_its_id() -> None:
    data = export("openldap")
    del data["components"]["org.keycloak.storage.UserStorageProvider"][0]["name"]
    assert from_realm_export(data).provider == "c7a1e2d4-0f3b-4a6c-8e9d-2b5f7a1c3e80"


# -- not an export -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a JSON list"),
        ([1, 2], "a JSON list"),
        ([{"realm": "a", "components": {}}, {"id": "x"}], "a JSON list"),
        ("not json at all", "not JSON"),
        (b"[", "not JSON"),
        (42, "a JSON number"),
        (None, "a JSON null"),
        ({}, 'no "realm" and no "components"'),
        ({"clientId": "passgate"}, 'no "realm" and no "components"'),
        ({"realm": "staff"}, 'realm "staff" has no "components"'),
        ({"realm": "staff", "components": []}, '"components" is a JSON list'),
        (
            {"realm": "staff", "components": {"org.keycloak.storage.UserStorageProvider": {}}},
            "is not a list of objects",
        ),
        (
            {"realm": "staff", "components": {"org.keycloak.storage.UserStorageProvider": ["x"]}},
            "is not a list of objects",
        ),
    ],
)
def test_not_a_realm_export(data: object, message: str) -> None:
    with pytest.raises(KeycloakImportError, match=re.escape(message)):
        from_realm_export(data)


def test_malformed_config_is_named() -> None:
    data = export("openldap")
    data["components"]["org.keycloak.storage.UserStorageProvider"][0]["config"] = ["x"]
    with pytest.raises(KeycloakImportError, match='provider "openldap": "config" is a JSON list'):
        from_realm_export(data)
    with pytest.raises(KeycloakImportError, match='config "usersDn" holds a JSON object'):
        from_realm_export(openldap_with(usersDn=[{"dn": "x"}]))


def test_lenient_about_scalar_config_values() -> None:
    data = export("openldap")
    config = ldap_config(data)
    config["startTls"] = True
    config["connectionTimeout"] = 4000
    config["usersDn"] = "ou=people,dc=example,dc=org"
    result = from_realm_export(data)
    assert result.settings["PASSGATE_LDAP_START_TLS"] == "true"
    assert result.settings["PASSGATE_LDAP_CONNECT_TIMEOUT"] == "4"
    assert result.settings["PASSGATE_LDAP_USERS_DN"] == "ou=people,dc=example,dc=org"


def test_json_text_is_accepted() -> None:
    text = (DATA / "realm-openldap.json").read_text()
    assert from_realm_export(text) == from_realm_export(export("openldap"))
    assert from_realm_export(text.encode()) == from_realm_export(export("openldap"))


def test_old_single_file_export_of_one_realm() -> None:
    assert from_realm_export([export("openldap")]).provider == "openldap"
    with pytest.raises(KeycloakImportError, match=r'2 realms \("staff", "corp"\)'):
        from_realm_export([export("openldap"), export("multi")])


def test_the_export_is_not_modified() -> None:
    data = export("multi")
    before = copy.deepcopy(data)
    from_realm_export(data, provider="corp-ad", include_secrets=True)
    assert data == before


# -- hints -------------------------------------------------------------------------------


def test_ca_file_hint_for_ldaps_and_start_tls() -> None:
    hint = "# PASSGATE_LDAP_CA_FILE=/path/to/ldap-ca.pem\n"
    assert hint in from_realm_export(export("multi"), provider="corp-ad").to_env()  # ldaps://
    legacy = from_realm_export(export("multi"), provider="openldap-legacy")  # startTls
    assert hint in legacy.to_env()
    assert "PASSGATE_LDAP_CA_FILE" not in notes_text(from_realm_export(export("openldap")))
    assert "\nPASSGATE_LDAP_CA_FILE" not in legacy.to_env()  # only ever a comment


def test_cleartext_to_a_remote_host_is_noted() -> None:
    result = from_realm_export(openldap_with(connectionUrl="ldap://ldap.example.org"))
    assert "ldap://ldap.example.org would send passwords in cleartext" in notes_text(result)
    tls = from_realm_export(openldap_with(connectionUrl="ldap://ldap.example.org", startTls="true"))
    assert "cleartext" not in notes_text(tls)
    assert "cleartext" not in notes_text(from_realm_export(export("openldap")))  # loopback


@pytest.mark.parametrize("vendor", ["ad", "rhds"])
def test_vendors_that_need_encryption_are_noted(vendor: str) -> None:
    result = from_realm_export(openldap_with(vendor=vendor))  # ldap://127.0.0.1, no StartTLS
    assert "refuses password changes without encryption" in notes_text(result)


def test_token_hints_without_a_frontend_url() -> None:
    env = from_realm_export(export("openldap")).to_env()
    assert "# PASSGATE_AUTH_ISSUER=https://<keycloak host>/realms/staff\n" in env
    assert (
        "# PASSGATE_AUTH_JWKS_URL=https://<keycloak host>/realms/staff/protocol/openid-connect/certs\n"
        in env
    )
    assert "\nPASSGATE_AUTH_" not in env


def test_token_hints_use_the_realms_frontend_url() -> None:
    env = from_realm_export(export("multi"), provider="corp-ad").to_env()
    assert "# PASSGATE_AUTH_ISSUER=https://sso.corp.example.org/realms/corp\n" in env
    assert (
        "# PASSGATE_AUTH_JWKS_URL=https://sso.corp.example.org/realms/corp/protocol/openid-connect/certs\n"
        in env
    )


def test_token_hints_quote_the_realm_and_need_one() -> None:
    data = export("openldap")
    data["realm"] = "Staff Realm"
    assert "/realms/Staff%20Realm\n" in from_realm_export(data).to_env()
    del data["realm"]
    result = from_realm_export(data)
    assert "PASSGATE_AUTH_ISSUER" not in result.to_env()


# -- the .env text -----------------------------------------------------------------------


def test_env_text_layout() -> None:
    result = from_realm_export(export("multi"), provider="corp-ad")
    lines = result.to_env().splitlines()
    assert lines[0] == '# passgate settings from the Keycloak LDAP provider "corp-ad"'
    assignments = [line for line in lines if line and not line.startswith("#")]
    assert [line.partition("=")[0] for line in assignments] == list(result.settings)
    unused = [line for line in lines if line.startswith("# not used by passgate: ")]
    assert len(unused) == len(result.not_used)
    assert (
        "# not used by passgate: usePasswordModifyExtendedOp (passgate always uses it where advertised)"
        not in lines  # [] in the AD export: not set
    )
    assert any(line.startswith("# not used by passgate: editMode (") for line in lines)
    assert all(line == "" or line.startswith("#") or "=" in line for line in lines)


@pytest.mark.parametrize(
    ("name", "provider", "include_secrets"),
    [
        ("openldap", None, True),
        ("openldap", None, False),
        ("multi", "corp-ad", True),
        ("multi", "openldap-legacy", True),
        ("minimal", None, True),
    ],
)
def test_env_text_round_trips(name: str, provider: str | None, include_secrets: bool) -> None:
    result = from_realm_export(export(name), provider=provider, include_secrets=include_secrets)
    assert parse_env(result.to_env()) == result.settings


TRICKY = {
    "PASSGATE_LDAP_BIND_DN": 'cn=Smith\\, John "JS",ou=people,dc=example,dc=org',
    "PASSGATE_LDAP_BIND_CREDENTIAL": " p@ss #1 $HOME 'x' \\n\\\\ \t end\n",
    "PASSGATE_LDAP_USERS_DN": "ou=people,dc=example,dc=org",
    "PASSGATE_LDAP_USERNAME_ATTRIBUTE": "",
}


def test_env_text_escapes_what_needs_it() -> None:
    imported = ImportedSettings(provider="x", settings=dict(TRICKY), not_used={}, notes=[])
    text = imported.to_env()
    assert parse_env(text) == TRICKY
    assert "PASSGATE_LDAP_USERS_DN=ou=people,dc=example,dc=org\n" in text  # bare when safe
    assert "PASSGATE_LDAP_USERNAME_ATTRIBUTE=\n" in text


def test_env_text_loads_in_passgate(tmp_path: Path, clean_env: None) -> None:
    """The real reader (pydantic-settings' .env support) gets back the same values."""
    settings = {
        **TRICKY,
        "PASSGATE_LDAP_CONNECTION_URL": "ldaps://a.example.org ldaps://b.example.org",
        "PASSGATE_LDAP_USER_OBJECT_CLASSES": "inetOrgPerson, organizationalPerson",
        "PASSGATE_LDAP_USERNAME_ATTRIBUTE": "uid",
    }
    env = tmp_path / ".env"
    env.write_text(
        ImportedSettings(provider="x", settings=settings, not_used={"a": "b"}, notes=["n"]).to_env()
    )
    loaded = load_settings(_env_file=env, **AUTH)
    assert loaded.ldap.bind_dn == TRICKY["PASSGATE_LDAP_BIND_DN"]
    assert loaded.ldap.bind_credential.get_secret_value() == TRICKY["PASSGATE_LDAP_BIND_CREDENTIAL"]
    assert loaded.ldap.urls == ["ldaps://a.example.org", "ldaps://b.example.org"]
    assert loaded.ldap.object_classes == ["inetOrgPerson", "organizationalPerson"]


def test_values_a_dotenv_reader_would_expand_are_left_out() -> None:
    imported = ImportedSettings(
        provider="x",
        settings={"PASSGATE_LDAP_BIND_DN": "cn=${USER}", CREDENTIAL: "pa${ss}word"},
        not_used={},
        notes=[],
    )
    text = imported.to_env()
    assert parse_env(text) == {}
    assert "# PASSGATE_LDAP_BIND_DN left out" in text
    assert "cn=${USER}" in text  # shown, commented: not a secret
    assert f"# {CREDENTIAL} left out" in text
    assert "pa${ss}word" not in text


def test_comments_cannot_be_broken_out_of() -> None:
    imported = ImportedSettings(
        provider="evil\nPASSGATE_LDAP_VENDOR=ad",
        settings={},
        not_used={"k\nPASSGATE_X=1": "r\nPASSGATE_Y=2"},
        notes=["line one\nPASSGATE_Z=3"],
    )
    assert parse_env(imported.to_env()) == {}


# -- with passgate's settings ------------------------------------------------------------


def test_openldap_export_loads_as_passgate_settings(clean_env: None) -> None:
    result = from_realm_export(export("openldap"), include_secrets=True)
    s = load_settings(_env_file=None, **as_overrides(result.settings), **AUTH)
    assert s.ldap.urls == ["ldap://127.0.0.1:389"]
    assert s.ldap.start_tls is False
    assert s.ldap.bind_dn == "cn=keycloak,ou=services,dc=example,dc=org"
    assert s.ldap.bind_credential.get_secret_value() == SECRET
    assert s.ldap.users_dn == "ou=people,dc=example,dc=org"
    assert s.ldap.username_attribute == "uid"
    assert s.ldap.user_id_attribute == "passgateUserId"
    assert s.ldap.object_classes == ["inetOrgPerson", "organizationalPerson", "passgateUser"]
    assert s.ldap.vendor == "other"
    assert s.ldap.search_scope == "one"
    assert s.ldap.connect_timeout == 3
    assert s.ldap.operation_timeout == 10


def test_without_secrets_passgate_asks_for_the_credential(clean_env: None) -> None:
    result = from_realm_export(export("openldap"))
    with pytest.raises(ConfigurationError, match=CREDENTIAL):
        load_settings(_env_file=None, **as_overrides(result.settings), **AUTH)


def test_ad_export_loads_with_the_credential_set_by_hand(clean_env: None) -> None:
    result = from_realm_export(export("multi"), provider="corp-ad", include_secrets=True)
    s = load_settings(
        _env_file=None, **as_overrides(result.settings), ldap_bind_credential="typed-in", **AUTH
    )
    assert s.ldap.vendor == "ad"
    assert s.ldap.user_id_attribute == "employeeNumber"  # passgate's AD default, not objectGUID
    assert s.ldap.username_attribute == "sAMAccountName"
    assert s.ldap.urls == ["ldaps://dc1.corp.example.org", "ldaps://dc2.corp.example.org:636"]
    assert s.ldap.operation_timeout == 30


# -- bare components (admin REST API, kcadm.sh get components) -------------------------


def components(name: str = "openldap") -> list[dict[str, Any]]:
    """What GET /admin/realms/R/components?type=...UserStorageProvider returns."""
    found: list[dict[str, Any]] = export(name)["components"][
        "org.keycloak.storage.UserStorageProvider"
    ]
    return [
        {**c, "providerType": "org.keycloak.storage.UserStorageProvider", "parentId": "r-id"}
        for c in found
    ]


def test_bare_components_list_and_object_import_like_the_export() -> None:
    from passgate.tools.keycloak import from_keycloak_json

    from_export = from_realm_export(export("openldap"))
    as_list = from_keycloak_json(components())
    (one,) = [c for c in components() if c["providerId"] == "ldap"]
    as_object = from_keycloak_json(one)
    as_text = from_keycloak_json(json.dumps(one))
    for result in (as_list, as_object, as_text):
        assert result.settings == from_export.settings
        assert result.provider == from_export.provider


def test_components_of_every_type_keep_only_user_federation() -> None:
    from passgate.tools.keycloak import from_keycloak_json

    key = {
        "name": "rsa",
        "providerId": "rsa-generated",
        "providerType": "org.keycloak.keys.KeyProvider",
    }
    result = from_keycloak_json([key, *components()])
    assert result.settings["PASSGATE_LDAP_USERS_DN"]


def test_components_choose_a_provider_by_name() -> None:
    from passgate.tools.keycloak import read_components

    with pytest.raises(KeycloakImportError, match="LDAP providers"):
        read_components(components("multi"))
    assert read_components(components("multi"), "corp-ad").name == "corp-ad"


@pytest.mark.parametrize("data", [[], [{"name": "x"}], {"config": {}}, [components()[0], 3]])
def test_not_components_is_said(data: object) -> None:
    from passgate.tools.keycloak import read_components

    with pytest.raises(KeycloakImportError, match="not Keycloak components"):
        read_components(data)


# -- a running Keycloak: credentials from the environment only ----------------------------


def test_admin_credentials_from_the_environment_never_shown() -> None:
    from passgate.tools.keycloak.live import AdminCredentials

    secret = "admin-Passw0rd-never-shown"
    by_password = AdminCredentials.from_environment(
        {"KEYCLOAK_ADMIN": "admin", "KEYCLOAK_ADMIN_PASSWORD": secret}
    )
    assert by_password.grant["grant_type"] == "password"
    by_client = AdminCredentials.from_environment(
        {
            "KEYCLOAK_CLIENT_ID": "passgate-import",
            "KEYCLOAK_CLIENT_SECRET": secret,
            "KEYCLOAK_ADMIN": "admin",
            "KEYCLOAK_ADMIN_PASSWORD": secret,
        }
    )
    assert by_client.grant["grant_type"] == "client_credentials"  # the client wins
    for credentials in (by_password, by_client):
        assert secret not in repr(credentials)
        assert secret not in str(credentials)
    with pytest.raises(KeycloakImportError, match="KEYCLOAK_ADMIN_PASSWORD") as missing:
        AdminCredentials.from_environment({"KEYCLOAK_ADMIN": "admin"})
    assert secret not in str(missing.value)


def test_an_unreachable_keycloak_is_an_import_error_without_the_secret() -> None:
    from passgate.tools.keycloak.live import AdminCredentials, fetch_federation

    secret = "admin-Passw0rd-never-shown"
    credentials = AdminCredentials.from_environment(
        {"KEYCLOAK_ADMIN": "admin", "KEYCLOAK_ADMIN_PASSWORD": secret}
    )
    with pytest.raises(KeycloakImportError, match="did not answer") as failed:
        fetch_federation("http://127.0.0.1:1", "passgate", credentials, timeout=2)
    assert secret not in str(failed.value)
    with pytest.raises(KeycloakImportError, match="not an http"):
        fetch_federation("file:///etc/passwd", "passgate", credentials)


# -- exports made by Keycloak 26.5.6 itself (tests/data/keycloak/README.md) ---------------

REAL_LDAP = {
    "PASSGATE_LDAP_START_TLS": "false",
    "PASSGATE_LDAP_BIND_DN": "cn=passgate,ou=services,dc=example,dc=org",
    "PASSGATE_LDAP_USERS_DN": "ou=people,dc=example,dc=org",
    "PASSGATE_LDAP_USERNAME_ATTRIBUTE": "uid",
    "PASSGATE_LDAP_USER_OBJECT_CLASSES": "inetOrgPerson, organizationalPerson",
    "PASSGATE_LDAP_VENDOR": "other",
    "PASSGATE_LDAP_SEARCH_SCOPE": "one",
    "PASSGATE_LDAP_CONNECT_TIMEOUT": "5",
    "PASSGATE_LDAP_OPERATION_TIMEOUT": "10",
}


def real(name: str) -> Any:
    return json.loads((DATA / f"real-26.5.6-{name}.json").read_text())


@pytest.mark.parametrize("name", ["kc-export", "partial-export", "admin-api-components"])
def test_real_keycloak_exports_import(name: str) -> None:
    from passgate.tools.keycloak import from_keycloak_json

    result = from_keycloak_json(real(name), include_secrets=True)
    assert result.provider == "openldap"
    settings = dict(result.settings)
    assert settings.pop("PASSGATE_LDAP_CONNECTION_URL").startswith("ldap://127.0.0.1:")
    credential = settings.pop(CREDENTIAL, None)
    assert settings == REAL_LDAP
    assert "entryUUID" in result.not_used["uuidLDAPAttribute"]
    if name == "kc-export":  # kc.sh export writes the credential in clear
        assert credential == "passgate-service-secret"
    else:  # the admin console and API mask it
        assert credential is None
        assert "Keycloak's mask" in notes_text(result)
    if name != "admin-api-components":  # the realm is known: the token hints name it
        assert 'realm "passgate"' in notes_text(result)
    env = parse_env(result.to_env())
    env.pop(CREDENTIAL, None)
    loaded = load_settings(
        _env_file=None,
        **{k.removeprefix("PASSGATE_").lower(): v for k, v in env.items()},
        ldap_bind_credential="supplied",
        **AUTH,
    )
    assert loaded.ldap.search_scope == "one"


def test_a_live_import_takes_the_issuer_from_the_realms_discovery_document() -> None:
    """Keycloak started with --hostname issues tokens for that host, not the URL the tool
    was given: the suggested PASSGATE_AUTH_ISSUER was 127.0.0.1's, and every token 401."""
    import http.server
    import threading

    from passgate.tools.keycloak.live import AdminCredentials, fetch_federation

    public = "http://sso.example.test:8443"
    components = (DATA / "real-26.5.6-admin-api-components.json").read_text()

    class Keycloak(http.server.BaseHTTPRequestHandler):
        def _json(self, body: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def do_POST(self) -> None:  # the admin token
            self.rfile.read(int(self.headers["Content-Length"]))
            self._json('{"access_token": "admin-token"}')

        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                self._json(json.dumps({"issuer": f"{public}/realms/passgate"}))
            elif "/components" in self.path:
                self._json(components)
            else:
                self._json("{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keycloak)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        credentials = AdminCredentials.from_environment(
            {"KEYCLOAK_ADMIN": "admin", "KEYCLOAK_ADMIN_PASSWORD": "pw"}
        )
        url = f"http://127.0.0.1:{server.server_address[1]}"
        federation = fetch_federation(url, "passgate", credentials, timeout=5)
    finally:
        server.shutdown()
    assert federation.frontend_url == public
