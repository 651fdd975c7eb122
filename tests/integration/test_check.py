"""``passgate check`` against the real slapd: all good, and each misconfiguration named."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from passgate.tools.check import run_check
from tests.certs import Authority
from tests.conftest import Directory, SettingsFactory, start_slapd
from tests.jwks_server import JwksServer


def check(settings_factory: SettingsFactory, **overrides: object) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(settings_factory(**overrides), out)
    return code, out.getvalue()


def test_all_good(make_settings: SettingsFactory, slapd: Slapd) -> None:
    code, text = check(make_settings)
    assert code == 0, text
    for line in [
        f"[WARN] connect {slapd.url}: cleartext",
        f"[  OK] service account bind: {seed.SERVICE_DN}",
        f"[  OK] users DN exists: {seed.PEOPLE_DN}",
        "[  OK] RootDSE vendor",
        "[  OK] Password Modify extended operation: 1.3.6.1.4.1.4203.1.11.1",
        "[  OK] password-policy control: 1.3.6.1.4.1.42.2.27.8.5.1",
        "[  OK] attribute passgateUserId in the schema",
        "[SKIP] index on passgateUserId: not detectable",
        "[  OK] token issuer key",
        "passgate check: all good",
    ]:
        assert line in text, (line, text)
    assert seed.SERVICE_PASSWORD not in text


def test_unreachable_url_fails_and_names_it(make_settings: SettingsFactory, slapd: Slapd) -> None:
    code, text = check(make_settings, ldap_connection_url=f"ldap://127.0.0.1:1 {slapd.url}")
    assert code == 1
    assert "[FAIL] connect ldap://127.0.0.1:1: directory server ldap://127.0.0.1:1 unusable" in text
    assert f"[WARN] connect {slapd.url}" in text  # the second one works (failover)
    assert "[  OK] service account bind" in text
    assert text.rstrip().endswith("passgate check: FAILED")


def test_wrong_bind_credential(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_bind_credential="not-the-secret")
    assert code == 1
    assert "[FAIL] service account bind: the directory refused the service account bind (49" in text
    assert "PASSGATE_LDAP_BIND_CREDENTIAL" in text
    assert "not-the-secret" not in text
    assert "[SKIP] users DN, schema, RootDSE: no service connection" in text


def test_wrong_users_dn(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_users_dn="ou=nobody,dc=example,dc=org")
    assert code == 1
    assert (
        "[FAIL] users DN exists: PASSGATE_LDAP_USERS_DN=ou=nobody,dc=example,dc=org: noSuchObject"
        in text
    )


def test_unknown_user_id_attribute(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_user_id_attribute="objectGuid")
    assert code == 1
    assert "[FAIL] attribute objectGuid in the schema: unknown to the server" in text


def test_vendor_mismatch_is_a_warning(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_vendor="rhds", ldap_allow_insecure=True)
    assert code == 0, text
    assert "[WARN] RootDSE vendor: unnamed, but PASSGATE_LDAP_VENDOR=rhds" in text


def test_jwks(make_settings: SettingsFactory, jwks: JwksServer, issuer: DevIssuer) -> None:
    code, text = check(make_settings, auth_public_key_file=None, auth_jwks_url=jwks.url)
    assert code == 0, text
    assert f"[  OK] token issuer JWKS: 1 signing key(s) at {jwks.url}" in text
    code, text = check(
        make_settings, auth_public_key_file=None, auth_jwks_url="http://127.0.0.1:1/certs"
    )
    assert code == 1
    assert "[FAIL] token issuer JWKS: http://127.0.0.1:1/certs: URLError" in text


@pytest.fixture(scope="module")
def tls_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Slapd, Path, Path]]:
    where = tmp_path_factory.mktemp("check-pki")
    ours = Authority.create("check CA")
    cert, key = ours.issue_server(where, ["localhost"])
    server = start_slapd(tls_cert=cert, tls_key=key)
    other = Authority.create("other CA").write_ca(where / "other.pem")
    yield server, ours.write_ca(where / "ca.pem"), other
    server.stop()


def test_tls(make_settings: SettingsFactory, tls_slapd: tuple[Slapd, Path, Path]) -> None:
    server, ca, other = tls_slapd
    code, text = check(make_settings, ldap_connection_url=server.ldaps_url, ldap_ca_file=ca)
    assert code == 0, text
    assert f"[  OK] connect {server.ldaps_url}: TLS verified against {ca}" in text
    code, text = check(make_settings, ldap_connection_url=server.ldaps_url, ldap_ca_file=other)
    assert code == 1
    assert (
        f"[FAIL] connect {server.ldaps_url}: TLS certificate of {server.ldaps_url} not trusted"
        in text
    )
    assert str(other) in text


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "passgate", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PASSGATE_")}


def test_settings_that_do_not_load_exit_2(tmp_path: Path) -> None:
    result = run_cli("check", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "[FAIL] settings:" in result.stdout
    assert "PASSGATE_LDAP_CONNECTION_URL" in result.stdout


def test_settings_from_a_keycloak_export_pass_the_check(
    slapd: Slapd, issuer: DevIssuer, public_key_file: Path, tmp_path: Path
) -> None:
    export = {
        "realm": "staff",
        "enabled": True,
        "components": {
            "org.keycloak.storage.UserStorageProvider": [
                {
                    "id": "0f9b0a10-7f7e-4f1c-9d7e-3c5d0e9a1b2c",
                    "name": "corporate-ldap",
                    "providerId": "ldap",
                    "subComponents": {},
                    "config": {
                        "enabled": ["true"],
                        "vendor": ["other"],
                        "connectionUrl": [slapd.url],
                        "bindDn": [seed.SERVICE_DN],
                        "bindCredential": [seed.SERVICE_PASSWORD],
                        "usersDn": [seed.PEOPLE_DN],
                        "usernameLDAPAttribute": ["uid"],
                        "rdnLDAPAttribute": ["uid"],
                        "uuidLDAPAttribute": ["entryUUID"],
                        "userObjectClasses": ["inetOrgPerson, organizationalPerson"],
                        "searchScope": ["1"],
                        "authType": ["simple"],
                        "startTls": ["false"],
                        "connectionTimeout": ["5000"],
                        "readTimeout": ["10000"],
                        "editMode": ["READ_ONLY"],
                        "pagination": ["true"],
                    },
                }
            ]
        },
    }
    path = tmp_path / "realm-export.json"
    path.write_text(json.dumps(export))
    imported = run_cli(
        "config", "from-keycloak", str(path), "--include-secrets", env=clean_env(), cwd=tmp_path
    )
    assert imported.returncode == 0, imported.stderr
    (tmp_path / ".env").write_text(
        imported.stdout
        + f"PASSGATE_AUTH_PUBLIC_KEY_FILE={public_key_file}\n"
        + f"PASSGATE_AUTH_ISSUER={issuer.issuer}\n"
    )
    result = run_cli("check", env=clean_env(), cwd=tmp_path)  # reads .env
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passgate check: all good" in result.stdout
    assert "[  OK] users DN exists" in result.stdout


# -- the last-straw guard's reads, the limiter against the policy, expired passwords --------


def policy_entry(slapd: Slapd, name: str, **values: str) -> str:
    """A ppolicy entry under ou=policies (seed defaults plus ``values``); returns its DN."""
    dn = f"cn={name},{seed.POLICIES_DN}"
    admin = slapd.admin_connection()
    try:
        admin.delete(dn)
        attributes: dict[str, object] = {
            "objectClass": ["device", "pwdPolicy"],
            "cn": name,
            "pwdAttribute": "userPassword",
            "pwdMaxFailure": "5",
            "pwdLockout": "TRUE",
            "pwdFailureCountInterval": "900",
            **values,
        }
        assert admin.add(dn, attributes=attributes), admin.result
    finally:
        admin.unbind()
    return dn


def test_failure_state_is_tried_on_a_user(
    make_settings: SettingsFactory, directory: Directory
) -> None:
    directory.add_user()
    code, text = check(make_settings)
    assert code == 0, text
    assert "[  OK] directory failure state: 0 failure(s) of 5 on uid=" in text, text


def test_failure_state_without_a_user_to_try(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_users_dn=f"ou=services,{seed.SUFFIX}")
    assert code == 0, text
    assert "[SKIP] directory failure state: no user to try in the users DN" in text


def test_limiter_below_the_lockout(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings)
    assert code == 0, text
    assert (
        "[  OK] limiter below the directory's lockout: 3 failure(s) per 900 s < 5 per 900 s "
        f"({seed.DEFAULT_POLICY_DN})"
    ) in text, text


def test_limiter_at_the_lockout_threshold(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, limiter_user_failures=5)
    assert code == 0, text
    assert (
        "[WARN] limiter below the directory's lockout: PASSGATE_LIMITER_USER_FAILURES=5 but "
        "the directory locks after 5"
    ) in text, text
    assert "set it to at most 4" in text


def test_limiter_window_shorter_than_the_directory_counts(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, limiter_window=60)
    assert code == 0, text
    assert (
        "[WARN] limiter below the directory's lockout: PASSGATE_LIMITER_WINDOW=60 is shorter "
        "than the 900 s the directory counts a failure (pwdFailureCountInterval"
    ) in text, text


def test_failures_counted_until_a_good_bind(make_settings: SettingsFactory, slapd: Slapd) -> None:
    unbounded = policy_entry(slapd, "unbounded", pwdFailureCountInterval="0")
    code, text = check(make_settings, ldap_default_policy_dn=unbounded)
    assert code == 0, text
    assert (
        "[WARN] limiter below the directory's lockout: the directory counts failures until the "
        "next good bind (pwdFailureCountInterval 0"
    ) in text, text
    assert "only the guard protects" in text


def test_expired_passwords_without_grace_logins(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings, ldap_default_policy_dn=seed.EXPIRING_POLICY_DN)
    assert code == 0, text
    assert (
        "[WARN] expired passwords can be changed: passwords expire after 86400 s with no grace "
        f"logins ({seed.EXPIRING_POLICY_DN}): the expired user's bind fails, so passgate answers "
        "5025"
    ) in text, text


def test_expired_passwords_with_grace_logins(make_settings: SettingsFactory, slapd: Slapd) -> None:
    graceful = policy_entry(slapd, "graceful", pwdMaxAge="86400", pwdGraceAuthNLimit="2")
    code, text = check(make_settings, ldap_default_policy_dn=graceful)
    assert code == 0, text
    assert (
        f"[  OK] expired passwords can be changed: 2 grace login(s) after expiry ({graceful})"
        in (text)
    )


def test_passwords_that_never_expire(make_settings: SettingsFactory) -> None:
    code, text = check(make_settings)
    assert code == 0, text
    assert (
        "[  OK] expired passwords can be changed: passwords do not expire "
        f"({seed.DEFAULT_POLICY_DN})"
    ) in text, text
