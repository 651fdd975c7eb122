"""Settings: defaults, Keycloak-style values, and start-up errors that name the variable."""

from __future__ import annotations

import re
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


# -- operator input refused at start-up, the setting named (never a traceback later) ----------


def ca_pem(tmp_path: Path) -> Path:
    from tests.certs import Authority

    return Authority.create("passgate test CA").write_ca(tmp_path / "ca.pem")


def test_ca_file_must_be_a_file_of_pem_certificates(tmp_path: Path) -> None:
    not_pem = tmp_path / "key.pem"
    not_pem.write_text("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    for value, problem in [
        (tmp_path / "missing.pem", "is not a file"),
        (tmp_path, "is not a file (a directory)"),
        (not_pem, "holds no PEM certificate"),
    ]:
        with pytest.raises(
            ConfigurationError, match=f"PASSGATE_LDAP_CA_FILE: .*{re.escape(problem)}"
        ):
            settings(ldap_connection_url="ldaps://ldap.example.org", ldap_ca_file=str(value))
    good = ca_pem(tmp_path)
    assert settings(ldap_ca_file=str(good)).ldap.ca_file == good


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_ca_file_is_unset(value: str) -> None:
    assert settings(ldap_ca_file=value).ldap.ca_file is None  # not Path("."), the directory


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/nonexistent/dir/audit.log", "the directory /nonexistent/dir does not exist"),
        ("/tmp", "/tmp is a directory"),
    ],
)
def test_an_audit_log_that_cannot_be_opened_is_refused(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=f"PASSGATE_AUDIT_LOG: .*{problem}"):
        settings(audit_log=value)


@pytest.mark.parametrize(("value", "kept"), [("", "stdout"), ("  ", "stdout"), (" off ", "off")])
def test_an_empty_audit_log_is_unset(value: str, kept: str) -> None:
    assert settings(audit_log=value).http.audit_log == kept


def test_an_audit_log_in_an_existing_directory(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    assert settings(audit_log=str(path)).http.audit_log == str(path)
    assert not path.exists()  # checked, not created (check must not leave files behind)


@pytest.mark.parametrize(
    "urls",
    [
        "ldap://127.0.0.1:99999",
        "ldap://127.0.0.1:abc",
        "ldap://127.0.0.1:0",
        "ldaps://ldap.example.org ldaps://ldap2.example.org:65536",
        "ldap://[::1",
    ],
)
def test_ldap_urls_with_a_bad_port_or_host_are_refused(urls: str) -> None:
    with pytest.raises(ConfigurationError, match=r"PASSGATE_LDAP_CONNECTION_URL: .* is not usable"):
        settings(ldap_connection_url=urls)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:abc/0",
        "redis://127.0.0.1:99999/0",
        "rediss://:s3cret-store@[::1/0",
        "redis://:s3cret-store@127.0.0.1/zero",
        "redis://:s3cret-store@127.0.0.1/0?socket_timeout=soon",
    ],
)
def test_limiter_urls_the_client_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="PASSGATE_LIMITER_URL") as caught:
        settings(limiter_url=url)
    assert "s3cret-store" not in str(caught.value)  # a Redis URL may carry a password


@pytest.mark.parametrize(
    "url", ["memory://", "MEMORY://", "redis://127.0.0.1:6379/0", "unix:///run/redis.sock"]
)
def test_limiter_urls_the_client_takes(url: str) -> None:
    assert settings(limiter_url=url).limiter.url == url


@pytest.mark.parametrize("host", ["not a host", "[::1]", "", "no-such-host.invalid"])
def test_metrics_host_must_be_an_address_or_a_name_that_resolves(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"PASSGATE_METRICS_HOST: .*PASSGATE_METRICS_PORT"):
        settings(metrics_port=9100, metrics_host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "0.0.0.0", "localhost"])
def test_metrics_hosts_that_can_be_listened_on(host: str) -> None:
    assert settings(metrics_port=9100, metrics_host=host).http.metrics_host == host


def test_bad_urls_in_model_validators_name_their_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"PASSGATE_AUTH_JWKS_URL: not a valid URL"):
        settings(auth_jwks_url="https://[::1", auth_public_key_file=None)
    portal = {
        "portal_enabled": True,
        "portal_client_id": "passgate",
        "portal_redirect_url": "https://pw.example.org/portal/callback",
        "portal_cookie_secret": "c" * 40,
    }
    with pytest.raises(ConfigurationError, match=r"PASSGATE_PORTAL_ISSUER_URL: not a valid URL"):
        settings(**portal, portal_issuer_url="https://[::1")
    with pytest.raises(ConfigurationError, match=r"PASSGATE_PORTAL_ISSUER_URL: the port"):
        settings(**portal, portal_issuer_url="https://sso.example.org:99999/realms/staff")


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"ldap_users_dn": ""}, "PASSGATE_LDAP_USERS_DN"),
        ({"ldap_bind_dn": "  "}, "PASSGATE_LDAP_BIND_DN"),
        ({"ldap_bind_credential": ""}, "PASSGATE_LDAP_BIND_CREDENTIAL"),
        ({"ldap_user_id_attribute": ""}, "PASSGATE_LDAP_USER_ID_ATTRIBUTE"),
        ({"ldap_username_attribute": " "}, "PASSGATE_LDAP_USERNAME_ATTRIBUTE"),
        ({"auth_user_id_claim": ""}, "PASSGATE_AUTH_USER_ID_CLAIM"),
        ({"auth_username_claim": " "}, "PASSGATE_AUTH_USERNAME_CLAIM"),
        ({"auth_admin_role": ""}, "PASSGATE_AUTH_ADMIN_ROLE"),
        ({"auth_issuer": "   "}, "PASSGATE_AUTH_ISSUER"),  # blank is unset, and it is required
    ],
)
def test_blank_required_values_are_refused(overrides: dict[str, Any], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{variable}: ") as caught:
        settings(**overrides)
    assert "s3cret-bind" not in str(caught.value)


def test_blank_optional_values_are_unset() -> None:
    s = settings(auth_audience=" ", policy_forbidden_file="", auth_api_keys_file="")
    assert (s.auth.audience, s.policy.forbidden_file, s.auth.api_keys_file) == (None, None, None)


def test_character_minimums_that_no_password_fits_are_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(
            policy_min_lowercase=20,
            policy_min_digits=10,
            policy_min_symbols=5,
            policy_max_length=32,
        )
    message = str(caught.value)
    for variable in ("MIN_LOWERCASE", "MIN_DIGITS", "MIN_SYMBOLS", "MAX_LENGTH"):
        assert f"PASSGATE_POLICY_{variable}" in message
    assert "MIN_UPPERCASE" not in message  # 0: not part of the sum
    fits = settings(policy_min_lowercase=10, policy_min_digits=10, policy_max_length=20)
    assert fits.policy.min_digits == 10
    with pytest.raises(ConfigurationError, match=r"PASSGATE_POLICY_MIN_LENGTH .* is above"):
        settings(policy_min_length=40, policy_max_length=32)


def test_a_variable_is_named_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(auth_admin_client=" ")
    assert str(caught.value).count("PASSGATE_AUTH_ADMIN_CLIENT") == 1
