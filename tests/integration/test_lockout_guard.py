"""No lockout through passgate: one budget per entry, the last-straw guard, concurrency.

Against the suite's real slapd, whose default policy locks an account after
``pwdMaxFailure: 5`` failures within ``pwdFailureCountInterval: 900``.
Concurrent requests go through ``httpx.AsyncClient`` on the app itself, so
they really are in flight together (the LDAP work runs in the app's threads).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.config import Settings
from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory, SettingsFactory
from tests.integration.helpers import assert_error, change, user_token
from tests.slowproxy import SlowProxy

WRONG = "Wrong-Passw0rd!"
NEW = "Brand-New-Passw0rd!"
WORKSPACE = "/api/workspace/account/change-password"
ADMIN_ROLE = "password-admin"


def failure_times(directory: Directory, dn: str) -> list[str]:
    return list(directory.read(dn, "pwdFailureTime").get("pwdFailureTime", []))


def assert_not_locked(directory: Directory, user: seed.User, password: str | None = None) -> None:
    assert "pwdAccountLockedTime" not in directory.read(user.dn, "pwdAccountLockedTime")
    assert directory.can_bind(user.dn, password or user.password)


def fail_directly(directory: Directory, user: seed.User, times: int) -> None:
    """Failures made elsewhere (another application, a Keycloak login): binds with a wrong password."""
    for _ in range(times):
        assert not directory.can_bind(user.dn, WRONG)
    assert len(failure_times(directory, user.dn)) == times


def name_only_token(issuer: DevIssuer, user: seed.User) -> str:
    """Keycloak's default: ``sub`` is a UUID, so the user is found by username only."""
    return issuer.token(str(uuid.uuid4()), username=user.uid)


def admin_token(issuer: DevIssuer) -> str:
    return issuer.token(str(uuid.uuid4()), username="helpdesk", roles=[ADMIN_ROLE])


def workspace(client: TestClient, token: str, old: str, new: str = NEW) -> httpx.Response:
    return client.post(
        WORKSPACE,
        json={"CurrentPassword": old, "NewPassword": new},
        headers={"Authorization": f"Bearer {token}"},
    )


def assert_429(response: httpx.Response) -> None:
    """429 / 4029 in either family's shape, always with a Retry-After."""
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    if response.headers["content-type"] == "application/problem+json":
        assert response.json()["status"] == 429
    else:
        assert response.json()["error"] == {"code": 4029, "message": "Too many attempts"}


def incorrect(response: httpx.Response) -> bool:
    """5023 (v1) or IncorrectPassword (workspace)."""
    if response.status_code != 400:
        return False
    body = response.json()
    if "error" in body:
        return bool(body["error"]["code"] == 5023)
    return bool(body["Errors"][0]["Code"] == "IncorrectPassword")


# -- requests in flight together -------------------------------------------------------


Request = tuple[str, str, dict[str, Any]]  # path, bearer token, JSON body


def v1_request(user_id: str, token: str, old: str, new: str = NEW) -> Request:
    return (
        f"/v1/users/{user_id}/change-password",
        token,
        {"oldPassword": old, "newPassword": new},
    )


def workspace_request(token: str, old: str, new: str = NEW) -> Request:
    return WORKSPACE, token, {"CurrentPassword": old, "NewPassword": new}


def concurrently(
    app: FastAPI, requests: list[Request], address: str = "198.51.100.7"
) -> list[httpx.Response]:
    """Send every request at once from one client address; the answers in order."""

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://passgate") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
                        for path, token, body in requests
                    )
                )
            )

    return asyncio.run(send_all())


@pytest.fixture
def make_app(make_settings: SettingsFactory) -> Iterator[Callable[..., FastAPI]]:
    apps: list[FastAPI] = []

    def build(**overrides: Any) -> FastAPI:
        settings: Settings = make_settings(**overrides)
        app = create_app(settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.state.components.threads.shutdown()
        app.state.components.service.directory.close()


# -- finding 1: one entry, one budget ---------------------------------------------------


def test_v1_and_workspace_share_one_budget_per_entry(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)  # pwdMaxFailure 5
    for _ in range(3):
        response = change(client, user.user_id, WRONG, NEW, token=user_token(issuer, user.user_id))
        assert_error(response, 400, 5023, "Incorrect old password")
    # The same person by username only (a token whose sub is not a 24-hex id).
    for _ in range(2):
        assert_429(workspace(client, name_only_token(issuer, user), WRONG))
    assert len(failure_times(directory, user.dn)) == 3
    assert_not_locked(directory, user)


def test_an_admin_naming_the_entry_shares_its_budget(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    for _ in range(3):
        assert incorrect(workspace(client, name_only_token(issuer, user), WRONG))
    assert_429(change(client, user.user_id, WRONG, NEW, token=admin_token(issuer)))
    assert len(failure_times(directory, user.dn)) == 3


# -- finding 2: the last straw ------------------------------------------------------------


def test_four_failures_made_elsewhere_stop_every_request(
    client: TestClient,
    make_app: Callable[..., FastAPI],
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)
    fail_directly(directory, user, 4)  # one more locks it
    own = user_token(issuer, user.user_id, username=user.uid)
    by_name = name_only_token(issuer, user)
    admin = admin_token(issuer)
    for old in (WRONG, user.password):  # passgate cannot tell which it is without a bind
        assert_429(change(client, user.user_id, old, NEW, token=own))
        assert_429(change(client, user.user_id, old, NEW, token=admin))
        assert_429(workspace(client, own, old))
        assert_429(workspace(client, by_name, old))
    app = make_app()
    requests = [
        v1_request(user.user_id, own, WRONG),
        v1_request(user.user_id, admin, WRONG),
        workspace_request(own, WRONG),
        workspace_request(by_name, WRONG),
    ] * 3
    for response in concurrently(app, requests):
        assert_429(response)
    assert len(failure_times(directory, user.dn)) == 4
    assert_not_locked(directory, user)


def test_a_short_window_does_not_let_failures_through(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(limiter_window=1)
    user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)
    token = user_token(issuer, user.user_id)
    for _ in range(3):
        assert_error(
            change(client, user.user_id, WRONG, NEW, token=token),
            400,
            5023,
            "Incorrect old password",
        )
    time.sleep(1.2)  # passgate's window has forgotten them; the directory has not
    answers = [change(client, user.user_id, WRONG, NEW, token=token) for _ in range(3)]
    assert incorrect(answers[0])  # the 4th failure: one more would lock
    for response in answers[1:]:
        assert_429(response)
    assert len(failure_times(directory, user.dn)) == 4
    assert_not_locked(directory, user)


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_wrong_guesses_reach_the_directory_at_most_as_allowed(
    make_app: Callable[..., FastAPI], directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)
    own = user_token(issuer, user.user_id, username=user.uid)
    by_name = name_only_token(issuer, user)
    requests = [v1_request(user.user_id, own, WRONG), workspace_request(by_name, WRONG)] * 5
    answers = concurrently(make_app(), requests)
    assert sum(incorrect(r) for r in answers) == 3  # the per-entry budget
    for response in answers:
        assert incorrect(response) or response.status_code == 429, response.text
    assert len(failure_times(directory, user.dn)) == 3
    assert_not_locked(directory, user)


def test_concurrent_guesses_cannot_race_the_last_straw(
    make_app: Callable[..., FastAPI], directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)
    fail_directly(directory, user, 2)
    own = user_token(issuer, user.user_id, username=user.uid)
    admin = admin_token(issuer)
    requests = [
        v1_request(user.user_id, own, WRONG),
        v1_request(user.user_id, admin, WRONG),
        workspace_request(name_only_token(issuer, user), WRONG),
    ] * 4
    answers = concurrently(make_app(), requests)
    # 2 made elsewhere + 2 through passgate = 4: the guard refuses the 5th, whoever races.
    assert sum(incorrect(r) for r in answers) == 2
    assert len(failure_times(directory, user.dn)) == 4
    assert_not_locked(directory, user)


# -- finding 4 and address budgets -----------------------------------------------------------


def test_thirty_two_concurrent_correct_changes_from_one_address(
    make_app: Callable[..., FastAPI], directory: Directory, issuer: DevIssuer
) -> None:
    users = [directory.add_user() for _ in range(32)]
    admin = admin_token(issuer)  # a portal backend: the address budget (20) applies to it
    # A directory 50 ms away, so that the 32 changes are certainly in flight together.
    proxy = SlowProxy(directory.server.port, delay=0.05)
    try:
        app = make_app(ldap_connection_url=proxy.url)
        answers = concurrently(app, [v1_request(u.user_id, admin, u.password) for u in users])
    finally:
        proxy.close()
    assert [r.status_code for r in answers] == [200] * 32, [
        r.text for r in answers if r.status_code != 200
    ]
    for user in users:
        assert directory.can_bind(user.dn, NEW)


def test_own_typos_do_not_exhaust_the_address_budget_of_others(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(limiter_address_failures=2)  # every request from one address
    typist, neighbour, other = (directory.add_user() for _ in range(3))
    for _ in range(3):
        response = change(
            client, typist.user_id, WRONG, NEW, token=user_token(issuer, typist.user_id)
        )
        assert_error(response, 400, 5023, "Incorrect old password")
    assert incorrect(workspace(client, name_only_token(issuer, neighbour), WRONG))
    response = change(
        client, other.user_id, other.password, NEW, token=user_token(issuer, other.user_id)
    )
    assert response.status_code == 200, response.text
    # The helpdesk behind the same address still has its whole budget.
    admin = admin_token(issuer)
    target = directory.add_user()
    for _ in range(2):
        assert_error(
            change(client, target.user_id, WRONG, NEW, token=admin),
            400,
            5023,
            "Incorrect old password",
        )
    assert_429(change(client, directory.add_user().user_id, WRONG, NEW, token=admin))


# -- the new refusals log no password ---------------------------------------------------------


def test_the_guard_and_the_busy_slot_log_no_password(
    make_app: Callable[..., FastAPI],
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    secret_old, secret_new, secret_wrong = "Gu4rd-Old-Secret!", "Gu4rd-New-Secret!", "Gu4rd-Wr0ng!"
    guarded = directory.add_user(password=secret_old)
    for _ in range(4):
        assert not directory.can_bind(guarded.dn, secret_wrong)
    busy = directory.add_user(password=secret_old)
    proxy = SlowProxy(directory.server.port, delay=0.05)  # so that attempts overlap
    try:
        app = make_app(ldap_connection_url=proxy.url, limiter_busy_wait=0)
        token = user_token(issuer, busy.user_id, username=busy.uid)
        answers = concurrently(
            app,
            [v1_request(busy.user_id, token, secret_wrong, secret_new)] * 4
            + [v1_request(guarded.user_id, admin_token(issuer), secret_old, secret_new)],
        )
    finally:
        proxy.close()
    assert 429 in [r.status_code for r in answers[:4]]  # busy: one attempt at a time
    assert_429(answers[4])  # the last straw
    assert "in flight" in all_logs.text
    assert "one more could lock it" in all_logs.text
    for secret in (secret_old, secret_new, secret_wrong):
        assert secret not in all_logs.text


def test_with_redis_gone_two_instances_bind_nothing_rather_than_lock(
    make_app: Callable[..., FastAPI],
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    """Counting per instance while Redis was down let both instances pass the last-straw
    guard at once: five failures and pwdAccountLockedTime set (ext=1, four 5023s)."""
    from tests.servers.redis_server import RedisServer

    redis = RedisServer().start()
    proxy = SlowProxy(directory.server.port, delay=0.05)  # so that attempts overlap
    try:
        user = directory.add_user(policy_dn=seed.DEFAULT_POLICY_DN)  # pwdMaxFailure 5
        assert not directory.can_bind(user.dn, WRONG)  # one failure made elsewhere
        apps = [make_app(limiter_url=redis.url, ldap_connection_url=proxy.url) for _ in "ab"]
        redis.stop()
        own = user_token(issuer, user.user_id, username=user.uid)
        wrong = [
            v1_request(user.user_id, own, WRONG),
            workspace_request(name_only_token(issuer, user), WRONG),
            v1_request(user.user_id, admin_token(issuer), WRONG),
        ] * 2

        async def both() -> list[httpx.Response]:
            clients = [
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p")
                for app in apps
            ]
            try:
                return list(
                    await asyncio.gather(
                        *(
                            client.post(path, json=body, headers={"Authorization": f"Bearer {t}"})
                            for client in clients
                            for path, t, body in wrong
                        )
                    )
                )
            finally:
                for client in clients:
                    await client.aclose()

        answers = asyncio.run(both())
    finally:
        proxy.close()
        redis.stop()
    assert {r.status_code for r in answers} == {503}
    assert {r.headers["retry-after"] for r in answers} == {"5"}
    assert len(failure_times(directory, user.dn)) == 1  # passgate bound nothing
    assert "pwdAccountLockedTime" not in directory.read(user.dn, "pwdAccountLockedTime")
    assert directory.can_bind(user.dn, user.password)
    assert "limiter storage unreachable" in all_logs.text
    assert WRONG not in all_logs.text
