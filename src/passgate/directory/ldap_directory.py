"""The :class:`~passgate.directory.base.Directory` over LDAP, for every vendor dialect.

A thin facade: discovery (:mod:`.rootdse`), lookup and its cache
(:mod:`.lookup`), the change and its settlement (:mod:`.bound`), each
answer read by the one table (:mod:`.results`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from passgate.config import LdapSettings, env_name
from passgate.directory.base import BoundUser, PoolStats
from passgate.directory.bound import UserBinds
from passgate.directory.cache import ShortLived
from passgate.directory.connection import Connector, Stopwatch
from passgate.directory.dialects import dialect_class
from passgate.directory.dialects.base import Dialect
from passgate.directory.lookup import ServiceAccount, UserLookup
from passgate.directory.mappers import UserMapper, mapper_from_settings
from passgate.directory.pool import ConnectionPool
from passgate.directory.rootdse import Discovery, RootDse
from passgate.errors import ConfigurationError, DirectoryUnavailable, PassgateError
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy

log = logging.getLogger(__name__)

MAX_CACHED_RULES = 256  # policies, PSOs, domains: a directory has a handful
# The lookup's reading of a failure counter stands only when one more than this many
# failures could not reach the threshold: otherwise the guard reads the entry afresh.
HEADROOM = 3


class RulesCache(ShortLived[tuple[str, tuple[str, ...]], dict[str, list[str]]]):
    """Entries of rules (a password policy, a PSO, the domain's settings) for a short time.

    Rules change when an administrator changes them, not on every request:
    the guard reads them once per ``ttl`` seconds instead of once per change
    (a ``ttl`` of 0 turns it off). What is cached is what the service account
    could read; an entry it could not read is asked for again next time.
    """

    def __init__(self, ttl: float, timer: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl, MAX_CACHED_RULES, timer)

    def read(
        self,
        dn: str,
        attributes: list[str],
        read: Callable[[str, list[str]], dict[str, list[str]] | None],
    ) -> dict[str, list[str]] | None:
        key = (dn.lower(), tuple(attributes))
        found = self.get(key)
        if found is None:
            found = read(dn, attributes)
            if found is not None:
                self.put(key, found)
        return found


class GuardReader:
    """The service account's reads for the last-straw guard of one entry.

    The entry's own counter is read fresh every time; any other entry the
    dialect asks for (the policy that applies to it) holds rules, and comes
    from the :class:`RulesCache`. An entry it may not read is ``None`` (the
    limiter alone then), but a directory that does not answer raises: the
    change would wait for the same silence again in the bind, and the 503
    bound would double.
    """

    def __init__(
        self,
        service: ServiceAccount,
        entry_dn: str,
        rules: RulesCache,
        just_read: Callable[[str, list[str]], dict[str, list[str]] | None] | None = None,
    ) -> None:
        self._service = service
        self._entry_dn = entry_dn
        self._rules = rules
        self._just_read = just_read
        self.used_lookups_read = False

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        if dn == self._entry_dn:
            if self._just_read is not None:
                values = self._just_read(dn, attributes)
                if values is not None:
                    self.used_lookups_read = True
                    return values
            return self._read(dn, attributes)
        return self._rules.read(dn, attributes, self._read)

    def _read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        try:
            return self._service.read_entry(dn, attributes)
        except DirectoryUnavailable:
            raise
        except PassgateError:
            return None


class LdapDirectory:
    """Finds users as the service account; changes passwords as the user."""

    @classmethod
    def from_settings(
        cls, settings: LdapSettings, *, name_attributes: tuple[str, ...] = ()
    ) -> LdapDirectory:
        """The directory the ``PASSGATE_LDAP_*`` section describes.

        ``name_attributes`` are the person's names the local rules compare
        passwords against (``PASSGATE_POLICY_NAME_ATTRIBUTES``).
        """
        try:
            dialect = dialect_class(settings.vendor)()
        except KeyError as exc:
            raise ConfigurationError(f"{env_name('ldap_vendor')}: {exc.args[0]}") from None
        return cls(
            Connector(settings),
            mapper_from_settings(settings),
            dialect,
            time_limit=settings.operation_timeout,
            pool_size=settings.idle_pool_size,
            pool_max_idle=settings.pool_max_idle,
            dn_cache_ttl=settings.dn_cache_ttl,
            rules_cache_ttl=settings.policy_cache_ttl,
            default_policy_dn=settings.default_policy_dn,
            name_attributes=name_attributes,
        )

    def __init__(
        self,
        connector: Connector,
        mapper: UserMapper,
        dialect: Dialect,
        time_limit: int = 10,
        *,
        pool_size: int = 16,
        pool_max_idle: float = 60.0,
        dn_cache_ttl: float = 60.0,
        rules_cache_ttl: float = 10.0,
        default_policy_dn: str | None = None,
        name_attributes: tuple[str, ...] = (),
    ) -> None:
        self._dialect = dialect
        self._default_policy_dn = default_policy_dn
        self._stopwatch = Stopwatch()
        self._rules = RulesCache(rules_cache_ttl)
        self._discovery = Discovery(connector, dialect.facts.vendor, dialect.adapt_to)
        self._service = ServiceAccount(
            connector, self._stopwatch, pool_size=pool_size, pool_max_idle=pool_max_idle
        )
        self._lookup = UserLookup(
            self._service,
            mapper,
            self._stopwatch,
            time_limit=time_limit,
            dn_cache_ttl=dn_cache_ttl,
            name_attributes=name_attributes,
            reads_for_guard=dialect.lookup_reads_for_guard,
        )
        self._users = UserBinds(
            connector,
            dialect,
            self._service,
            self._stopwatch,
            pool_size=pool_size,
            pool_max_idle=pool_max_idle,
        )

    @property
    def service_pool(self) -> ConnectionPool:
        return self._service.pool

    @property
    def user_pool(self) -> ConnectionPool:
        return self._users.pool

    def discover(self) -> RootDse | None:
        return self._discovery.discover()

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        self.discover()
        return self._lookup.user_dn_for(user_id, refresh=refresh)

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        self.discover()
        return self._lookup.user_dn_for_username(username, refresh=refresh)

    def bound_as(self, dn: str, old_password: str) -> AbstractContextManager[BoundUser]:
        self.discover()
        return self._users.bound_as(dn, old_password, lambda: self._lookup.names_of(dn))

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        """The directory's rules for this entry (or its default ones), as far as readable."""
        self.discover()
        try:
            return self._dialect.read_policy(self._service, dn, self._default_policy_dn)
        except PassgateError as exc:
            log.info("password policy not read: %s", exc.log_message)
            return None

    def failure_state(self, dn: str) -> FailureState | None:
        """The entry's lockout counter, as far as the service account can read it.

        When this change's lookup has just searched for the entry, its search
        read the counter too (one operation instead of two), and that reading
        is used if it leaves room: a count within :data:`HEADROOM` failures
        of the threshold is read again, since attempts made between the
        lookup and this change's turn on the entry are not in it (passgate's
        own are at most the limiter's per-entry budget, 3 by default).
        """
        self.discover()
        reader = GuardReader(self._service, dn, self._rules, self._lookup.just_read)
        try:
            state = self._dialect.read_failure_state(
                reader, dn, self._default_policy_dn, time.time()
            )
            if reader.used_lookups_read and (state is None or not state.has_room(HEADROOM)):
                reader = GuardReader(self._service, dn, self._rules)
                state = self._dialect.read_failure_state(
                    reader, dn, self._default_policy_dn, time.time()
                )
            return state
        except DirectoryUnavailable:
            raise  # 503 now, not after the bind has waited for the same silence
        except PassgateError as exc:
            log.info("failure state of %s not read: %s", dn, exc.log_message)
            return None

    def ping(self) -> None:
        self._service.ping()

    def instrument(self, observe: Callable[[str, float], None]) -> Mapping[str, PoolStats]:
        self._stopwatch.observe = observe
        return {"service": self._service.pool, "user": self._users.pool}

    def close(self) -> None:
        self._service.pool.close()
        self._users.pool.close()
