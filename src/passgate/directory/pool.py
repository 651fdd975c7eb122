"""Bounded pools of open LDAP connections.

Two pools serve a running passgate: connections bound as the service
account (for lookups), and connections that are rebound as each user in
turn (for the bind and the password change). A connection that failed in
any way is closed, never put back; one idle for longer than ``max_idle``
seconds is closed rather than reused (servers drop idle connections). A
connection taken from the pool is used by one thread at a time.

Reuse is safe for identities: every use of a user connection starts with a
bind, and nothing runs on it unless that bind succeeded; after a failed
bind the server holds the connection anonymous (RFC 4511, 4.2.1), and the
user's password is cleared from the connection object before it goes back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import ldap3


@dataclass
class _Idle:
    conn: ldap3.Connection
    since: float


class ConnectionPool:
    def __init__(
        self,
        factory: Callable[[], ldap3.Connection],
        *,
        max_idle_connections: int,
        max_idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._max_idle_connections = max_idle_connections
        self._max_idle_seconds = max_idle_seconds
        self._clock = clock
        self._idle: deque[_Idle] = deque()
        self._lock = threading.Lock()
        self.created = 0
        self.discarded = 0

    def _take(self) -> tuple[ldap3.Connection, bool]:
        """A connection, and whether it was reused (reused ones may turn out stale)."""
        stale: list[ldap3.Connection] = []
        found: ldap3.Connection | None = None
        with self._lock:
            now = self._clock()
            while self._idle:
                idle = self._idle.pop()  # most recently used first: the warmest
                if now - idle.since > self._max_idle_seconds or idle.conn.closed:
                    stale.append(idle.conn)
                    continue
                found = idle.conn
                break
        for conn in stale:
            self._close(conn)
        if found is not None:
            return found, True
        conn = self._factory()
        with self._lock:
            self.created += 1
        return conn, False

    def _give_back(self, conn: ldap3.Connection, healthy: bool) -> None:
        with self._lock:
            keep = healthy and not conn.closed and len(self._idle) < self._max_idle_connections
            if keep:
                self._idle.append(_Idle(conn, self._clock()))
        if not keep:
            self._close(conn)

    def _close(self, conn: ldap3.Connection) -> None:
        with self._lock:
            self.discarded += 1
        with contextlib.suppress(Exception):
            conn.unbind()

    def connection(self) -> _Lease:
        """``with pool.connection() as (connection, reused):``; an exception inside the
        block discards the connection."""
        return _Lease(self)

    def discard(self, conn: ldap3.Connection) -> None:
        """Mark a connection as not to be reused (closes it when given back)."""
        with contextlib.suppress(Exception):
            conn.unbind()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = list(self._idle), deque()
        for item in idle:
            self._close(item.conn)

    @property
    def idle(self) -> int:
        return len(self._idle)


class _Lease:
    """One use of a pooled connection (a class, not a generator: it runs on every request)."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._conn: ldap3.Connection | None = None

    def __enter__(self) -> tuple[ldap3.Connection, bool]:
        conn, reused = self._pool._take()
        self._conn = conn
        return conn, reused

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._give_back(conn, healthy=kind is None)
