"""A real Keycloak for the session, federated to the suite's slapd, and passgate behind it.

The realm is ``deploy/keycloak/passgate-realm.json``, imported with its
placeholders pointing at the session's slapd. The server runs from a copy of
the pinned distribution with passgate's own extension (``integrations/keycloak``)
in ``providers/``, built by :mod:`passgate.dev.keycloak_extension`, so one
Keycloak start serves every test here; the extension does nothing until a
test registers and configures its required action
(``tests/keycloak/test_extension_browser.py``). Keycloak believes
``X-Forwarded-For`` (``--proxy-headers=xforwarded``) so a test can give a
browser an address of its own. Keycloak is skipped locally when set-up has
not fetched it (or Maven cannot build the extension), and fails the run under
``CI=true``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.config import load_settings
from passgate.dev import seed
from passgate.dev.keycloak import Keycloak, KeycloakUnavailable, realm_file
from passgate.dev.keycloak_extension import build_jar, extension_home
from passgate.dev.slapd import Slapd
from tests.conftest import Directory, started

USER_ID_CLAIM = "passgate_user_id"  # the realm's passgate-user-id client scope
AUDIENCE = "passgate"  # the realm's passgate-audience client scope


def passgate_settings(realm: KeycloakRealm, slapd: Slapd, **overrides: Any) -> dict[str, Any]:
    """passgate's settings (field name -> value) in front of the slapd, trusting the realm.

    The one place the Keycloak tests configure passgate.
    """
    settings = {
        **seed.passgate_settings(slapd.url, realm.issuer, Path("unused")),
        "auth_public_key_file": None,
        "auth_jwks_url": realm.certs_url,
        "auth_issuer": realm.issuer,
        "auth_audience": AUDIENCE,
        "auth_user_id_claim": USER_ID_CLAIM,
        "ldap_connect_timeout": 2,
        "ldap_operation_timeout": 3,
    }
    settings.update(overrides)
    return settings


@dataclass
class KeycloakRealm:
    """The imported realm: tokens from its clients, and its admin API."""

    server: Keycloak
    name: str
    helpdesk_secret: str

    @property
    def issuer(self) -> str:
        return self.server.realm_url(self.name)

    @property
    def certs_url(self) -> str:
        return self.server.certs_url(self.name)

    def grant(self, **form: str) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=30) as http:
            return http.post(self.server.token_url(self.name), data=form)

    def password_grant(self, client_id: str, username: str, password: str) -> httpx.Response:
        """A direct access grant (resource owner password), as the tests sign people in."""
        return self.grant(
            grant_type="password", client_id=client_id, username=username, password=password
        )

    def access_token(self, client_id: str, username: str, password: str) -> str:
        response = self.password_grant(client_id, username, password)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def service_token(self, client_id: str) -> str:
        """A client-credentials access token of a confidential client's service account."""
        response = self.grant(
            grant_type="client_credentials", client_id=client_id, client_secret=self.helpdesk_secret
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin(self, method: str, path: str = "", json: object = None) -> Any:
        """The admin REST API under ``/admin/realms/<realm>``: its JSON answer."""
        return self.server.admin(method, f"/{self.name}{path}", json)


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (for assertions about what Keycloak put in it)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return decoded


def start_keycloak_with_extension() -> Keycloak:
    home = extension_home(build_jar())
    return Keycloak(home=home, extra_args=("--proxy-headers=xforwarded",)).start()


@pytest.fixture(scope="session")
def keycloak_server() -> Iterator[Keycloak]:
    server = started(start_keycloak_with_extension, KeycloakUnavailable, "Keycloak")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def realm(keycloak_server: Keycloak, slapd: Slapd) -> KeycloakRealm:
    secret = secrets.token_urlsafe(24)
    name = keycloak_server.import_realm(
        realm_file(),
        {
            "PASSGATE_LDAP_CONNECTION_URL": slapd.url,
            "PASSGATE_LDAP_BIND_DN": seed.SERVICE_DN,
            "PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD,
            "PASSGATE_LDAP_USERS_DN": seed.PEOPLE_DN,
            "PASSGATE_HELPDESK_SECRET": secret,
        },
    )
    return KeycloakRealm(keycloak_server, name, secret)


@pytest.fixture
def make_passgate(realm: KeycloakRealm, slapd: Slapd) -> Callable[..., TestClient]:
    """passgate trusting the realm's tokens; keyword arguments override settings."""

    def build(**overrides: Any) -> TestClient:
        settings = load_settings(_env_file=None, **passgate_settings(realm, slapd, **overrides))
        return TestClient(create_app(settings))

    return build


@pytest.fixture
def passgate(make_passgate: Callable[..., TestClient]) -> TestClient:
    return make_passgate()


@pytest.fixture
def add_person(directory: Directory) -> Callable[..., Any]:
    """A directory user Keycloak can sign in: its user profile wants names and an email."""

    def add(password: str = "Initial-Passw0rd!") -> Any:
        uid = "kc" + secrets.token_hex(5)
        return directory.add_user(
            password,
            uid=uid,
            extra={"givenName": uid.capitalize(), "mail": f"{uid}@example.org"},
        )

    return add
