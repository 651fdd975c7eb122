"""Settings: defaults, Keycloak-style values, and start-up errors that name the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from passgate.config import load_settings
from passgate.errors import ConfigurationError

BASE: dict[str, Any] = {
    "_env_file": None,
    "ldap_connection_url": "ldap://127.0.0.1:389",
    "ldap_bind_dn": "cn=passgate,dc=example,dc=org",
    "ldap_bind_credential": "s3cret-bind",
    "ldap_users_dn": "ou=people,dc=example,dc=org",
    "auth_public_key_file": "/etc/passgate/issuer.pem",
    "auth_issuer": "https://sso.example.org/realms/staff",
}


def settings(**overrides: Any):  # type: ignore[no-untyped-def]
    return load_settings(**{**BASE, **overrides})


def test_defaults() -> None:
    s = settings()
    assert s.ldap.user_id_attribute == "passgateUserId"
    assert s.ldap.username_attribute == "uid"
    assert s.ldap.object_classes == ["inetOrgPerson"]
    assert s.ldap.vendor == "other"
    assert s.ldap.start_tls is False
    assert s.auth.user_id_claim == "sub"
    assert s.auth.username_claim == "preferred_username"
    assert s.auth.admin_role == "password-admin"
    assert s.ldap.connect_timeout == 5
    assert s.ldap.operation_timeout == 10


def test_keycloak_style_lists() -> None:
    s = settings(
        ldap_connection_url="ldaps://dc1.example.org ldaps://dc2.example.org:636",
        ldap_user_object_classes="person, organizationalPerson, user",
    )
    assert s.ldap.urls == ["ldaps://dc1.example.org", "ldaps://dc2.example.org:636"]
    assert s.ldap.object_classes == ["person", "organizationalPerson", "user"]


def test_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSGATE_LDAP_CONNECTION_URL", "ldaps://ldap.example.org")
    monkeypatch.setenv("PASSGATE_LDAP_START_TLS", "true")
    monkeypatch.setenv("PASSGATE_LDAP_VENDOR", "rhds")
    overrides = {k: v for k, v in BASE.items() if k not in ("ldap_connection_url",)}
    s = load_settings(**overrides)
    assert s.ldap.urls == ["ldaps://ldap.example.org"]
    assert s.ldap.start_tls is True
    assert s.ldap.vendor == "rhds"


def test_read_from_dotenv(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PASSGATE_LDAP_USERNAME_ATTRIBUTE=sAMAccountName\n")
    s = load_settings(**{**BASE, "_env_file": env})
    assert s.ldap.username_attribute == "sAMAccountName"


def test_missing_required_names_the_variable() -> None:
    values = {k: v for k, v in BASE.items() if k != "ldap_bind_dn"}
    with pytest.raises(ConfigurationError, match="PASSGATE_LDAP_BIND_DN"):
        load_settings(**values)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"ldap_connection_url": "http://ldap.example.org"}, "PASSGATE_LDAP_CONNECTION_URL"),
        ({"ldap_connection_url": "   "}, "PASSGATE_LDAP_CONNECTION_URL"),
        ({"ldap_vendor": "novell"}, "PASSGATE_LDAP_VENDOR"),
        ({"ldap_connect_timeout": 0}, "PASSGATE_LDAP_CONNECT_TIMEOUT"),
        ({"ldap_user_object_classes": " , "}, "PASSGATE_LDAP_USER_OBJECT_CLASSES"),
        ({"ldap_user_dn_template": "uid=x,dc=y"}, "PASSGATE_LDAP_USER_DN_TEMPLATE"),
        ({"auth_issuer": None}, "PASSGATE_AUTH_ISSUER"),
        ({"auth_public_key_file": None}, "PASSGATE_AUTH_PUBLIC_KEY_FILE"),
        ({"auth_jwks_url": "https://kc/certs"}, "PASSGATE_AUTH_JWKS_URL"),  # and a key file
        (
            {"auth_jwks_url": "file:///etc/passwd", "auth_public_key_file": None},
            "PASSGATE_AUTH_JWKS_URL",
        ),
    ],
)
def test_bad_values_name_the_variable(overrides: dict[str, Any], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        settings(**overrides)


def test_cleartext_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"PASSGATE_LDAP_CONNECTION_URL.*cleartext"):
        settings(ldap_connection_url="ldap://ldap.example.org")


@pytest.mark.parametrize(
    "overrides",
    [
        {"ldap_connection_url": "ldap://ldap.example.org", "ldap_start_tls": True},
        {"ldap_connection_url": "ldap://ldap.example.org", "ldap_allow_insecure": True},
        {"ldap_connection_url": "ldaps://ldap.example.org"},
        {"ldap_connection_url": "ldap://localhost:3389"},
        {"ldap_connection_url": "ldap://[::1]:3389"},
    ],
)
def test_cleartext_allowed_when_safe_or_asked_for(overrides: dict[str, Any]) -> None:
    settings(**overrides)


def test_errors_never_show_the_bind_credential() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(ldap_bind_credential={"oops": "s3cret-in-a-dict"})
    assert "PASSGATE_LDAP_BIND_CREDENTIAL" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_credential_is_secret_in_repr() -> None:
    assert "s3cret-bind" not in repr(settings())


def test_a_plain_http_jwks_url_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"PASSGATE_AUTH_JWKS_URL.*https"):
        settings(auth_jwks_url="http://sso.example.org/certs", auth_public_key_file=None)
    insecure = settings(
        auth_jwks_url="http://kc:8080/certs",
        auth_public_key_file=None,
        auth_jwks_allow_insecure=True,
    )
    assert insecure.auth.jwks_url == "http://kc:8080/certs"  # asked for (a closed network)


@pytest.mark.parametrize(
    "url",
    ["https://sso.example.org/certs", "http://127.0.0.1:8080/certs", "http://localhost/certs"],
)
def test_jwks_over_https_or_to_loopback(url: str) -> None:
    assert settings(auth_jwks_url=url, auth_public_key_file=None).auth.jwks_url == url


def test_http_server_settings() -> None:
    http = settings().http
    assert (http.metrics_port, http.keep_alive_timeout, http.limit_concurrency) == (None, 5, 1000)
    with pytest.raises(ConfigurationError, match="PASSGATE_METRICS_PORT"):
        settings(metrics_port=70000)
    with pytest.raises(ConfigurationError, match="PASSGATE_HTTP_LIMIT_CONCURRENCY"):
        settings(http_limit_concurrency=0)


@pytest.mark.parametrize("value", ["uid=x", "(uid=x", "(a=b)(c=d)", "(&(a=b)"])
def test_custom_user_filter_must_be_one_parenthesised_filter(value: str) -> None:
    with pytest.raises(ConfigurationError, match="PASSGATE_LDAP_CUSTOM_USER_FILTER"):
        settings(ldap_custom_user_filter=value)


def test_custom_user_filter_kept_as_given_and_blank_is_unset() -> None:
    ad = "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
    assert settings(ldap_custom_user_filter=f" {ad} ").ldap.custom_user_filter == ad
    assert settings(ldap_custom_user_filter="  ").ldap.custom_user_filter is None
    assert settings().ldap.custom_user_filter is None
