"""The attempt limiter against the real slapd, and shared through a real redis-server."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from passgate import cooperative
from passgate.app import create_app
from passgate.dev.tokens import DevIssuer
from passgate.errors import IncorrectOldPassword
from passgate.limiter import (
    Attempt,
    AttemptLimiter,
    AttemptStore,
    Limits,
    MemoryAttemptStore,
    RedisAttemptStore,
)
from tests.conftest import Directory, SettingsFactory, start_redis
from tests.integration.helpers import assert_error, change, user_token
from tests.servers.redis_server import RedisServer

WRONG = "Wrong-Passw0rd!"
ADMIN_ROLE = "password-admin"
NEW = "Brand-New-Passw0rd!"


def assert_limited(response: httpx.Response) -> None:
    body = assert_error(response, 429, 4029, "Too many attempts")
    assert body == {"status": False, "error": {"code": 4029, "message": "Too many attempts"}}
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 900


def admin_token(issuer: DevIssuer) -> str:
    return issuer.token("helpdesk-" + uuid.uuid4().hex, username="helpdesk", roles=[ADMIN_ROLE])


def failure_times(directory: Directory, dn: str) -> list[str]:
    return list(directory.read(dn, "pwdFailureTime").get("pwdFailureTime", []))


def test_thirty_wrong_passwords_never_lock_the_account(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    answers = [change(client, user.user_id, WRONG, NEW, token=token) for _ in range(30)]
    for response in answers[:3]:
        assert_error(response, 400, 5023, "Incorrect old password")
    for response in answers[3:]:
        assert_limited(response)
    # Only the three allowed attempts reached the directory; its limit (5) was never hit.
    assert "pwdAccountLockedTime" not in directory.read(user.dn, "pwdAccountLockedTime")
    assert len(failure_times(directory, user.dn)) == 3
    # Limited before the bind: even the right password waits for the window.
    assert_limited(change(client, user.user_id, user.password, NEW, token=token))
    assert directory.can_bind(user.dn, user.password)


def test_a_success_resets_the_users_count(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    for _ in range(2):
        assert_error(
            change(client, user.user_id, WRONG, NEW, token=token),
            400,
            5023,
            "Incorrect old password",
        )
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
    for _ in range(3):
        assert_error(
            change(client, user.user_id, WRONG, NEW, token=token),
            400,
            5023,
            "Incorrect old password",
        )
    assert_limited(change(client, user.user_id, NEW, user.password, token=token))


def test_workspace_answers_429_as_problem_details(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id, username=user.uid)

    def attempt() -> httpx.Response:
        return client.post(
            "/api/workspace/account/change-password",
            json={"CurrentPassword": WRONG, "NewPassword": NEW},
            headers={"Authorization": f"Bearer {token}"},
        )

    for _ in range(3):
        assert attempt().json()["Errors"][0]["Code"] == "IncorrectPassword"
    response = attempt()
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert int(response.headers["Retry-After"]) >= 1
    # The same person through v1 shares the count (keyed by the user id).
    assert_limited(change(client, user.user_id, WRONG, NEW, token=token))


def test_address_limit_behind_a_trusted_proxy(
    make_settings: SettingsFactory, directory: Directory, issuer: DevIssuer
) -> None:
    settings = make_settings(
        trusted_proxies="10.0.0.0/8", limiter_address_failures=2, limiter_user_failures=3
    )
    client = TestClient(create_app(settings), client=("10.0.0.5", 40000))
    users = [directory.add_user() for _ in range(4)]
    admin = admin_token(issuer)  # the address budget applies to callers that target others

    def attempt(n: int, forwarded: str) -> httpx.Response:
        u = users[n]
        return change(
            client, u.user_id, WRONG, NEW, token=admin, headers={"X-Forwarded-For": forwarded}
        )

    assert_error(attempt(0, "198.51.100.1"), 400, 5023, "Incorrect old password")
    assert_error(attempt(1, "6.6.6.6, 198.51.100.1"), 400, 5023, "Incorrect old password")
    assert_limited(attempt(2, "198.51.100.1"))
    # Another client behind the same proxy is not affected.
    assert_error(attempt(3, "198.51.100.2"), 400, 5023, "Incorrect old password")


def test_untrusted_peer_cannot_pick_its_address(
    make_settings: SettingsFactory, directory: Directory, issuer: DevIssuer
) -> None:
    settings = make_settings(trusted_proxies="10.0.0.0/8", limiter_address_failures=2)
    client = TestClient(create_app(settings), client=("203.0.113.9", 40000))
    admin = admin_token(issuer)  # the address budget applies to callers that target others
    for n in range(3):
        user = directory.add_user()
        response = change(
            client,
            user.user_id,
            WRONG,
            NEW,
            token=admin,
            headers={"X-Forwarded-For": f"198.51.100.{n}"},  # a fresh lie every time
        )
        if n < 2:
            assert_error(response, 400, 5023, "Incorrect old password")
        else:
            assert_limited(response)


@pytest.fixture
def shared_redis(redis_server: RedisServer) -> RedisServer:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server


def test_two_instances_share_the_count_through_redis(
    make_settings: SettingsFactory,
    shared_redis: RedisServer,
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    first = TestClient(create_app(make_settings(limiter_url=shared_redis.url)))
    second = TestClient(create_app(make_settings(limiter_url=shared_redis.url)))
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    for client in (first, second, first):
        assert_error(
            change(client, user.user_id, WRONG, NEW, token=token),
            400,
            5023,
            "Incorrect old password",
        )
    assert_limited(change(second, user.user_id, WRONG, NEW, token=token))
    assert_limited(change(first, user.user_id, WRONG, NEW, token=token))
    # Counted per entry, so the entry is looked up first (a lookup is not a guess): an
    # instance whose directory does not exist answers 503, and counts nothing.
    blind = TestClient(
        create_app(
            make_settings(limiter_url=shared_redis.url, ldap_connection_url="ldap://127.0.0.1:1")
        )
    )
    assert_error(
        change(blind, user.user_id, WRONG, NEW, token=token), 503, 5030, "Directory unavailable"
    )
    assert_limited(change(first, user.user_id, WRONG, NEW, token=token))
    assert len(failure_times(directory, user.dn)) == 3


def test_concurrent_reservations_on_redis_never_exceed_the_limit(
    shared_redis: RedisServer,
) -> None:
    stores = [RedisAttemptStore(shared_redis.url) for _ in range(4)]  # four "instances"
    granted: list[int] = []
    start = threading.Barrier(40)

    def reserve(n: int) -> None:
        start.wait()
        if stores[n % 4].reserve("user:race", 3, 60, f"t{n}") is None:
            granted.append(n)

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3
    stores[0].release("user:race", f"t{granted[0]}")
    assert stores[1].reserve("user:race", 3, 60, "again") is None
    assert stores[2].reserve("user:race", 3, 60, "more") is not None
    for store in stores:
        store.close()


def test_redis_down_means_no_bind_until_it_is_back(
    make_settings: SettingsFactory,
    directory: Directory,
    issuer: DevIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """503 with Retry-After, never a 500 and never a bind: counted per process meanwhile,
    several instances could together lock the account (see test_lockout_guard)."""
    own = start_redis()
    client = TestClient(create_app(make_settings(limiter_url=own.url)))
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    caplog.set_level(logging.WARNING)
    try:
        assert_error(
            change(client, user.user_id, WRONG, NEW, token=token),
            400,
            5023,
            "Incorrect old password",
        )
    finally:
        own.stop()
    answers = [change(client, user.user_id, WRONG, NEW, token=token) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 503]
    assert [r.headers["retry-after"] for r in answers] == ["5", "5", "5"]
    assert "limiter storage unreachable" in caplog.text
    failures = directory.read(user.dn, "pwdFailureTime").get("pwdFailureTime", [])
    assert len(failures) == 1  # only the bind made while Redis answered
    assert "pwdAccountLockedTime" not in directory.read(user.dn, "pwdAccountLockedTime")


def test_limits_are_settings(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(limiter_user_failures=1, limiter_window=5)
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    assert_error(
        change(client, user.user_id, WRONG, NEW, token=token), 400, 5023, "Incorrect old password"
    )
    response = change(client, user.user_id, WRONG, NEW, token=token)
    assert_limited(response)
    assert int(response.headers["Retry-After"]) <= 5


def test_in_flight_slots_and_settled_failures_on_redis(shared_redis: RedisServer) -> None:
    first, second = (RedisAttemptStore(shared_redis.url) for _ in range(2))  # two "instances"
    assert first.acquire_slot("entry:uid=a", "one", 0.3)
    assert not second.acquire_slot("entry:uid=a", "two", 0.3)
    second.release_slot("entry:uid=a", "two")  # not its slot: nothing happens
    assert not second.acquire_slot("entry:uid=a", "two", 0.3)
    first.release_slot("entry:uid=a", "one")
    assert second.acquire_slot("entry:uid=a", "two", 0.3)
    time.sleep(0.4)  # its holder vanished: the slot expires
    assert first.acquire_slot("entry:uid=a", "three", 0.3)

    assert first.failures_wait("addr:192.0.2.1", 2, 60) is None
    first.add("addr:192.0.2.1", 60, "f1")
    second.add("addr:192.0.2.1", 60, "f2")
    wait = second.failures_wait("addr:192.0.2.1", 2, 60)
    assert wait is not None
    assert 59 <= wait <= 60
    assert first.failures_wait("addr:192.0.2.1", 3, 60) is None
    for store in (first, second):
        store.close()


def test_concurrent_guesses_on_two_instances_are_one_at_a_time(
    make_settings: SettingsFactory,
    shared_redis: RedisServer,
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    apps = [create_app(make_settings(limiter_url=shared_redis.url)) for _ in range(2)]
    user = directory.add_user()
    fail_elsewhere = 2  # a Keycloak login or two: the guard must see them, whoever races
    for _ in range(fail_elsewhere):
        assert not directory.can_bind(user.dn, WRONG)
    token = user_token(issuer, user.user_id)

    async def send_all() -> list[int]:
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://passgate")
            for app in apps
        ]
        try:
            answers = await asyncio.gather(
                *(
                    clients[n % 2].post(
                        f"/v1/users/{user.user_id}/change-password",
                        json={"oldPassword": WRONG, "newPassword": NEW},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    for n in range(10)
                )
            )
        finally:
            for client in clients:
                await client.aclose()
        return sorted(r.status_code for r in answers)

    try:
        assert asyncio.run(send_all()) == [400, 400] + [429] * 8
    finally:
        for app in apps:
            app.state.components.threads.shutdown()
            app.state.components.service.directory.close()
    assert len(failure_times(directory, user.dn)) == 4  # one short of pwdMaxFailure
    assert "pwdAccountLockedTime" not in directory.read(user.dn, "pwdAccountLockedTime")


def attempt_on(entry: str, address: str | None = "addr:192.0.2.7", **limits: float) -> Attempt:
    values: dict[str, float] = {
        "user_limit": 2,
        "address_limit": 2,
        "window": 60.0,
        "slot_ttl": 30.0,
    }
    values.update(limits)
    return Attempt(
        entry=entry,
        token=uuid.uuid4().hex,
        address=address,
        user_limit=int(values["user_limit"]),
        address_limit=int(values["address_limit"]),
        window=values["window"],
        slot_ttl=values["slot_ttl"],
    )


def stores_to_compare(redis_url: str) -> list[AttemptStore]:
    return [MemoryAttemptStore(), RedisAttemptStore(redis_url)]


def test_begin_and_settle_mean_the_same_in_memory_and_on_redis(
    shared_redis: RedisServer,
) -> None:
    """The one-round-trip scripts do what the steps do, refusal by refusal."""
    for store in stores_to_compare(shared_redis.url):
        first = attempt_on("entry:uid=a")
        assert store.begin(first) is None
        second = attempt_on("entry:uid=a")
        assert store.begin(second) == ("busy", 0.0)  # one at a time
        store.settle(first, "failure")  # the place stays, one failure for the address
        assert store.begin(second) is None
        store.settle(second, "failure")
        refused = store.begin(attempt_on("entry:uid=a", address=None))
        assert refused is not None
        scope, wait = refused
        assert scope == "user"  # two failures in the entry's budget of two
        assert 59 <= wait <= 60
        assert store.acquire_slot("entry:uid=a", "probe", 1)  # a refusal takes no slot
        store.release_slot("entry:uid=a", "probe")
        refused = store.begin(attempt_on("entry:uid=b"))
        assert refused is not None
        assert refused[0] == "address"  # the address's two settled failures
        assert store.acquire_slot("entry:uid=b", "probe", 1)
        store.release_slot("entry:uid=b", "probe")

        third = attempt_on("entry:uid=c", address=None)
        assert store.begin(third) is None
        store.settle(third, "other")  # directory down: the place is given back
        fourth = attempt_on("entry:uid=c", address=None, user_limit=1)
        assert store.begin(fourth) is None  # the budget of one is free again
        store.settle(fourth, "failure")
        assert store.begin(attempt_on("entry:uid=c", address=None, user_limit=1)) is not None
        verified = attempt_on("entry:uid=c", address=None, user_limit=2)
        assert store.begin(verified) is None
        store.settle(verified, "verified")  # the right old password clears the count
        assert store.begin(attempt_on("entry:uid=c", address=None, user_limit=1)) is None

        uncounted = attempt_on("entry:uid=d", address=None, user_limit=0)
        assert store.begin(uncounted) is None
        store.settle(uncounted, "failure")
        assert store.begin(attempt_on("entry:uid=d", address=None, user_limit=0)) is None


def test_an_attempt_is_two_round_trips_to_redis(
    shared_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Begin and settle, each one script, whatever the outcome (it was five calls)."""
    store = RedisAttemptStore(shared_redis.url)
    limiter = AttemptLimiter(store, Limits(user_failures=3, address_failures=20))
    calls: list[str] = []
    client = store._redis.client
    real = client.execute_command

    def counted(*args: object, **options: object) -> object:
        calls.append(str(args[0]))
        return real(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    with limiter.attempt("uid=a,dc=example,dc=org", "192.0.2.9"):
        pass
    assert len(calls) == 2, calls
    calls.clear()
    with (
        pytest.raises(IncorrectOldPassword),
        limiter.attempt("uid=a,dc=example,dc=org", "192.0.2.9"),
    ):
        raise IncorrectOldPassword("wrong")
    assert len(calls) == 2, calls
    store.close()


def test_on_the_event_loop_an_attempt_talks_to_redis_with_the_asyncio_client(
    shared_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside passgate.cooperative.run (a change), no blocking call and no thread: the
    round trips are awaited on the loop, and they count as the blocking ones do."""
    store = RedisAttemptStore(shared_redis.url)
    limiter = AttemptLimiter(store, Limits(user_failures=3, address_failures=20))
    blocking: list[object] = []
    monkeypatch.setattr(
        store._redis.client, "execute_command", lambda *a, **k: blocking.append(a[0])
    )
    entry = f"uid={uuid.uuid4().hex},dc=example,dc=org"

    def fail_once() -> None:
        with pytest.raises(IncorrectOldPassword), limiter.attempt(entry, "192.0.2.10"):
            raise IncorrectOldPassword("wrong")

    asyncio.run(cooperative.run(fail_once))
    assert blocking == []
    monkeypatch.undo()
    assert store._redis.client.zcard(RedisAttemptStore.PREFIX + "entry:" + entry) == 1
    assert not store._redis.client.exists(RedisAttemptStore.SLOT_PREFIX + "entry:" + entry)
    store.close()
