"""The attempt limiter: failed old-password attempts, counted before the directory is asked.

A directory locks an account after ``pwdMaxFailure`` wrong binds. passgate
must not become the way to get there (or to guess passwords), so it counts
failed attempts per target user and per client address in a sliding window,
and refuses (429 / 4029) once a limit is reached, without any LDAP operation.

Each attempt *reserves* a slot before the directory is asked, atomically, so
concurrent requests (even on several instances sharing Redis) can never run
more binds than the limit. When the attempt ends, the slot is settled:

- wrong old password: the slot stays (it is a failure);
- the old password proved right (changed, or refused by policy, or expired):
  the user's count is cleared, as the directory clears its own, and the
  address slot is given back;
- anything else (no such user, directory down, ...): both slots are given back.

Storage is in memory (one process) or Redis (shared); if Redis cannot be
reached, each instance counts in memory until it can, and says so in the log.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from passgate.config import LimiterSettings
from passgate.errors import (
    IncorrectOldPassword,
    PasswordExpired,
    PasswordPolicyRejected,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

# The old password was right: the directory reset its failure count.
VERIFIED_OUTCOMES = (PasswordPolicyRejected, PasswordExpired)


class AttemptStore(Protocol):
    """Sliding-window counters with reservations; every method is atomic."""

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        """Record ``token`` under ``key`` unless ``limit`` are already in the window.

        Returns ``None`` when recorded, else the seconds until a slot frees up.
        """

    def release(self, key: str, token: str) -> None:
        """Give back one reservation."""

    def clear(self, key: str) -> None:
        """Forget every attempt under ``key``."""


class MemoryAttemptStore:
    """Per-process counters: a deque of (time, token) per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, deque[tuple[float, str]]] = {}
        self._lock = threading.Lock()
        self._sweeps = 0

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        now = self._clock()
        with self._lock:
            self._sweep(now, window)
            attempts = self._entries.setdefault(key, deque())
            while attempts and attempts[0][0] <= now - window:
                attempts.popleft()
            if len(attempts) >= limit:
                return attempts[0][0] + window - now
            attempts.append((now, token))
            return None

    def release(self, key: str, token: str) -> None:
        with self._lock:
            attempts = self._entries.get(key)
            if attempts is None:
                return
            for item in attempts:
                if item[1] == token:
                    attempts.remove(item)
                    break
            if not attempts:
                del self._entries[key]

    def clear(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _sweep(self, now: float, window: float) -> None:
        """Now and then, drop keys whose attempts all left the window (bounded memory)."""
        self._sweeps += 1
        if self._sweeps % 1024:
            return
        stale = [k for k, v in self._entries.items() if not v or v[-1][0] <= now - window]
        for key in stale:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


# KEYS[1]: the counter; ARGV: limit, window (ms), token. Redis's clock, so
# instances with skewed clocks still share one window.
_RESERVE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""


class RedisAttemptStore:
    """Counters shared by every instance: one sorted set per key, scripts for atomicity."""

    PREFIX = "passgate:attempts:"

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._reserve: Any = self._redis.register_script(_RESERVE)

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        wait = int(self._reserve(keys=[self.PREFIX + key], args=[limit, int(window * 1000), token]))
        return None if wait < 0 else wait / 1000

    def release(self, key: str, token: str) -> None:
        self._redis.zrem(self.PREFIX + key, token)

    def clear(self, key: str) -> None:
        self._redis.delete(self.PREFIX + key)

    def close(self) -> None:
        self._redis.close()


class FallbackAttemptStore:
    """A shared store that, when it fails, is stood in for by a local one.

    A limiter that fails open would let guesses through while Redis is down,
    one that fails closed would lock every user out of passgate: counting per
    instance meanwhile keeps the protection, only less shared.
    """

    RETRY_AFTER_FAILURE = 5.0  # seconds before the shared store is tried again

    def __init__(self, shared: AttemptStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._shared = shared
        self._local = MemoryAttemptStore(clock)
        self._clock = clock
        self._retry_at = 0.0
        self.degraded = False

    def _call(self, method: str, *args: Any) -> Any:
        if self._clock() >= self._retry_at:
            try:
                result = getattr(self._shared, method)(*args)
            except Exception as exc:  # redis raises its own tree; any failure means "down"
                if not self.degraded:
                    log.warning(
                        "limiter storage unreachable (%s); counting in this process meanwhile",
                        type(exc).__name__,
                    )
                self.degraded = True
                self._retry_at = self._clock() + self.RETRY_AFTER_FAILURE
            else:
                if self.degraded:
                    log.warning("limiter storage reachable again")
                    self.degraded = False
                return result
        return getattr(self._local, method)(*args)

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        result: float | None = self._call("reserve", key, limit, window, token)
        return result

    def release(self, key: str, token: str) -> None:
        self._call("release", key, token)
        self._local.release(key, token)

    def clear(self, key: str) -> None:
        self._call("clear", key)
        self._local.clear(key)


def store_from_url(url: str) -> AttemptStore:
    if url.startswith("memory://"):
        return MemoryAttemptStore()
    return FallbackAttemptStore(RedisAttemptStore(url))


@dataclass(frozen=True)
class Limits:
    user_failures: int = 3  # per target user; 0 disables
    address_failures: int = 20  # per client address; 0 disables
    window: float = 900.0  # seconds


class AttemptLimiter:
    @classmethod
    def from_settings(cls, settings: LimiterSettings) -> AttemptLimiter:
        return cls(store_from_url(settings.url), Limits(**settings.model_dump(exclude={"url"})))

    def __init__(self, store: AttemptStore, limits: Limits) -> None:
        self._store = store
        self._limits = limits
        self.trips = 0
        self.on_trip: Callable[[str], None] = lambda scope: None  # "user" or "address"

    @contextlib.contextmanager
    def attempt(self, user: str, address: str | None) -> Iterator[None]:
        """Reserve a slot for ``user`` (and ``address``); settle it by how the block ends."""
        limits = self._limits
        token = uuid.uuid4().hex
        user_key = "user:" + user
        address_key = "addr:" + address if address and limits.address_failures else None
        if limits.user_failures:
            wait = self._store.reserve(user_key, limits.user_failures, limits.window, token)
            if wait is not None:
                self._trip("user", f"user {user}", wait)
        if address_key is not None:
            wait = self._store.reserve(address_key, limits.address_failures, limits.window, token)
            if wait is not None:
                if limits.user_failures:
                    self._store.release(user_key, token)
                self._trip("address", f"client address {address}", wait)
        try:
            yield
        except IncorrectOldPassword:
            raise  # a failure: both slots stay
        except VERIFIED_OUTCOMES:
            self._verified(user_key, address_key, token)
            raise
        except BaseException:
            self._give_back(user_key, address_key, token)
            raise
        self._verified(user_key, address_key, token)

    def _verified(self, user_key: str, address_key: str | None, token: str) -> None:
        if self._limits.user_failures:
            self._store.clear(user_key)
        if address_key is not None:
            self._store.release(address_key, token)

    def _give_back(self, user_key: str, address_key: str | None, token: str) -> None:
        if self._limits.user_failures:
            self._store.release(user_key, token)
        if address_key is not None:
            self._store.release(address_key, token)

    def _trip(self, scope: str, what: str, wait: float) -> None:
        self.trips += 1
        self.on_trip(scope)
        retry_after = max(1, math.ceil(wait))
        raise TooManyAttempts(retry_after, f"attempt limit reached for {what}")
