"""A change waits for the directory on the event loop without holding it (passgate.cooperative)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory, start_slapd
from tests.integration.helpers import user_token
from tests.integration.test_lockout_guard import (  # make_app: a fixture
    admin_token,
    concurrently,
    make_app,  # noqa: F401
    v1_request,
)
from tests.integration.test_tls import pki, tls_slapd  # noqa: F401  # fixtures
from tests.slowproxy import SlowProxy
from tests.splitproxy import SplitProxy

NEW = "Loop-New-Passw0rd!"


def change_beside_health(
    app: FastAPI,
    issuer: DevIssuer,
    first: seed.User,
    user: seed.User,
    before: Callable[[], None] = lambda: None,
) -> tuple[list[int], list[str]]:
    """A first change (connections opened, discovery done: those go to a thread), then
    ``before()``, then a second change and, a moment later, /healthz, together.

    The two answers' statuses (change, health), and the order they finished in.
    """
    finished: list[str] = []

    async def post(client: httpx.AsyncClient, whom: seed.User) -> httpx.Response:
        return await client.post(
            f"/v1/users/{whom.user_id}/change-password",
            json={"oldPassword": whom.password, "newPassword": NEW},
            headers={"Authorization": f"Bearer {user_token(issuer, whom.user_id)}"},
        )

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://passgate") as client:
            warm = await post(client, first)
            assert warm.status_code == 200, warm.text
            before()

            async def changing() -> int:
                response = await post(client, user)
                finished.append("change")
                return response.status_code

            async def health() -> int:
                await asyncio.sleep(0.1)  # the change is waiting for an answer
                response = await client.get("/healthz")
                finished.append("health")
                return response.status_code

            return list(await asyncio.gather(changing(), health()))

    return asyncio.run(main()), finished


def test_other_requests_are_answered_while_a_change_waits_for_the_directory(
    make_app: Callable[..., FastAPI],  # noqa: F811
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    first, user = directory.add_user(), directory.add_user()
    proxy = SlowProxy(directory.server.port, delay=0.3)  # every LDAP request held 0.3 s
    try:
        app = make_app(ldap_connection_url=proxy.url)
        statuses, finished = change_beside_health(app, issuer, first, user)
    finally:
        proxy.close()
    assert statuses == [200, 200]
    assert finished == ["health", "change"]
    assert directory.can_bind(user.dn, NEW)


def test_no_more_changes_reach_the_directory_at_once_than_the_setting_allows(
    make_app: Callable[..., FastAPI],  # noqa: F811
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    users = [directory.add_user() for _ in range(6)]
    admin = admin_token(issuer)
    proxy = SlowProxy(directory.server.port, delay=0.05)  # so that the six overlap
    try:
        app = make_app(ldap_connection_url=proxy.url, ldap_max_concurrency=2)
        answers = concurrently(app, [v1_request(u.user_id, admin, u.password, NEW) for u in users])
    finally:
        proxy.close()
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    # Two at a time: never more than two user connections were needed.
    assert app.state.components.service.directory.user_pool.created == 2


def test_a_silent_directory_holds_its_change_not_the_loop_and_no_password_is_logged(
    make_app: Callable[..., FastAPI],  # noqa: F811
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    server = start_slapd()
    try:
        own = Directory(server)
        first, user = own.add_user(), own.add_user()
        app = make_app(ldap_connection_url=server.url, ldap_operation_timeout=1)
        try:
            statuses, finished = change_beside_health(app, issuer, first, user, server.pause)
        finally:
            server.resume()
    finally:
        server.stop()
    assert statuses == [503, 200]
    assert finished == ["health", "change"]
    assert "timed out" in all_logs.text  # the wait's own words, as a socket's timeout says
    for secret in (first.password, user.password, NEW):
        assert secret not in all_logs.text


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_a_tls_record_split_across_packets_is_awaited_on_the_loop(
    make_app: Callable[..., FastAPI],  # noqa: F811
    tls_slapd: Slapd,  # noqa: F811
    pki: dict[str, Path],  # noqa: F811
    issuer: DevIssuer,
    mode: str,
) -> None:
    """Part of a TLS record is no answer: the rest is waited for as the loop's, not by the
    socket's blocking read (which held every other request until it came)."""
    own = Directory(tls_slapd)
    first, user = own.add_user(), own.add_user()
    proxy = SplitProxy(tls_slapd.tls_port if mode == "ldaps" else tls_slapd.port, hold=5.0)
    app = make_app(
        ldap_connection_url=f"{'ldaps' if mode == 'ldaps' else 'ldap'}://127.0.0.1:{proxy.port}",
        ldap_start_tls=mode == "starttls",
        ldap_ca_file=pki["ca"],
        ldap_tls_server_name="localhost",
    )

    async def post(client: httpx.AsyncClient, whom: seed.User) -> int:
        response = await client.post(
            f"/v1/users/{whom.user_id}/change-password",
            json={"oldPassword": whom.password, "newPassword": NEW},
            headers={"Authorization": f"Bearer {user_token(issuer, whom.user_id)}"},
        )
        return response.status_code

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://passgate") as client:
            assert await post(client, first) == 200  # connections open, TLS set up
            proxy.armed.set()

            async def health() -> int:
                while not proxy.holding.is_set():  # an answer's first bytes are out
                    await asyncio.sleep(0.01)
                status = (await client.get("/healthz")).status_code
                proxy.release()
                return status

            return list(await asyncio.gather(post(client, user), health()))

    try:
        statuses = asyncio.run(main())
    finally:
        proxy.close()
    # Before, the read of the record held the loop until the operation timed out: 503,
    # and /healthz answered only then.
    assert statuses == [200, 200]
    assert proxy.released_in_time is True  # /healthz was answered while the record waited
    assert own.can_bind(user.dn, NEW)
