"""The attempt limiter: failed old-password attempts, counted per directory entry.

A directory locks an account after ``pwdMaxFailure`` wrong binds. passgate
must not become the way to get there (or to guess passwords), so it counts
failed attempts per *entry* (its normalised DN, whichever endpoint or
identifier named it) and, for callers that can target other users, per
client address, in a sliding window, and refuses (429 / 4029) once a limit
is reached.

An attempt for an entry runs alone: it takes the entry's in-flight slot in
the store (so it holds across instances sharing Redis), then reserves its
place in the entry's budget, then the use case reads the directory's own
failure count and binds, then the attempt is settled and the slot let go.
Serialising is what keeps the last-straw guard from being raced: two
requests can never both read "3 of 5" and both fail. A second attempt for
the same entry waits for the slot (``busy_wait``, 2 s) and then answers 429
with ``Retry-After: 1``. A slot whose holder vanished (a crashed instance)
expires after ``slot_ttl``.

Settling:

- wrong old password: the entry's place stays (a failure), and one failure
  is recorded for the address;
- the old password proved right (changed, or refused by policy, or expired):
  the entry's count is cleared, as the directory clears its own;
- anything else (directory down, ...): the entry's place is given back.

The address budget counts *settled* failures only, never attempts in
flight, so concurrent correct changes from one address (a portal backend)
never trip it; concurrent wrong ones can overshoot it by at most the number
in flight together, each still bounded per entry.

Storage is in memory (one process) or Redis (shared); if Redis cannot be
reached, each instance counts in memory until it can, and says so in the log.
With Redis an attempt is two round trips, each one script: begin (the
address's budget, the slot, the entry's place) and settle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from passgate import cooperative
from passgate.config import LimiterSettings
from passgate.errors import (
    ConfigurationError,
    IncorrectOldPassword,
    LimiterUnavailable,
    PasswordExpired,
    PasswordPolicyRejected,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

# The old password was right: the directory reset its failure count.
VERIFIED_OUTCOMES = (PasswordPolicyRejected, PasswordExpired)
POLL_INTERVAL = 0.05  # seconds between two looks at a busy entry's slot


class AttemptStore(Protocol):
    """Sliding-window counters and in-flight slots; every method is atomic."""

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        """Record ``token`` under ``key`` unless ``limit`` are already in the window.

        Returns ``None`` when recorded, else the seconds until a slot frees up.
        """

    def release(self, key: str, token: str) -> None:
        """Give back one reservation."""

    def clear(self, key: str) -> None:
        """Forget every attempt under ``key``."""

    def add(self, key: str, window: float, token: str) -> None:
        """Record one settled failure under ``key``, whatever the count."""

    def failures_wait(self, key: str, limit: int, window: float) -> float | None:
        """``None`` while fewer than ``limit`` are in the window, else the seconds until so."""

    def acquire_slot(self, key: str, token: str, ttl: float) -> bool:
        """Take the exclusive slot of ``key`` for ``ttl`` seconds, unless someone holds it."""

    def release_slot(self, key: str, token: str) -> None:
        """Let go of the slot, if ``token`` still holds it."""

    def begin(self, attempt: Attempt) -> Refusal | None:
        """Start an attempt: the address's settled failures checked, the entry's slot
        taken, its place in the entry's budget reserved; ``None`` when it may go ahead.

        A refusal takes nothing: ``("address", wait)`` when the address's budget is
        full, ``("busy", 0)`` while another attempt holds the slot, ``("user", wait)``
        when the entry's budget is full (the slot let go again).
        """

    def settle(self, attempt: Attempt, outcome: Outcome) -> None:
        """End an attempt: ``failure`` keeps its place and adds one failure for the
        address, ``verified`` clears the entry's count, ``other`` gives its place
        back; then the slot is let go."""


Outcome = Literal["failure", "verified", "other"]
Refusal = tuple[Literal["address", "busy", "user"], float]


@dataclass(frozen=True)
class Attempt:
    """One attempt's keys and limits, as :meth:`AttemptStore.begin` and ``settle`` take them."""

    entry: str  # the entry's counter and slot: "entry:" + its DN key
    token: str  # this attempt's mark in the counter and on the slot
    address: str | None  # the address's counter ("addr:" + address), None without a budget
    user_limit: int  # 0: the entry's failures are not counted
    address_limit: int
    window: float  # seconds
    slot_ttl: float  # seconds


class MemoryAttemptStore:
    """Per-process counters: a deque of (time, token) per key; slots: (token, expiry)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, deque[tuple[float, str]]] = {}
        self._slots: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._sweeps = 0

    def _live(self, key: str, now: float, window: float) -> deque[tuple[float, str]]:
        attempts = self._entries.setdefault(key, deque())
        while attempts and attempts[0][0] <= now - window:
            attempts.popleft()
        return attempts

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        now = self._clock()
        with self._lock:
            self._sweep(now, window)
            attempts = self._live(key, now, window)
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

    def add(self, key: str, window: float, token: str) -> None:
        now = self._clock()
        with self._lock:
            self._sweep(now, window)
            self._live(key, now, window).append((now, token))

    def failures_wait(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        with self._lock:
            attempts = self._live(key, now, window)
            if len(attempts) < limit:
                if not attempts:
                    del self._entries[key]
                return None
            # The oldest len - limit + 1 must leave the window before one more fits.
            return attempts[len(attempts) - limit][0] + window - now

    def acquire_slot(self, key: str, token: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            held = self._slots.get(key)
            if held is not None and held[1] > now:
                return False
            self._slots[key] = (token, now + ttl)
            return True

    def release_slot(self, key: str, token: str) -> None:
        with self._lock:
            held = self._slots.get(key)
            if held is not None and held[0] == token:
                del self._slots[key]

    def begin(self, attempt: Attempt) -> Refusal | None:
        """In steps: one process's attempts for one entry are already one at a time."""
        if attempt.address is not None:
            wait = self.failures_wait(attempt.address, attempt.address_limit, attempt.window)
            if wait is not None:
                return ("address", wait)
        if not self.acquire_slot(attempt.entry, attempt.token, attempt.slot_ttl):
            return ("busy", 0.0)
        if attempt.user_limit:
            wait = self.reserve(attempt.entry, attempt.user_limit, attempt.window, attempt.token)
            if wait is not None:
                self.release_slot(attempt.entry, attempt.token)
                return ("user", wait)
        return None

    def settle(self, attempt: Attempt, outcome: Outcome) -> None:
        if outcome == "failure":
            if attempt.address is not None:
                self.add(attempt.address, attempt.window, attempt.token)
        elif outcome == "verified":
            self.clear(attempt.entry)
        else:
            self.release(attempt.entry, attempt.token)
        self.release_slot(attempt.entry, attempt.token)

    def _sweep(self, now: float, window: float) -> None:
        """Now and then, drop keys whose attempts all left the window (bounded memory)."""
        self._sweeps += 1
        if self._sweeps % 1024:
            return
        stale = [k for k, v in self._entries.items() if not v or v[-1][0] <= now - window]
        for key in stale:
            del self._entries[key]
        for key in [k for k, (_, expiry) in self._slots.items() if expiry <= now]:
            del self._slots[key]

    def __len__(self) -> int:
        return len(self._entries)


# Redis's clock in every script, so instances with skewed clocks still share one window.
_NOW = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
"""
# KEYS[1]: the counter; ARGV: limit, window (ms), token.
_RESERVE = (
    _NOW
    + """
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
)
# KEYS[1]: the counter; ARGV: window (ms), token.
_ADD = (
    _NOW
    + """
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""
)
# KEYS[1]: the counter; ARGV: limit, window (ms).
_FAILURES_WAIT = (
    _NOW
    + """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  return -1
end
local leaving = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return tonumber(leaving[2]) + window - now
"""
)
# KEYS[1]: the slot; ARGV: the holder's token.
_RELEASE_SLOT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: the slot, the entry's counter[, the address's counter];
# ARGV: token, slot ttl (ms), user limit, address limit, window (ms).
_BEGIN = (
    _NOW
    + """
local window = tonumber(ARGV[5])
if #KEYS >= 3 then
  local limit = tonumber(ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[3])
  if count >= limit then
    local leaving = redis.call('ZRANGE', KEYS[3], count - limit, count - limit, 'WITHSCORES')
    return {'address', tonumber(leaving[2]) + window - now}
  end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'busy', 0}
end
local user_limit = tonumber(ARGV[3])
if user_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= user_limit then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    redis.call('DEL', KEYS[1])
    return {'user', tonumber(oldest[2]) + window - now}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
return {'ok', 0}
"""
)
# KEYS: the slot, the entry's counter[, the address's counter]; ARGV: token, outcome, window (ms).
_SETTLE = (
    _NOW
    + """
local outcome = ARGV[2]
if outcome == 'failure' then
  if #KEYS >= 3 then
    local window = tonumber(ARGV[3])
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
    redis.call('ZADD', KEYS[3], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[3], window)
  end
elseif outcome == 'verified' then
  redis.call('DEL', KEYS[2])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""
)


_SCRIPTS = {
    "reserve": _RESERVE,
    "add": _ADD,
    "failures_wait": _FAILURES_WAIT,
    "release_slot": _RELEASE_SLOT,
    "begin": _BEGIN,
    "settle": _SETTLE,
}


class RedisAttemptStore:
    """Counters shared by every instance: one sorted set per key, scripts for atomicity;
    a slot is a key set with NX and an expiry."""

    PREFIX = "passgate:attempts:"
    SLOT_PREFIX = "passgate:in-flight:"

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        import redis

        self._url, self._timeout = url, timeout
        self._redis = _Client(
            redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        )
        self._on_loop: tuple[asyncio.AbstractEventLoop, _Client] | None = None

    def _do(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """A command or one of the scripts; inside ``passgate.cooperative.run`` by the
        asyncio client, its round trip awaited on the loop (no thread, no hand-off)."""
        if not cooperative.bridged():
            return self._redis.call(command, *args, **kwargs)
        loop = asyncio.get_running_loop()
        if self._on_loop is None or self._on_loop[0] is not loop:  # a test may run another loop
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
            self._on_loop = (loop, _Client(client))
        return cooperative.wait_for(self._on_loop[1].call(command, *args, **kwargs))

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        wait = int(
            self._do("reserve", keys=[self.PREFIX + key], args=[limit, int(window * 1000), token])
        )
        return None if wait < 0 else wait / 1000

    def release(self, key: str, token: str) -> None:
        self._do("zrem", self.PREFIX + key, token)

    def clear(self, key: str) -> None:
        self._do("delete", self.PREFIX + key)

    def add(self, key: str, window: float, token: str) -> None:
        self._do("add", keys=[self.PREFIX + key], args=[int(window * 1000), token])

    def failures_wait(self, key: str, limit: int, window: float) -> float | None:
        wait = int(
            self._do("failures_wait", keys=[self.PREFIX + key], args=[limit, int(window * 1000)])
        )
        return None if wait < 0 else wait / 1000

    def acquire_slot(self, key: str, token: str, ttl: float) -> bool:
        return bool(self._do("set", self.SLOT_PREFIX + key, token, nx=True, px=int(ttl * 1000)))

    def release_slot(self, key: str, token: str) -> None:
        self._do("release_slot", keys=[self.SLOT_PREFIX + key], args=[token])

    def _keys(self, attempt: Attempt) -> list[str]:
        keys = [self.SLOT_PREFIX + attempt.entry, self.PREFIX + attempt.entry]
        if attempt.address is not None:
            keys.append(self.PREFIX + attempt.address)
        return keys

    def begin(self, attempt: Attempt) -> Refusal | None:
        """One round trip (a script) for what would be three."""
        scope, wait = self._do(
            "begin",
            keys=self._keys(attempt),
            args=[
                attempt.token,
                int(attempt.slot_ttl * 1000),
                attempt.user_limit,
                attempt.address_limit,
                int(attempt.window * 1000),
            ],
        )
        refused = scope.decode() if isinstance(scope, bytes) else str(scope)
        if refused == "ok":
            return None
        if refused not in ("address", "busy", "user"):
            raise ValueError(f"unexpected answer from the limiter's script: {refused!r}")
        return (cast(Literal["address", "busy", "user"], refused), int(wait) / 1000)

    def settle(self, attempt: Attempt, outcome: Outcome) -> None:
        """One round trip (a script) for what would be two or three."""
        self._do(
            "settle",
            keys=self._keys(attempt),
            args=[attempt.token, outcome, int(attempt.window * 1000)],
        )

    def close(self) -> None:
        self._redis.client.close()


class _Client:
    """A redis client (blocking or asyncio) and the limiter's scripts registered on it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}

    def call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """The script of that name, else the client's command (a coroutine for asyncio's)."""
        script = self._scripts.get(command)
        return (script or getattr(self.client, command))(*args, **kwargs)


class SharedAttemptStore:
    """A shared store (Redis) that, while it cannot be reached, lets no attempt begin.

    Counting in each process meanwhile (as before 2026-12-02) fails neither
    open nor closed, but a shared store means several processes: each would
    hold apart only its own attempts, two attempts on one entry could pass
    the last-straw guard at once in two of them, and both failing binds lock
    the account (reproduced with two instances and Redis stopped: five
    failures, pwdAccountLockedTime set). What decides whether a bind may
    happen (``begin``, ``reserve``, ``acquire_slot``, ``failures_wait``) raises
    :class:`LimiterUnavailable` (503, ``Retry-After``); what records an
    attempt already made (``settle``, ``release``, ``clear``, ``add``,
    ``release_slot``) is best effort: the directory keeps its own failure
    count, which the guard reads, and a slot left in Redis expires.
    """

    RETRY_AFTER_FAILURE = float(LimiterUnavailable.retry_after)  # before trying it again

    def __init__(self, shared: AttemptStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._shared = shared
        self._clock = clock
        self._retry_at = 0.0
        self.degraded = False

    def _call(self, method: str, *args: Any, deciding: bool) -> Any:
        if self._clock() >= self._retry_at:
            try:
                result = getattr(self._shared, method)(*args)
            except Exception as exc:  # redis raises its own tree; any failure means "down"
                if not self.degraded:
                    log.warning(
                        "limiter storage unreachable (%s): no attempt begins until it is "
                        "reachable again (answered 503)",
                        type(exc).__name__,
                    )
                self.degraded = True
                self._retry_at = self._clock() + self.RETRY_AFTER_FAILURE
            else:
                if self.degraded:
                    log.warning("limiter storage reachable again")
                    self.degraded = False
                return result
        if deciding:
            raise LimiterUnavailable("attempt limiter storage unreachable: no bind meanwhile")
        return None

    def reserve(self, key: str, limit: int, window: float, token: str) -> float | None:
        result: float | None = self._call("reserve", key, limit, window, token, deciding=True)
        return result

    def release(self, key: str, token: str) -> None:
        self._call("release", key, token, deciding=False)

    def clear(self, key: str) -> None:
        self._call("clear", key, deciding=False)

    def add(self, key: str, window: float, token: str) -> None:
        self._call("add", key, window, token, deciding=False)

    def failures_wait(self, key: str, limit: int, window: float) -> float | None:
        result: float | None = self._call("failures_wait", key, limit, window, deciding=True)
        return result

    def acquire_slot(self, key: str, token: str, ttl: float) -> bool:
        return bool(self._call("acquire_slot", key, token, ttl, deciding=True))

    def release_slot(self, key: str, token: str) -> None:
        self._call("release_slot", key, token, deciding=False)

    def begin(self, attempt: Attempt) -> Refusal | None:
        result: Refusal | None = self._call("begin", attempt, deciding=True)
        return result

    def settle(self, attempt: Attempt, outcome: Outcome) -> None:
        self._call("settle", attempt, outcome, deciding=False)


def store_from_url(url: str) -> AttemptStore:
    """``memory://`` (any case, as the settings accept it), else a Redis URL.

    A URL the Redis client cannot read raises ``ValueError`` (its message may quote the URL).
    """
    if url.strip().lower().startswith("memory://"):
        return MemoryAttemptStore()
    return SharedAttemptStore(RedisAttemptStore(url))


@dataclass(frozen=True)
class Limits:
    user_failures: int = 3  # per directory entry; 0 disables
    address_failures: int = 20  # settled failures per client address; 0 disables
    window: float = 900.0  # seconds
    busy_wait: float = 2.0  # seconds a second attempt for one entry waits for the first
    slot_ttl: float = 60.0  # seconds before the slot of a vanished attempt expires


class Limiter(Protocol):
    """What the use case asks of the limiter (a fake in unit tests, AttemptLimiter here)."""

    def check_address(self, address: str | None) -> None:
        """Raise TooManyAttempts when ``address`` has failed too often (None: no budget)."""
        ...

    def attempt(self, entry: str, address: str | None) -> AbstractContextManager[None]:
        """The entry's slot and a place in its budget, settled by how the block ends.

        ``entry`` is one key per directory entry, however its DN is spelled
        (:func:`passgate.directory.dn.dn_key`).
        """
        ...


class AttemptLimiter:
    @classmethod
    def from_settings(cls, settings: LimiterSettings, *, slot_ttl: float = 60.0) -> AttemptLimiter:
        limits = Limits(
            user_failures=settings.user_failures,
            address_failures=settings.address_failures,
            window=settings.window,
            busy_wait=settings.busy_wait,
            slot_ttl=slot_ttl,
        )
        try:
            store = store_from_url(settings.url)
        except ValueError:  # the settings check the URL; not its message: the URL's password
            raise ConfigurationError(
                "PASSGATE_LIMITER_URL: not a URL the Redis client takes"
            ) from None
        return cls(store, limits)

    def __init__(self, store: AttemptStore, limits: Limits) -> None:
        self._store = store
        self._limits = limits
        self.trips = 0
        self.on_trip: Callable[[str], None] = lambda scope: None  # "user", "address", "busy"

    def _address_key(self, address: str | None) -> str | None:
        return "addr:" + address if address and self._limits.address_failures else None

    def check_address(self, address: str | None) -> None:
        """Before the lookup: refuse an address whose settled failures fill its budget."""
        key = self._address_key(address)
        if key is None:
            return
        wait = self._store.failures_wait(key, self._limits.address_failures, self._limits.window)
        if wait is not None:
            self._trip("address", f"client address {address}", wait)

    @contextlib.contextmanager
    def attempt(self, entry: str, address: str | None) -> Iterator[None]:
        """Run the block as the entry's only attempt; settle its budget by how it ends.

        Two calls to the store (with Redis, two round trips): :meth:`AttemptStore.begin`
        (the address checked again, since failures may have settled since the lookup;
        the slot; the place) and :meth:`AttemptStore.settle`.
        """
        limits = self._limits
        attempt = Attempt(
            entry="entry:" + entry,
            token=os.urandom(16).hex(),  # 128 random bits (uuid4 built an object for it)
            address=self._address_key(address),
            user_limit=limits.user_failures,
            address_limit=limits.address_failures,
            window=limits.window,
            slot_ttl=limits.slot_ttl,
        )
        self._begin(attempt, entry, address)
        outcome: Outcome = "other"
        try:
            yield
            outcome = "verified"
        except IncorrectOldPassword:
            outcome = "failure"  # the entry's place stays; one failure for the address
            raise
        except VERIFIED_OUTCOMES:
            outcome = "verified"
            raise
        finally:
            self._store.settle(attempt, outcome)

    def _begin(self, attempt: Attempt, entry_dn: str, address: str | None) -> None:
        """Begin, waiting up to ``busy_wait`` for the entry's in-flight slot; 429 after."""
        deadline = time.monotonic() + self._limits.busy_wait
        while True:
            refused = self._store.begin(attempt)
            if refused is None:
                return
            scope, wait = refused
            if scope == "address":
                self._trip("address", f"client address {address}", wait)
            if scope == "user":
                self._trip("user", f"entry {entry_dn}", wait)
            if time.monotonic() >= deadline:
                self._trip("busy", f"another attempt for {entry_dn} is in flight", 1)
            cooperative.sleep(POLL_INTERVAL)  # on the loop, other requests go on

    def _trip(self, scope: str, what: str, wait: float) -> None:
        self.trips += 1
        self.on_trip(scope)
        retry_after = max(1, math.ceil(wait))
        raise TooManyAttempts(retry_after, f"attempt limit reached for {what}")
