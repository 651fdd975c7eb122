"""Finding users, as the service account: the lookup, its short-lived cache, entry reads.

Lookups and reads run on pooled connections bound as the service account
(``PASSGATE_LDAP_BIND_DN``); a pooled connection the server dropped is
replaced once, a silent server is not waited for twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import ldap3

from passgate.directory import results, wire
from passgate.directory.cache import ShortLived
from passgate.directory.connection import Connector, Stopwatch
from passgate.directory.dn import canonical_dn, rdn_values
from passgate.directory.mappers import UserMapper, UserQuery
from passgate.directory.pool import ConnectionPool
from passgate.directory.results import translated_ldap_errors
from passgate.directory.rootdse import all_values
from passgate.errors import AmbiguousUser, DirectoryUnavailable, PassgateError, UserNotFound

T = TypeVar("T")
MAX_CACHED_DNS = 100_000
# How long the lookup's read of an entry's failure counter stands in for the guard's own
# read (the same change, a moment later; see LdapDirectory.failure_state).
JUST_READ_SECONDS = 0.25


@dataclass(frozen=True)
class JustRead:
    dn: str
    values: dict[str, list[str]]
    at: float  # time.monotonic() when read


class ServiceAccount:
    """Runs operations on pooled connections bound as the service account.

    Also the :class:`~passgate.directory.base.EntryReader` a dialect reads policies with.
    """

    def __init__(
        self,
        connector: Connector,
        stopwatch: Stopwatch,
        *,
        pool_size: int,
        pool_max_idle: float,
    ) -> None:
        self._stopwatch = stopwatch
        self.pool = ConnectionPool(
            connector.service_connection,
            max_idle_connections=pool_size,
            max_idle_seconds=pool_max_idle,
        )

    def run(self, what: str, action: Callable[[ldap3.Connection], T]) -> T:
        """Run on a pooled service connection; a stale reused one is replaced once."""
        for attempt in (1, 2):
            with self.pool.connection() as (conn, reused):
                try:
                    with translated_ldap_errors(what):
                        return action(conn)
                except DirectoryUnavailable as exc:
                    if not (reused and attempt == 1) or exc.timed_out:
                        raise
                    self.pool.discard(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        """An entry's attributes, or None when it cannot be read."""
        try:
            return self.read_entry(dn, attributes)
        except PassgateError:
            return None

    def read_entry(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        """An entry's attributes, None if it is not there to read; passgate's errors raised."""

        base = canonical_dn(dn)  # one spelling of the DN, as every other operation uses

        def entry_on(conn: ldap3.Connection) -> dict[str, list[str]] | None:
            with self._stopwatch.timed("read"):
                found = wire.read_entry(conn, base, attributes)
            if not found or not conn.response:
                return None
            raw = conn.response[0].get("attributes", {})
            return {k: all_values(vals) for k, vals in raw.items()}

        return self.run("read", entry_on)

    def ping(self) -> None:
        """Raise unless the directory answers the service account (readiness)."""

        def root_dse(conn: ldap3.Connection) -> None:
            with self._stopwatch.timed("ping"):
                conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
            results.check_ping(conn.result)

        self.run("readiness check", root_dse)


class DnCache(ShortLived[UserQuery, str]):
    """userId/username -> DN for a short time; only hits are cached, never a 404.

    A ``ttl`` of 0 turns it off.
    """

    def __init__(self, ttl: float, timer: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl, MAX_CACHED_DNS, timer)


class UserLookup:
    """From a userId or a username to the one entry's DN, and the names on that entry."""

    def __init__(
        self,
        service: ServiceAccount,
        mapper: UserMapper,
        stopwatch: Stopwatch,
        *,
        time_limit: int,
        dn_cache_ttl: float,
        name_attributes: tuple[str, ...],
        reads_for_guard: tuple[str, ...] = (),
    ) -> None:
        self._service = service
        self._mapper = mapper
        self._stopwatch = stopwatch
        self._time_limit = time_limit
        self._cache = DnCache(dn_cache_ttl)
        self._name_attributes = name_attributes
        self._reads_for_guard = list(reads_for_guard) or [ldap3.NO_ATTRIBUTES]
        self._just_read = threading.local()  # a change runs in one thread, start to end

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        return self._find_one(self._mapper.query_for_user_id(user_id), refresh)

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        return self._find_one(self._mapper.query_for_username(username), refresh)

    def _find_one(self, query: UserQuery, refresh: bool) -> str:
        if not refresh:
            cached = self._cache.get(query)
            if cached is not None:
                return cached
        result, found = self._service.run("user lookup", lambda conn: self._search(conn, query))
        # Read after the connection went back: a refusal leaves it usable.
        results.check_lookup(result, base=query.scope == "base")
        if not found:
            raise UserNotFound(f"no entry matches {query.filter}")
        if len(found) > 1:
            raise AmbiguousUser(f"several entries match {query.filter}: {list(found)}")
        # The server's spelling, written one way: every later bind, read and log uses it.
        [(server_dn, values)] = found.items()
        dn = canonical_dn(server_dn)
        self._cache.put(query, dn)
        if values is not None:
            self._just_read.entry = JustRead(dn, values, time.monotonic())
        return dn

    def just_read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        """The guard's attributes of ``dn`` if this thread's lookup read them a moment ago.

        Given once: the next change reads again. Only what the lookup asked
        for, and only within :data:`JUST_READ_SECONDS`.
        """
        entry: JustRead | None = getattr(self._just_read, "entry", None)
        self._just_read.entry = None
        if entry is None or entry.dn != dn or time.monotonic() - entry.at > JUST_READ_SECONDS:
            return None
        wanted = {a.lower() for a in attributes}
        if not wanted <= {a.lower() for a in self._reads_for_guard}:
            return None
        return entry.values

    def _search(
        self, conn: ldap3.Connection, query: UserQuery
    ) -> tuple[dict[str, object], dict[str, dict[str, list[str]] | None]]:
        """The entries found (DN -> the guard's attributes, when the dialect lets it ask)."""
        with self._stopwatch.timed("search"):
            wire.search(
                conn,
                canonical_dn(query.base),  # e.g. a users DN "OU=Sales\\, EMEA,..."
                query.scope,
                query.filter,
                self._reads_for_guard,
                size_limit=2,  # two are enough to know it is ambiguous
                time_limit=self._time_limit,
            )
        reads = self._reads_for_guard[0] != ldap3.NO_ATTRIBUTES
        found: dict[str, dict[str, list[str]] | None] = {}
        for r in conn.response or []:
            if r.get("type") == "searchResEntry":
                raw = r.get("attributes", {}) if reads else None
                found[r["dn"]] = None if raw is None else {k: all_values(v) for k, v in raw.items()}
        return dict(conn.result), found

    def names_of(self, dn: str) -> list[str]:
        """The entry's username (from its RDN when that is the username attribute) and
        the values of the configured name attributes (cn, givenName, sn, mail ...)."""
        names: list[str] = []
        wanted = list(self._name_attributes)
        username_attribute = self._mapper.username_attribute
        in_rdn = rdn_values(dn, username_attribute)  # unescaped; any AVA of a multi-valued RDN
        if in_rdn:
            names.extend(in_rdn)
        else:
            wanted.append(username_attribute)
        if wanted:
            for values in (self._service.read(dn, wanted) or {}).values():
                names.extend(values)
        return names
