"""passgate's Keycloak extension set up in the session's realm, and what its tests need around it.

passgate runs in a thread on loopback with an API key (admin role) and an
audit log in a file, trusting Keycloak's address (127.0.0.1) for
``X-Forwarded-For``. The realm gets the ``passgate-update-password``
required action registered, enabled and configured with passgate's URL and
that key, and English and German as its languages. A small landing page
stands for the application people sign in to: Keycloak sends the browser
there with an authorization code once every required action is done.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from passgate.app import create_app
from passgate.config import load_settings
from passgate.dev.process import free_port
from passgate.dev.slapd import Slapd
from tests.keycloak.conftest import KeycloakRealm, passgate_settings
from tests.keycloak.portal_site import HELPDESK, OnePage, serve_in_thread

ACTION = "passgate-update-password"
API_KEY_NAME = "keycloak-extension"
CLIENT_ID = "password-portal"


class Landing(OnePage):
    """The application's redirect URI: answers every GET with a small page."""

    def __init__(self) -> None:
        page = b"<!doctype html><html lang=en><title>Signed in</title><h1>Signed in</h1></html>"
        super().__init__(page, path="/callback")


class FakePassgate:
    """A loopback stand-in for passgate: answers every change with what the test sets.

    What it is sent (the passwords) is read and dropped, never kept. ``delay``
    holds the answer back, as a passgate still busy with the directory does.
    """

    def __init__(self) -> None:
        self.status = 200
        self.body = b""
        self.content_type = "application/json"
        self.delay = 0.0
        self.calls = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.calls += 1
                time.sleep(fake.delay)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", fake.content_type)
                    self.send_header("Content-Length", str(len(fake.body)))
                    self.end_headers()
                    self.wfile.write(fake.body)
                except OSError:
                    pass  # the caller gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(
        self,
        status: int,
        body: bytes | dict[str, Any],
        *,
        content_type: str = "application/json",
        delay: float = 0.0,
    ) -> None:
        self.status = status
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.content_type = content_type
        self.delay = delay

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class SignIn:
    """One authorization request (PKCE S256): its URL and the verifier to redeem its code."""

    url: str
    verifier: str = field(repr=False)


@dataclass
class ExtensionSite:
    realm: KeycloakRealm
    passgate_url: str
    api_key: str = field(repr=False)
    audit_file: Path
    landing: Landing

    def configure(self, **overrides: str) -> None:
        """The action's config: passgate's URL, the key, the helpdesk; keyword overrides."""
        config = {
            "passgate.url": self.passgate_url,
            "passgate.apiKey": self.api_key,
            "passgate.helpdesk": HELPDESK,
            "passgate.timeoutSeconds": "10",
            **{k.replace("_", "."): v for k, v in overrides.items()},
        }
        self.realm.admin(
            "PUT", f"/authentication/required-actions/{ACTION}/config", {"config": config}
        )

    def keycloak_user(self, username: str) -> dict[str, Any]:
        """The Keycloak user (an LDAP user is imported by this lookup)."""
        found = self.realm.admin("GET", f"/users?username={username}&exact=true")
        assert len(found) == 1, found
        user: dict[str, Any] = found[0]
        return user

    def require(self, username: str, action: str = "UPDATE_PASSWORD") -> str:
        """Give the user a pending required action, as an admin does; the user's Keycloak id."""
        user = self.keycloak_user(username)
        self.realm.admin("PUT", f"/users/{user['id']}", {"requiredActions": [action]})
        return str(user["id"])

    def pending(self, username: str) -> list[str]:
        return list(self.keycloak_user(username).get("requiredActions", []))

    def sign_in(self) -> SignIn:
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urllib.parse.urlencode(
            {
                "client_id": CLIENT_ID,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": self.landing.url,
                "state": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return SignIn(f"{self.realm.issuer}/protocol/openid-connect/auth?{query}", verifier)

    def redeem(self, landed_url: str, sign_in: SignIn) -> httpx.Response:
        """The authorization code the browser landed with, exchanged for tokens."""
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(landed_url).query)["code"][0]
        return self.realm.grant(
            grant_type="authorization_code",
            client_id=CLIENT_ID,
            code=code,
            redirect_uri=self.landing.url,
            code_verifier=sign_in.verifier,
        )

    def audit(self, user_id: str) -> list[dict[str, Any]]:
        """passgate's audit lines about ``user_id``, oldest first."""
        lines = self.audit_file.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if r.get("target_user_id") == user_id]


def start_extension_site(
    realm: KeycloakRealm, slapd: Slapd, workdir: Path
) -> Iterator[ExtensionSite]:
    api_key = secrets.token_urlsafe(32)
    keys_file = workdir / "api-keys.json"
    keys_file.write_text(
        json.dumps(
            [
                {
                    "name": API_KEY_NAME,
                    "sha256": hashlib.sha256(api_key.encode()).hexdigest(),
                    "roles": ["password-admin"],
                }
            ]
        )
    )
    audit_file = workdir / "audit.jsonl"
    port = free_port()
    settings = load_settings(
        _env_file=None,
        **passgate_settings(
            realm,
            slapd,
            api_keys_file=keys_file,
            trusted_proxies="127.0.0.1/32",  # Keycloak: its X-Forwarded-For is believed
            audit_log=str(audit_file),
        ),
    )
    served = serve_in_thread(create_app(settings), port)
    landing = Landing()
    site = ExtensionSite(realm, f"http://127.0.0.1:{port}", api_key, audit_file, landing)
    try:
        registered = {
            a["providerId"] for a in realm.admin("GET", "/authentication/required-actions")
        }
        if ACTION not in registered:
            realm.admin(
                "POST",
                "/authentication/register-required-action",
                {"providerId": ACTION, "name": "Update Password through passgate (LDAP users)"},
            )
        action = realm.admin("GET", f"/authentication/required-actions/{ACTION}")
        realm.admin(
            "PUT", f"/authentication/required-actions/{ACTION}", {**action, "enabled": True}
        )
        site.configure()
        realm.admin(
            "PUT",
            "",
            {
                "internationalizationEnabled": True,
                "supportedLocales": ["en", "de"],
                "defaultLocale": "en",
            },
        )
        yield site
    finally:
        try:
            action = realm.admin("GET", f"/authentication/required-actions/{ACTION}")
            realm.admin(
                "PUT", f"/authentication/required-actions/{ACTION}", {**action, "enabled": False}
            )
            realm.admin("PUT", "", {"internationalizationEnabled": False})
        finally:
            landing.close()
            served.stop()
