"""Shared fixtures: a real slapd for the session, users per test, apps per settings.

In the style of python-ldap's slapdtest: the server is started once, on a
free port, from a configuration built with ``slapadd -n0``; a test that needs
it is skipped when slapd is not installed, except under CI (``CI=true``),
where a missing slapd is a failure.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import ldap3
import pytest
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.config import Settings, load_settings
from passgate.dev import seed
from passgate.dev.slapd import Slapd, SlapdUnavailable
from passgate.dev.tokens import DevIssuer
from tests.jwks_server import JwksServer
from tests.servers.redis_server import RedisServer, RedisUnavailable

IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")
RELAX = "1.3.6.1.4.1.4203.666.5.12"  # OpenLDAP relax rules: lets the rootdn set pwdChangedTime


def started(start: Callable[[], T], unavailable: type[Exception], what: str) -> T:
    """A server the suite needs: missing, the test is skipped here and fails under CI."""
    try:
        return start()
    except unavailable as exc:
        if IN_CI:
            pytest.fail(f"{what} is required under CI: {exc}")
        pytest.skip(f"{what} not available: {exc}")


def start_slapd(**kwargs: Any) -> Slapd:
    return started(Slapd(seed_ldif=seed.base_ldif(), **kwargs).start, SlapdUnavailable, "slapd")


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    server = start_slapd()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def issuer() -> DevIssuer:
    return DevIssuer(issuer="https://sso.example.test/realms/demo")


@pytest.fixture(scope="session")
def public_key_file(issuer: DevIssuer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return issuer.write_public_key(tmp_path_factory.mktemp("keys") / "issuer.pem")


class Directory:
    """Test-side access to the slapd: add users, poke operational attributes, try binds."""

    def __init__(self, server: Slapd) -> None:
        self.server = server
        self.admin = server.admin_connection()

    def add_user(
        self,
        password: str = "Initial-Passw0rd!",
        *,
        policy_dn: str | None = None,
        user_id: str | None = None,
        uid: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> seed.User:
        user = seed.User(
            uid or "u" + secrets.token_hex(6),
            user_id or secrets.token_hex(12),
            password,
            policy_dn=policy_dn,
        )
        attrs: dict[str, Any] = {
            "objectClass": ["inetOrgPerson", "passgateUser"],
            "cn": user.uid,
            "sn": user.uid,
            "uid": user.uid,
            "passgateUserId": user.user_id,
            "userPassword": password,
        }
        if policy_dn:
            attrs["pwdPolicySubentry"] = policy_dn
        attrs.update(extra or {})
        assert self.admin.add(user.dn, attributes=attrs), self.admin.result
        return user

    def replace(self, dn: str, attribute: str, value: str, *, relax: bool = False) -> None:
        controls = [(RELAX, True, None)] if relax else None
        ok = self.admin.modify(
            dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]}, controls=controls
        )
        assert ok, self.admin.result

    def read(self, dn: str, *attributes: str) -> dict[str, Any]:
        assert self.admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=list(attributes))
        # ldap3 lists a requested but absent attribute with no values: drop it.
        return {k: v for k, v in self.admin.response[0]["attributes"].items() if v}

    def can_bind(self, dn: str, password: str) -> bool:
        server = ldap3.Server(self.server.host, port=self.server.port, get_info=ldap3.NONE)
        # Bytes: sent as they are, as passgate sends them (a str would be SASLprepped).
        conn = ldap3.Connection(server, user=dn, password=password.encode("utf-8"))
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()


@pytest.fixture(scope="session")
def directory(slapd: Slapd) -> Directory:
    return Directory(slapd)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(slapd: Slapd, issuer: DevIssuer, public_key_file: Path) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        return load_settings(
            _env_file=None,
            **{
                **seed.passgate_settings(slapd.url, issuer.issuer, public_key_file),
                "ldap_connect_timeout": 2,
                "ldap_operation_timeout": 3,
                **overrides,
            },
        )

    return build


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Callable[..., TestClient]:
    def build(**overrides: Any) -> TestClient:
        return TestClient(create_app(make_settings(**overrides)))

    return build


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger, down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def jwks(issuer: DevIssuer) -> Iterator[JwksServer]:
    """The session issuer's key served as a JWKS (plus Keycloak's encryption key shape)."""
    enc = {**DevIssuer(kid="enc").jwk(), "use": "enc", "alg": "RSA-OAEP"}
    server = JwksServer([issuer.jwk(), enc])
    yield server
    server.close()


def start_redis() -> RedisServer:
    return started(RedisServer().start, RedisUnavailable, "redis-server")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the test runs.

    Bound but not listening. A port that is merely free is not enough: it may
    be handed to the connecting socket itself as its own (both in the
    ephemeral range), and TCP then connects it to itself, so that what is
    "nobody listening" becomes an echo of the client's own request.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
