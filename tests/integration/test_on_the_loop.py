"""A change waits for the directory on the event loop without holding it (passgate.cooperative)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory, start_slapd
from tests.integration.helpers import user_token
from tests.integration.test_lockout_guard import (  # make_app: a fixture
    admin_token,
    concurrently,
    make_app,  # noqa: F401
    v1_request,
)
from tests.slowproxy import SlowProxy

NEW = "Loop-New-Passw0rd!"


def test_other_requests_are_answered_while_a_change_waits_for_the_directory(
    make_app: Callable[..., FastAPI],  # noqa: F811
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    first, user = directory.add_user(), directory.add_user()
    token = user_token(issuer, user.user_id)
    proxy = SlowProxy(directory.server.port, delay=0.3)  # every LDAP request held 0.3 s
    finished: list[str] = []
    try:
        app = make_app(ldap_connection_url=proxy.url)

        async def main() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://passgate") as client:
                # Connections opened and the directory discovered (those go to a thread).
                warm = await client.post(
                    f"/v1/users/{first.user_id}/change-password",
                    json={"oldPassword": first.password, "newPassword": NEW},
                    headers={"Authorization": f"Bearer {user_token(issuer, first.user_id)}"},
                )
                assert warm.status_code == 200, warm.text

                async def changing() -> int:
                    response = await client.post(
                        f"/v1/users/{user.user_id}/change-password",
                        json={"oldPassword": user.password, "newPassword": NEW},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    finished.append("change")
                    return response.status_code

                async def health() -> int:
                    await asyncio.sleep(0.1)  # the change is waiting for its first answer
                    response = await client.get("/healthz")
                    finished.append("health")
                    return response.status_code

                return list(await asyncio.gather(changing(), health()))

        assert asyncio.run(main()) == [200, 200]
    finally:
        proxy.close()
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
        finished: list[str] = []

        async def main() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://passgate") as client:
                warm = await client.post(  # pooled connections, from now on only waits
                    f"/v1/users/{first.user_id}/change-password",
                    json={"oldPassword": first.password, "newPassword": NEW},
                    headers={"Authorization": f"Bearer {user_token(issuer, first.user_id)}"},
                )
                assert warm.status_code == 200, warm.text
                server.pause()  # SIGSTOP: nothing answers

                async def changing() -> int:
                    response = await client.post(
                        f"/v1/users/{user.user_id}/change-password",
                        json={"oldPassword": user.password, "newPassword": NEW},
                        headers={"Authorization": f"Bearer {user_token(issuer, user.user_id)}"},
                    )
                    finished.append("change")
                    return response.status_code

                async def health() -> int:
                    await asyncio.sleep(0.2)
                    response = await client.get("/healthz")
                    finished.append("health")
                    return response.status_code

                try:
                    return list(await asyncio.gather(changing(), health()))
                finally:
                    server.resume()

        assert asyncio.run(main()) == [503, 200]
    finally:
        server.stop()
    assert finished == ["health", "change"]
    assert "timed out" in all_logs.text  # the wait's own words, as a socket's timeout says
    for secret in (first.password, user.password, NEW):
        assert secret not in all_logs.text
