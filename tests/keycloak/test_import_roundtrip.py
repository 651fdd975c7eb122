"""What Keycloak itself hands an operator -> ``passgate config from-keycloak`` -> ``passgate check``.

Three real sources, all from the session's Keycloak federating the
session's slapd: the admin console's *Partial export* (the admin API's
``partial-export``), the bare LDAP component (``GET .../components``, what
``kcadm.sh get components`` prints), and the live server (``--url``); plus
the committed ``kc.sh export`` of the same realm (made offline, see
tests/data/keycloak/README.md), whose connection URL names another slapd.
Keycloak masks the bind credential everywhere but in ``kc.sh export``, so
the operator supplies it, as the import's note says.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from tests.keycloak.conftest import KeycloakRealm

DATA = Path(__file__).resolve().parents[1] / "data" / "keycloak"
USER_STORAGE = "org.keycloak.storage.UserStorageProvider"
MASKED_NOTE = "PASSGATE_LDAP_BIND_CREDENTIAL: the export holds Keycloak's mask"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PASSGATE_", "KEYCLOAK_"))}
    return subprocess.run(
        [sys.executable, "-m", "passgate", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def import_then_check(
    tmp_path: Path, args: list[str], supplied: dict[str, str], env: dict[str, str] | None = None
) -> str:
    """Run the import, add what the operator supplies, run ``passgate check``: the .env text."""
    imported = run_cli("config", "from-keycloak", *args, cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    dotenv = imported.stdout + "".join(f"{k}={v}\n" for k, v in supplied.items())
    (tmp_path / ".env").write_text(dotenv)
    checked = run_cli("check", cwd=tmp_path)  # reads .env
    assert checked.returncode == 0, dotenv + checked.stdout
    assert "passgate check: all good" in checked.stdout
    for verdict in (
        "[  OK] service account bind",
        "[  OK] users DN exists",
        "[  OK] token issuer JWKS",
    ):
        assert verdict in checked.stdout, checked.stdout
    return imported.stdout


def token_settings(realm: KeycloakRealm) -> dict[str, str]:
    return {"PASSGATE_AUTH_ISSUER": realm.issuer, "PASSGATE_AUTH_JWKS_URL": realm.certs_url}


def assert_federation(dotenv: str, slapd_url: str) -> None:
    assert f"PASSGATE_LDAP_CONNECTION_URL={slapd_url}" in dotenv
    assert f"PASSGATE_LDAP_BIND_DN={seed.SERVICE_DN}" in dotenv
    assert f"PASSGATE_LDAP_USERS_DN={seed.PEOPLE_DN}" in dotenv
    assert "PASSGATE_LDAP_SEARCH_SCOPE=one" in dotenv


def test_the_admin_consoles_partial_export(
    realm: KeycloakRealm, slapd: Slapd, tmp_path: Path
) -> None:
    export = realm.admin("POST", "/partial-export?exportClients=true&exportGroupsAndRoles=true")
    (tmp_path / "partial-export.json").write_text(json.dumps(export, indent=2))
    dotenv = import_then_check(
        tmp_path,
        ["partial-export.json", "--include-secrets"],
        {"PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD, **token_settings(realm)},
    )
    assert_federation(dotenv, slapd.url)
    assert MASKED_NOTE in dotenv  # even with --include-secrets: Keycloak exported no secret


def test_a_bare_component_from_the_admin_api(
    realm: KeycloakRealm, slapd: Slapd, tmp_path: Path
) -> None:
    found = realm.admin("GET", f"/components?type={USER_STORAGE}")
    (component,) = [c for c in found if c["providerId"] == "ldap"]
    (tmp_path / "component.json").write_text(json.dumps(component))
    (tmp_path / "components.json").write_text(json.dumps(found))
    for name in ("component.json", "components.json"):
        dotenv = import_then_check(
            tmp_path,
            [name],
            {"PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD, **token_settings(realm)},
        )
        assert_federation(dotenv, slapd.url)


def test_a_live_keycloak_by_url(realm: KeycloakRealm, slapd: Slapd, tmp_path: Path) -> None:
    server = realm.server
    admin = {
        "KEYCLOAK_ADMIN": server.admin_username,
        "KEYCLOAK_ADMIN_PASSWORD": server.admin_password,
    }
    imported = run_cli(
        "config",
        "from-keycloak",
        "--url",
        server.url,
        "--realm",
        realm.name,
        cwd=tmp_path,
        env=admin,
    )
    assert imported.returncode == 0, imported.stderr
    # The token hints name the server asked: uncommented, they are the settings.
    hints = dict(
        re.findall(r"^# (PASSGATE_AUTH_(?:ISSUER|JWKS_URL))=(\S+)$", imported.stdout, re.M)
    )
    assert hints == token_settings(realm)
    dotenv = import_then_check(
        tmp_path,
        ["--url", server.url, "--realm", realm.name],
        {"PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD, **hints},
        env=admin,
    )
    assert_federation(dotenv, slapd.url)
    assert server.admin_password not in dotenv


def test_wrong_admin_password_is_said_without_it(realm: KeycloakRealm, tmp_path: Path) -> None:
    wrong = "Not-The-Admin-Passw0rd"
    result = run_cli(
        "config",
        "from-keycloak",
        "--url",
        realm.server.url,
        "--realm",
        realm.name,
        cwd=tmp_path,
        env={"KEYCLOAK_ADMIN": "admin", "KEYCLOAK_ADMIN_PASSWORD": wrong},
    )
    assert result.returncode == 2
    assert "HTTP 401" in result.stderr, result.stderr
    assert 'admin "admin"' in result.stderr
    assert wrong not in result.stderr + result.stdout


def test_the_committed_kc_sh_export(realm: KeycloakRealm, slapd: Slapd, tmp_path: Path) -> None:
    """``kc.sh export`` writes the bind credential in clear: --include-secrets keeps it."""
    (export,) = DATA.glob("real-26.5.6-kc-export.json")
    dotenv = import_then_check(
        tmp_path,
        [str(export), "--include-secrets"],
        # The export's slapd is gone; this session's slapd has the same content.
        {"PASSGATE_LDAP_CONNECTION_URL": slapd.url, **token_settings(realm)},
    )
    assert f"PASSGATE_LDAP_BIND_CREDENTIAL={seed.SERVICE_PASSWORD}" in dotenv
