"""``passgate dev --keycloak`` as a person runs it: real tokens from the printed lines, then Ctrl-C.

Starts its own Keycloak (the demo's), so it runs before the session's
Keycloak of the other modules starts (alphabetical order): one Java at a time.
"""

from __future__ import annotations

import glob
import re
import socket
from pathlib import Path

import httpx

from passgate.dev.keycloak import KeycloakUnavailable, http_json, keycloak_home
from tests.conftest import started
from tests.integration.test_dev_command import (
    alive,
    assert_nothing_left,
    check_results,
    private_tmp,
    run_as_printed,
    start_demo,
    stop,
)

KEYCLOAK_LINE = re.compile(
    r"^Keycloak (http://127\.0\.0\.1:(\d+)) \(admin console \S+, login (\S+) / (\S+)\), realm (\S+)$",
    re.M,
)


def test_dev_with_keycloak_gets_real_tokens_and_leaves_nothing(tmp_path: Path) -> None:
    # Skip (or fail under CI) like the session's Keycloak when the distribution is missing.
    started(_distribution, KeycloakUnavailable, "Keycloak")
    process, out, port = start_demo(tmp_path, "--keycloak", within=300)
    ours = set(glob.glob(f"{private_tmp(tmp_path)}/passgate-keycloak-*"))  # its work directory
    try:
        text = out.read_text()
        found = KEYCLOAK_LINE.search(text)
        assert found, text
        kc_url, kc_port, admin, password, realm = found.groups()
        # The printed admin login works.
        token = http_json(
            "POST",
            f"{kc_url}/realms/master/protocol/openid-connect/token",
            form={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": admin,
                "password": password,
            },
        )
        assert token["access_token"]
        lines = text.splitlines()
        exports = [line for line in lines if line.startswith("export ")]
        assert [e.split("=", 1)[0] for e in exports] == [
            "export ALICE_TOKEN",
            "export BOB_TOKEN",
            "export HELPDESK_TOKEN",
        ]
        assert all(f"{kc_url}/realms/{realm}/protocol/openid-connect/token" in e for e in exports)
        # The self-service page is served, and sends a browser to Keycloak's sign-in.
        page = re.search(
            r"^Self-service page (http://\S+/portal/) \(sign in as alice / ", text, re.M
        )
        assert page, text
        login = httpx.get(page.group(1), follow_redirects=True, trust_env=False)
        assert login.url.path == f"/realms/{realm}/protocol/openid-connect/auth"
        assert login.url.params["code_challenge_method"] == "S256"
        results = run_as_printed(lines)
        assert "200 success: alice changes her own password" in results
        check_results(results)
        guide = text[: text.index("Ctrl-C stops everything")]
        assert len(guide) < 8_000, len(guide)
    finally:
        stop(process, port, within=90)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(kc_port))) != 0
    assert len(ours) == 1
    assert not alive(ours.pop())  # no java of it is left
    assert_nothing_left(tmp_path)


def _distribution() -> None:
    kc_sh = keycloak_home() / "bin" / "kc.sh"
    if not kc_sh.exists():
        raise KeycloakUnavailable(f"{kc_sh} not found: run scripts/setup.sh")
