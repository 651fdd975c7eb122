"""The use case and its limiter: what is counted, under which key, in which order."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from passgate.auth.base import Caller, CallerKind
from passgate.errors import IncorrectOldPassword, TooManyAttempts, UserNotFound
from passgate.limiter import AttemptLimiter, Limits, MemoryAttemptStore
from passgate.policy.lockout import FailureState
from passgate.service import PasswordService
from tests.unit.test_service_and_app import FakeDirectory

OLD, NEW, WRONG = SecretStr("Old-Passw0rd!"), SecretStr("New-Passw0rd!"), SecretStr("Wrong-1!")


class RecordingLimiter:
    """A fake Limiter: records the calls, in order; refuses addresses it is told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.blocked: set[str] = set()

    def check_address(self, address: str | None) -> None:
        self.calls.append(("check", address))
        if address in self.blocked:
            raise TooManyAttempts(7, "address")

    @contextlib.contextmanager
    def attempt(self, entry_dn: str, address: str | None) -> Iterator[None]:
        self.calls.append(("attempt " + entry_dn, address))
        yield


def test_the_address_is_checked_before_the_lookup_the_entry_after() -> None:
    limiter = RecordingLimiter()
    PasswordService(FakeDirectory(), limiter=limiter).change_password(
        "a" * 24, OLD, NEW, "192.0.2.1"
    )
    assert limiter.calls == [("check", "192.0.2.1"), ("attempt uid=a", "192.0.2.1")]


def test_an_address_over_its_budget_learns_nothing_not_even_a_404() -> None:
    limiter = RecordingLimiter()
    limiter.blocked.add("192.0.2.1")
    service = PasswordService(FakeDirectory(), limiter=limiter)
    with pytest.raises(TooManyAttempts):
        service.change_password("b" * 24, OLD, NEW, "192.0.2.1")  # nobody has this id


def test_a_lookup_that_finds_nobody_counts_nothing() -> None:
    limiter = RecordingLimiter()
    with pytest.raises(UserNotFound):
        PasswordService(FakeDirectory(), limiter=limiter).change_password("b" * 24, OLD, NEW)
    assert limiter.calls == [("check", None)]


def test_one_entry_one_budget_by_id_or_by_name() -> None:
    fake = FakeDirectory()
    fake.ids["alice"] = "UID=A"  # the username lookup answers another spelling of the DN
    limiter = AttemptLimiter(MemoryAttemptStore(), Limits(3, 0, 900, busy_wait=0))
    service = PasswordService(fake, limiter=limiter)
    fake.passwords["UID=A"] = fake.passwords["uid=a"]
    by_name = Caller(CallerKind.USER, "alice", None, "alice")
    for _ in range(2):
        with pytest.raises(IncorrectOldPassword):
            service.change_password("a" * 24, WRONG, NEW)
    with pytest.raises(IncorrectOldPassword):
        service.change_password_for_caller(by_name, WRONG, NEW)
    with pytest.raises(TooManyAttempts):
        service.change_password("a" * 24, WRONG, NEW)


def test_a_moved_entry_is_not_a_failure_of_its_old_dn() -> None:
    fake = FakeDirectory()
    limiter = AttemptLimiter(MemoryAttemptStore(), Limits(1, 0, 900, busy_wait=0))
    service = PasswordService(fake, limiter=limiter)
    stale = {"value": True}

    def user_dn_for(user_id: str, *, refresh: bool = False) -> str:
        if stale["value"] and not refresh:
            return "uid=gone"  # a cached DN; the bind there fails like a wrong password
        return "uid=a"

    fake.user_dn_for = user_dn_for  # type: ignore[method-assign]
    fake.passwords["uid=gone"] = "nothing matches"
    service.change_password("a" * 24, OLD, NEW)
    assert fake.passwords["uid=a"] == NEW.get_secret_value()
    # The stale DN's failed bind was given back: its budget of 1 is whole.
    stale["value"] = False
    with limiter.attempt("uid=gone", None):
        pass


def test_the_guard_refuses_inside_the_attempt_and_says_so() -> None:
    fake = FakeDirectory()
    fake.failure_state = lambda dn: FailureState(4, 5, 120.2, False, "test")  # type: ignore[method-assign]
    guarded: list[bool] = []
    service = PasswordService(fake)
    service.on_guard = lambda: guarded.append(True)
    with pytest.raises(TooManyAttempts) as caught:
        service.change_password("a" * 24, OLD, NEW)
    assert caught.value.retry_after == 121
    assert guarded == [True]
    assert fake.passwords["uid=a"] == OLD.get_secret_value()
