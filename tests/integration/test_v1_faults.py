"""The directory going away, and connections cut mid-change: truthful answers only."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory, start_slapd
from tests.faultproxy import GARBLED, Cut, FaultProxy, GarbleProxy
from tests.integration.helpers import assert_error, change, change_through, user_token

NEW = "Brand-N3w-Passw0rd!"


def test_nothing_listening_is_503(make_client, issuer: DevIssuer, refusing_port: int) -> None:  # type: ignore[no-untyped-def]
    client = make_client(ldap_connection_url=f"ldap://127.0.0.1:{refusing_port}")
    response = change(client, "a" * 24, "Old-Passw0rd!", NEW, token=user_token(issuer, "a" * 24))
    assert_error(response, 503, 5030, "Directory unavailable")


def test_failover_to_the_second_url(
    make_client, slapd: Slapd, directory: Directory, issuer: DevIssuer, refusing_port: int
) -> None:  # type: ignore[no-untyped-def]
    client = make_client(ldap_connection_url=f"ldap://127.0.0.1:{refusing_port} {slapd.url}")
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert response.status_code == 200, response.text


class NotLdap:
    """A TCP server that answers everything with bytes ldap3 cannot decode."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ldap://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            while conn.recv(65536):
                conn.sendall(GARBLED)

    def close(self) -> None:
        self._listener.close()


def test_a_server_that_does_not_speak_ldap_is_503_not_500(
    make_client, issuer: DevIssuer, all_logs: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    server = NotLdap()
    try:
        client = make_client(ldap_connection_url=server.url)
        response = change(
            client, "a" * 24, "Old-Passw0rd!", NEW, token=user_token(issuer, "a" * 24)
        )
    finally:
        server.close()
    assert_error(response, 503, 5030, "Directory unavailable")
    assert "could not be read as LDAP (KeyError)" in all_logs.text


def test_a_garbled_answer_to_the_users_bind_is_503_and_changes_nothing(
    make_client, slapd: Slapd, directory: Directory, issuer: DevIssuer
) -> None:  # type: ignore[no-untyped-def]
    user = directory.add_user()
    proxy = GarbleProxy(slapd.port, marker=user.uid.encode())
    response = change_through(proxy, make_client, issuer, user, NEW)
    assert proxy.tripped.is_set()
    assert_error(response, 503, 5030, "Directory unavailable")
    assert directory.can_bind(user.dn, user.password)


@pytest.fixture
def own_slapd() -> Slapd:
    server = start_slapd()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.mark.parametrize("warm", [False, True], ids=["first request", "pooled connections"])
def test_stopped_directory_is_503_within_the_timeout_then_recovers(
    make_client,
    own_slapd: Slapd,
    issuer: DevIssuer,
    warm: bool,  # type: ignore[no-untyped-def]
) -> None:
    own = Directory(own_slapd)
    user = own.add_user()
    timeout = 1
    client = make_client(ldap_connection_url=own_slapd.url, ldap_operation_timeout=timeout)
    token = user_token(issuer, user.user_id)
    if warm:  # RootDSE read, DN cached, both pools holding open connections
        other = own.add_user()
        response = change(
            client, other.user_id, other.password, NEW, token=user_token(issuer, other.user_id)
        )
        assert response.status_code == 200, response.text
        change(client, user.user_id, "Wrong-Passw0rd!", NEW, token=token)  # caches the DN
    own_slapd.pause()  # SIGSTOP: connections are accepted by the kernel, nothing answers
    try:
        started = time.monotonic()
        response = change(client, user.user_id, user.password, NEW, token=token)
        elapsed = time.monotonic() - started
    finally:
        own_slapd.resume()
    assert_error(response, 503, 5030, "Directory unavailable")
    assert elapsed < timeout + 1, f"{elapsed:.2f} s"  # the bound the README states
    response = change(client, user.user_id, user.password, NEW, token=token)
    assert response.status_code == 200, response.text


def test_restarted_directory_recovers_without_restarting_passgate(
    make_client,
    own_slapd: Slapd,
    issuer: DevIssuer,  # type: ignore[no-untyped-def]
) -> None:
    own = Directory(own_slapd)
    user = own.add_user()
    client = make_client(ldap_connection_url=own_slapd.url)
    token = user_token(issuer, user.user_id)
    assert own_slapd.process is not None
    own_slapd.process.terminate()
    own_slapd.process.wait()
    assert_error(
        change(client, user.user_id, user.password, NEW, token=token),
        503,
        5030,
        "Directory unavailable",
    )
    own_slapd.restart()
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200


@pytest.mark.parametrize("cut", [Cut.AFTER_FORWARDING, Cut.BEFORE_FORWARDING])
def test_connection_cut_around_password_modify(
    make_client,
    slapd: Slapd,
    directory: Directory,
    issuer: DevIssuer,
    cut: Cut,  # type: ignore[no-untyped-def]
) -> None:
    user = directory.add_user()
    proxy = FaultProxy(slapd.port, cut)
    response = change_through(proxy, make_client, issuer, user, NEW)
    assert proxy.tripped.is_set(), response.text
    if cut is Cut.AFTER_FORWARDING:
        # The directory did change it: passgate must say so, not 503.
        assert directory.can_bind(user.dn, NEW)
        assert response.status_code == 200, response.text
    else:
        # Nothing reached the directory: no false success.
        assert directory.can_bind(user.dn, user.password)
        assert_error(response, 503, 5030, "Directory unavailable")
