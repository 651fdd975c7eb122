"""The attempt limiter's rules, on the in-memory store and a fake clock."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from typing import Any

import pytest
from starlette.requests import Request

from passgate.api.client_address import client_address
from passgate.config import parse_networks
from passgate.directory.dn import dn_key
from passgate.errors import (
    DirectoryUnavailable,
    IncorrectOldPassword,
    LimiterUnavailable,
    PasswordPolicyRejected,
    PolicyReason,
    TooManyAttempts,
    UserNotFound,
)
from passgate.limiter import (
    Attempt,
    AttemptLimiter,
    Limits,
    MemoryAttemptStore,
    SharedAttemptStore,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(user: int = 3, address: int = 20, window: float = 900) -> tuple[AttemptLimiter, Clock]:
    clock = Clock()
    return AttemptLimiter(MemoryAttemptStore(clock), Limits(user, address, window)), clock


def fail(lim: AttemptLimiter, user: str = "u", address: str | None = "192.0.2.1") -> None:
    with pytest.raises(IncorrectOldPassword), lim.attempt(user, address):
        raise IncorrectOldPassword("wrong")


def test_failures_up_to_the_limit_then_429_with_retry_after() -> None:
    lim, clock = limiter(user=3)
    for _ in range(3):
        fail(lim)
        clock.now += 10
    with pytest.raises(TooManyAttempts) as caught, lim.attempt("u", "192.0.2.1"):
        pytest.fail("the block must not run once the limit is reached")
    # The first failure (at t=1000) leaves the 900 s window at t=1900; now is 1030.
    assert caught.value.retry_after == 870
    assert lim.trips == 1


def test_the_window_slides() -> None:
    lim, clock = limiter(user=2, window=100)
    fail(lim)
    clock.now += 60
    fail(lim)
    clock.now += 41  # the first failure has left the window, the second has not
    fail(lim)
    with pytest.raises(TooManyAttempts) as caught, lim.attempt("u", None):
        pass
    assert caught.value.retry_after == 59  # the second (t=1060) leaves at 1160; now is 1101


def test_success_clears_the_users_count() -> None:
    lim, _ = limiter(user=3)
    fail(lim)
    fail(lim)
    with lim.attempt("u", "192.0.2.1"):
        pass
    for _ in range(3):
        fail(lim)
    with pytest.raises(TooManyAttempts), lim.attempt("u", None):
        pass


def test_a_policy_refusal_proves_the_old_password_and_clears_too() -> None:
    lim, _ = limiter(user=2)
    fail(lim)
    with pytest.raises(PasswordPolicyRejected), lim.attempt("u", None):
        raise PasswordPolicyRejected(PolicyReason.TOO_SHORT)
    fail(lim)
    fail(lim)  # would be the third within the window without the clear


@pytest.mark.parametrize("error", [UserNotFound("x"), DirectoryUnavailable("x"), RuntimeError()])
def test_other_outcomes_give_the_slot_back(error: Exception) -> None:
    lim, _ = limiter(user=1, address=1)
    for _ in range(5):
        with pytest.raises(type(error)), lim.attempt("u", "192.0.2.1"):
            raise error
    fail(lim)  # still the first counted failure


def test_other_users_are_not_affected() -> None:
    lim, _ = limiter(user=1)
    fail(lim, "a")
    fail(lim, "b")
    with pytest.raises(TooManyAttempts), lim.attempt("a", None):
        pass


def test_the_address_limit_spans_users_and_gives_back_the_user_slot() -> None:
    lim, _ = limiter(user=3, address=2)
    fail(lim, "a", "198.51.100.9")
    fail(lim, "b", "198.51.100.9")
    with pytest.raises(TooManyAttempts), lim.attempt("c", "198.51.100.9"):
        pass
    # c's reservation was returned when the address refused: c has 3 from elsewhere.
    for n in range(3):
        fail(lim, "c", f"203.0.113.{n}")


def test_zero_disables_a_limit() -> None:
    lim, _ = limiter(user=0, address=0)
    for _ in range(50):
        fail(lim)


def test_concurrent_attempts_never_exceed_the_limit() -> None:
    lim, _ = limiter(user=3)
    ran = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def attempt() -> None:
        start.wait()
        try:
            with lim.attempt("u", None):
                with lock:
                    ran.append(1)
                raise IncorrectOldPassword("wrong")
        except (IncorrectOldPassword, TooManyAttempts):
            pass

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ran) == 3


def test_memory_store_forgets_idle_keys() -> None:
    clock = Clock()
    store = MemoryAttemptStore(clock)
    for i in range(2000):
        store.reserve(f"k{i}", 3, 10, "t")
    clock.now += 11
    for i in range(2000):
        store.reserve("fresh", 10_000, 10, f"t{i}")
    assert len(store) < 1000


class Broken:
    """A shared store that is down, then back."""

    def __init__(self) -> None:
        self.down = True
        self.inner = MemoryAttemptStore()

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            if self.down:
                raise ConnectionError("redis down")
            return getattr(self.inner, name)(*args)

        return call


def test_no_attempt_begins_while_the_shared_store_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Counting per process meanwhile let two instances bind past the last straw at once."""
    clock = Clock()
    shared = Broken()
    store = SharedAttemptStore(shared, clock)
    lim = AttemptLimiter(store, Limits(2, 0, 900))
    caplog.set_level(logging.WARNING)
    ran: list[str] = []
    for _ in range(3):
        with pytest.raises(LimiterUnavailable), lim.attempt("u", None):
            ran.append("bound")  # never: no bind without the shared store
    assert ran == []
    assert LimiterUnavailable.retry_after == 5
    with pytest.raises(LimiterUnavailable):
        store.failures_wait("addr:x", 1, 900)
    assert [r.getMessage() for r in caplog.records].count(
        "limiter storage unreachable (ConnectionError): no attempt begins until it is "
        "reachable again (answered 503)"
    ) == 1
    # What records an attempt already made is best effort, never an error.
    store.settle(Attempt("entry:u", "t", None, 2, 0, 900, 60), "failure")
    shared.down = False
    clock.now += SharedAttemptStore.RETRY_AFTER_FAILURE
    fail(lim, "v")
    assert store.degraded is False
    assert "limiter storage reachable again" in caplog.text


def request(peer: str, forwarded: list[str] | None = None) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    return Request({"type": "http", "headers": headers, "client": (peer, 1234)})


TRUSTED = parse_networks("10.0.0.0/8, 192.0.2.7")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", ["1.2.3.4"], "203.0.113.5"),  # untrusted peer: header ignored
        ("10.1.1.1", ["198.51.100.1"], "198.51.100.1"),
        ("10.1.1.1", ["6.6.6.6, 198.51.100.1, 10.2.2.2"], "198.51.100.1"),  # spoofed left part
        ("192.0.2.7", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers
        ("10.1.1.1", [], "10.1.1.1"),
        ("10.1.1.1", ["garbage, 10.3.3.3"], "10.3.3.3"),
        ("10.1.1.1", ["2001:db8::1"], "2001:db8::1"),
        ("testclient", ["1.2.3.4"], "testclient"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    assert client_address(request(peer, forwarded), TRUSTED) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address(request("10.1.1.1", ["1.2.3.4"]), []) == "10.1.1.1"


def test_bad_trusted_proxy_entry_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300' is not an IP address or network")):
        parse_networks("10.0.0.1, 10.0.0.300")


# -- one budget per directory entry ------------------------------------------------------


# -- the address budget counts settled failures only -------------------------------------


def test_attempts_in_flight_do_not_count_against_the_address() -> None:
    lim, _ = limiter(user=3, address=2)
    with contextlib.ExitStack() as flying:
        for n in range(10):  # ten changes for ten entries in flight together
            flying.enter_context(lim.attempt(f"uid=u{n}", "192.0.2.1"))
    fail(lim, "uid=a", "192.0.2.1")
    fail(lim, "uid=b", "192.0.2.1")
    with pytest.raises(TooManyAttempts), lim.attempt("uid=c", "192.0.2.1"):
        pass


def test_the_address_is_checked_before_the_lookup() -> None:
    lim, clock = limiter(user=3, address=1, window=100)
    lim.check_address("192.0.2.1")
    lim.check_address(None)
    fail(lim, "uid=a", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as caught:
        lim.check_address("192.0.2.1")
    assert caught.value.retry_after == 100
    lim.check_address("192.0.2.2")
    lim.check_address(None)  # a person's own token: no address budget
    clock.now += 100
    lim.check_address("192.0.2.1")


def test_no_address_no_address_budget() -> None:
    lim, _ = limiter(user=3, address=1)
    for n in range(5):
        fail(lim, f"uid=u{n}", None)


# -- one attempt per entry at a time -------------------------------------------------------


def test_a_second_attempt_for_the_same_entry_waits_then_429_retry_after_1() -> None:
    lim = AttemptLimiter(MemoryAttemptStore(), Limits(3, 20, 900, busy_wait=0.2))
    trips: list[str] = []
    lim.on_trip = trips.append
    holding, done = threading.Event(), threading.Event()

    def first() -> None:
        with lim.attempt(dn_key("uid=Bob,dc=x"), None):
            holding.set()
            done.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    with pytest.raises(TooManyAttempts) as caught, lim.attempt(dn_key("UID=bob,DC=x"), "192.0.2.1"):
        pytest.fail("ran while another attempt for the entry was in flight")
    assert time.monotonic() - started >= 0.2
    assert caught.value.retry_after == 1
    assert trips == ["busy"]
    done.set()
    thread.join()
    with lim.attempt("uid=bob,dc=x", None):  # free again; the first counted nothing
        pass


def test_a_waiting_attempt_runs_once_the_first_is_settled() -> None:
    lim = AttemptLimiter(MemoryAttemptStore(), Limits(3, 20, 900, busy_wait=2))
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with contextlib.suppress(IncorrectOldPassword), lim.attempt("uid=a", None):
            holding.set()
            time.sleep(0.1)
            order.append("first")
            raise IncorrectOldPassword("wrong")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with lim.attempt("uid=a", None):
        order.append("second")
    thread.join()
    assert order == ["first", "second"]


def test_the_slot_is_taken_even_when_the_budget_is_off() -> None:
    """Serialising is what keeps the last-straw guard from being raced."""
    store = MemoryAttemptStore()
    lim = AttemptLimiter(store, Limits(0, 0, 900, busy_wait=0))
    with lim.attempt("uid=a", None):
        assert not store.acquire_slot("entry:uid=a", "other", 60)
    assert store.acquire_slot("entry:uid=a", "other", 60)


def test_a_stale_slot_expires() -> None:
    clock = Clock()
    store = MemoryAttemptStore(clock)
    assert store.acquire_slot("k", "crashed", 30)
    assert not store.acquire_slot("k", "next", 30)
    store.release_slot("k", "someone-else")  # only its holder releases it
    assert not store.acquire_slot("k", "next", 30)
    clock.now += 30
    assert store.acquire_slot("k", "next", 30)


def test_failures_are_recorded_and_counted_by_the_store() -> None:
    clock = Clock()
    store = MemoryAttemptStore(clock)
    assert store.failures_wait("k", 2, 100) is None
    store.add("k", 100, "a")
    clock.now += 10
    store.add("k", 100, "b")
    assert store.failures_wait("k", 2, 100) == 90
    assert store.failures_wait("k", 3, 100) is None
    clock.now += 90
    assert store.failures_wait("k", 2, 100) is None
