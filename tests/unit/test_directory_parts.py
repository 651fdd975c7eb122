"""The directory's parts that need no server: the DN cache, the rest of the one table."""

from __future__ import annotations

from typing import Any

import pytest
from ldap3.core.results import (
    RESULT_BUSY,
    RESULT_CONSTRAINT_VIOLATION,
    RESULT_INSUFFICIENT_ACCESS_RIGHTS,
    RESULT_INVALID_CREDENTIALS,
    RESULT_NO_SUCH_OBJECT,
    RESULT_OTHER,
    RESULT_SIZE_LIMIT_EXCEEDED,
    RESULT_SUCCESS,
    RESULT_UNAVAILABLE_CRITICAL_EXTENSION,
)

from passgate import errors
from passgate.directory import results
from passgate.directory.bound import BoundEntry
from passgate.directory.lookup import DnCache
from passgate.directory.mappers import UserQuery

QUERY = UserQuery("ou=people,dc=example,dc=org", "sub", "(uid=alice)")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_dn_cache_forgets_after_its_ttl() -> None:
    clock = Clock()
    cache = DnCache(60.0, timer=clock)
    cache.put(QUERY, "uid=alice,ou=people,dc=example,dc=org")
    clock.now = 59.0
    assert cache.get(QUERY) == "uid=alice,ou=people,dc=example,dc=org"
    clock.now = 60.5
    assert cache.get(QUERY) is None


def test_dn_cache_ttl_zero_caches_nothing() -> None:
    cache = DnCache(0.0)
    cache.put(QUERY, "uid=alice")
    assert cache.get(QUERY) is None


def answer(code: int, message: str = "") -> dict[str, Any]:
    return {"result": code, "description": "", "message": message}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (RESULT_UNAVAILABLE_CRITICAL_EXTENSION, errors.PasswordExpired),  # no hints control
        (RESULT_INSUFFICIENT_ACCESS_RIGHTS, errors.PasswordExpired),  # no right to reset
        (RESULT_CONSTRAINT_VIOLATION, errors.PasswordPolicyRejected),
        (RESULT_BUSY, errors.DirectoryUnavailable),
    ],
)
def test_ad_reset_as_the_service_account(code: int, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        results.check_ad_reset(answer(code))
    assert type(caught.value) is expected


def test_user_lookup_results() -> None:
    results.check_lookup(answer(RESULT_SUCCESS), base=False)
    results.check_lookup(answer(RESULT_SIZE_LIMIT_EXCEEDED), base=False)  # two: ambiguous
    with pytest.raises(errors.UserNotFound):
        results.check_lookup(answer(RESULT_NO_SUCH_OBJECT), base=True)  # a DN template
    with pytest.raises(errors.DirectoryMisconfigured):
        results.check_lookup(answer(RESULT_NO_SUCH_OBJECT), base=False)  # no users DN
    with pytest.raises(errors.DirectoryUnavailable):
        results.check_lookup(answer(RESULT_BUSY), base=False)
    with pytest.raises(errors.PassgateError):
        results.check_lookup(answer(RESULT_OTHER), base=False)


def test_service_bind_and_ping_results() -> None:
    with pytest.raises(errors.DirectoryMisconfigured, match="refused the service account bind"):
        results.check_service_bind(answer(RESULT_INVALID_CREDENTIALS))
    with pytest.raises(errors.DirectoryUnavailable):
        results.check_service_bind(answer(RESULT_BUSY))
    with pytest.raises(errors.DirectoryUnavailable):
        results.check_ping(answer(RESULT_OTHER))
    results.check_ping(answer(RESULT_SUCCESS))


def test_the_bound_entry_shows_no_password_and_forgets_it() -> None:
    bound = BoundEntry(
        binds=None,  # type: ignore[arg-type]
        conn=None,  # type: ignore[arg-type]
        dn="uid=alice",
        old_password="Old-Passw0rd!",
        names=list,
        must_set_as_service=False,
    )
    assert "Passw0rd" not in repr(bound)
    bound.forget()
    with pytest.raises(RuntimeError):
        bound.set_password("New-Passw0rd!")


def test_the_stopwatch_observes_an_operation_however_it_ends() -> None:
    from passgate.directory.connection import Stopwatch

    seen: list[tuple[str, float]] = []
    stopwatch = Stopwatch()
    stopwatch.observe = lambda operation, seconds: seen.append((operation, seconds))
    with stopwatch.timed("bind"):
        pass
    with pytest.raises(TimeoutError), stopwatch.timed("modify"):
        raise TimeoutError("timed out")
    assert [operation for operation, _ in seen] == ["bind", "modify"]
    assert all(seconds >= 0 for _, seconds in seen)


def test_a_short_lived_cache_keeps_what_was_read_last_and_forgets_what_expired() -> None:
    from passgate.directory.cache import ShortLived

    now = [0.0]
    cache: ShortLived[str, int] = ShortLived(10.0, 2, timer=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a hit: "a" is now the most recently used
    cache.put("c", 3)  # full: the least recently used ("b") goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    now[0] = 10.0
    assert cache.get("a") is None  # expired
    assert cache.get("missing") is None
