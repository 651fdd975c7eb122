"""The :class:`~passgate.directory.base.Directory` over LDAP, for every vendor dialect."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import ldap3
from ldap3.core import exceptions as ldap_exc

from passgate.directory import ppolicy
from passgate.directory.connection import (
    UNAVAILABLE_RESULTS,
    Connector,
    close_quietly,
    translated_ldap_errors,
)
from passgate.directory.dialects.base import Dialect, MustSetAsService, RootDse, all_values
from passgate.directory.mappers import UserMapper, UserQuery
from passgate.directory.pool import ConnectionPool
from passgate.errors import (
    AccountLocked,
    AmbiguousUser,
    DirectoryMisconfigured,
    DirectoryUnavailable,
    IncorrectOldPassword,
    PassgateError,
    PasswordExpired,
    PasswordPolicyRejected,
    UserNotFound,
)
from passgate.policy.model import DirectoryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")
_SCOPES = {"base": ldap3.BASE, "one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
MAX_CACHED_DNS = 100_000
# Refusals that leave the user connection usable (the bind failed or the server said no).
ANSWERS = (IncorrectOldPassword, PasswordPolicyRejected, AccountLocked, PasswordExpired)
NO_SUCH_OBJECT = 32
SIZE_LIMIT_EXCEEDED = 4


class LdapDirectory:
    """Finds users as the service account; changes passwords as the user."""

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
        default_policy_dn: str | None = None,
        name_attributes: tuple[str, ...] = (),
    ) -> None:
        # Called with (operation, seconds) after each LDAP operation (metrics).
        self.observe: Callable[[str, float], None] = lambda operation, seconds: None
        self._default_policy_dn = default_policy_dn
        self._name_attributes = name_attributes
        self._connector = connector
        self._mapper = mapper
        self._dialect = dialect
        self._time_limit = time_limit
        self.service_pool = ConnectionPool(
            connector.service_connection,
            max_idle_connections=pool_size,
            max_idle_seconds=pool_max_idle,
        )
        self.user_pool = ConnectionPool(
            connector.open, max_idle_connections=pool_size, max_idle_seconds=pool_max_idle
        )
        self._dn_cache = DnCache(dn_cache_ttl)
        self._discovered = False
        self._discovery_lock = threading.Lock()
        self.root_dse: RootDse | None = None

    # -- discovery -------------------------------------------------------------

    def discover(self) -> RootDse | None:
        """Read the RootDSE once and let the dialect adapt; retried until it succeeds.

        A directory that does not answer fails the request here, at once: going
        on to the lookup would only wait a second timeout for the same silence.
        """
        if self._discovered:
            return self.root_dse
        with self._discovery_lock:
            if self._discovered:
                return self.root_dse
            try:
                conn = self._connector.service_connection()
            except DirectoryUnavailable:
                raise
            except PassgateError as exc:
                log.warning("RootDSE not read yet: %s", exc.log_message)
                return None
            try:
                with translated_ldap_errors("RootDSE"):
                    attributes = list(RootDse.ATTRIBUTES)
                    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=attributes)
                entry = conn.response[0]["attributes"] if conn.response else {}
            except DirectoryUnavailable:
                raise
            except PassgateError as exc:
                log.warning("RootDSE not read yet: %s", exc.log_message)
                return None
            finally:
                close_quietly(conn)
            self.root_dse = RootDse.from_entry(entry)
            log.info(
                "directory: %s %s (dialect %s)",
                self.root_dse.vendor_name or "(no vendorName)",
                self.root_dse.vendor_version,
                self._dialect.facts.vendor,
            )
            self._dialect.adapt_to(self.root_dse)
            self._discovered = True
            return self.root_dse

    # -- lookup ----------------------------------------------------------------

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        return self._find_one(self._mapper.query_for_user_id(user_id), refresh)

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        return self._find_one(self._mapper.query_for_username(username), refresh)

    def _find_one(self, query: UserQuery, refresh: bool) -> str:
        self.discover()
        if not refresh:
            cached = self._dn_cache.get(query)
            if cached is not None:
                return cached
        result, dns = self._as_service("user lookup", lambda conn: self._search(conn, query))
        code = result.get("result")
        if code == NO_SUCH_OBJECT:
            if query.scope == "base":
                raise UserNotFound(f"no entry {query.base}")
            raise DirectoryMisconfigured(f"users DN {query.base} does not exist")
        if code in UNAVAILABLE_RESULTS:
            raise DirectoryUnavailable(f"user lookup: result {code}")
        if code not in (0, SIZE_LIMIT_EXCEEDED):
            raise PassgateError(f"user lookup: result {code} {result.get('message')}")
        if not dns:
            raise UserNotFound(f"no entry matches {query.filter}")
        if len(dns) > 1:
            raise AmbiguousUser(f"several entries match {query.filter}: {dns}")
        self._dn_cache.put(query, dns[0])
        return dns[0]

    @contextlib.contextmanager
    def _timed(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(operation, time.perf_counter() - started)

    def ping(self) -> None:
        """Raise unless the directory answers the service account (readiness)."""

        def root_dse(conn: ldap3.Connection) -> None:
            with self._timed("ping"):
                conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
            if conn.result.get("result") != 0:
                raise DirectoryUnavailable(f"RootDSE read: {conn.result.get('description')}")

        self._as_service("readiness check", root_dse)

    def _search(
        self, conn: ldap3.Connection, query: UserQuery
    ) -> tuple[dict[str, object], list[str]]:
        with self._timed("search"):
            conn.search(
                query.base,
                query.filter,
                search_scope=_SCOPES[query.scope],
                attributes=[ldap3.NO_ATTRIBUTES],
                size_limit=2,  # two are enough to know it is ambiguous
                time_limit=self._time_limit,
            )
        dns = [r["dn"] for r in conn.response or [] if r.get("type") == "searchResEntry"]
        return dict(conn.result), dns

    def _as_service(self, what: str, action: Callable[[ldap3.Connection], T]) -> T:
        """Run on a pooled service connection; a stale reused one is replaced once."""
        for attempt in (1, 2):
            with self.service_pool.connection() as (conn, reused):
                try:
                    with translated_ldap_errors(what):
                        return action(conn)
                except DirectoryUnavailable as exc:
                    if not (reused and attempt == 1) or exc.timed_out:
                        raise
                    self.service_pool.discard(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        """An entry's attributes as the service account, or None (the PolicyReader seam)."""

        def read_entry(conn: ldap3.Connection) -> dict[str, list[str]] | None:
            with self._timed("read"):
                found = conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
            if not found or not conn.response:
                return None
            raw = conn.response[0].get("attributes", {})
            return {k: all_values(vals) for k, vals in raw.items()}

        try:
            return self._as_service("read", read_entry)
        except PassgateError:
            return None

    # -- change ----------------------------------------------------------------

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        """The directory's rules for this entry (or its default ones), as far as readable."""
        self.discover()
        try:
            return self._dialect.read_policy(self, dn, self._default_policy_dn)
        except PassgateError as exc:
            log.info("password policy not read: %s", exc.log_message)
            return None

    def names_of(self, dn: str) -> list[str]:
        """The entry's username (from its RDN when that is the username attribute) and
        the values of the configured name attributes (cn, givenName, sn, mail ...)."""
        names: list[str] = []
        wanted = list(self._name_attributes)
        username_attribute = self._mapper.username_attribute
        rdn = ldap3.utils.dn.parse_dn(dn, escape=False)[0] if dn else None
        if rdn is not None and rdn[0].lower() == username_attribute.lower():
            names.append(rdn[1])
        else:
            wanted.append(username_attribute)
        if wanted:
            for values in (self.read(dn, wanted) or {}).values():
                names.extend(values)
        return names

    def change_password(
        self,
        dn: str,
        old_password: str,
        new_password: str,
        check_new: Callable[[], None] | None = None,
    ) -> None:
        self.discover()
        for attempt in (1, 2):
            refusal: PassgateError | None = None
            with self.user_pool.connection() as (conn, reused):
                try:
                    self._change_on(conn, dn, old_password, new_password, check_new)
                    return
                except _StaleConnection as stale:
                    # A pooled connection the server dropped fails at once: retry on a
                    # fresh one. A silent server would only cost a second timeout.
                    if not (reused and attempt == 1) or stale.timed_out:
                        raise DirectoryUnavailable("bind as the user: connection lost") from None
                    self.user_pool.discard(conn)
                except ANSWERS as answer:
                    # A refusal is an answer, not a broken connection: the connection
                    # goes back to the pool (after a failed bind it is anonymous).
                    refusal = answer
                finally:
                    scrub(conn)
            if refusal is not None:
                raise refusal
        raise AssertionError("unreachable")  # pragma: no cover

    def _change_on(
        self,
        conn: ldap3.Connection,
        dn: str,
        old: str,
        new: str,
        check_new: Callable[[], None] | None,
    ) -> None:
        conn.user, conn.password = dn, bind_password(old)
        try:
            with translated_ldap_errors("bind as the user"), self._timed("bind"):
                response = self._dialect.verify_old_password(conn)
        except DirectoryUnavailable as exc:
            raise _StaleConnection(exc.timed_out) from None
        except MustSetAsService as why:
            log.info("%s: %s; only a privileged account can set it", dn, why)
            if check_new is not None:
                check_new()  # the old password is proven: passgate's own rules next
            self._set_as_service(dn, new)
            return
        if response and response.error == ppolicy.PolicyError.CHANGE_AFTER_RESET:
            log.info("%s must change its password (reset by an administrator)", dn)
        if check_new is not None:
            check_new()  # the old password is proven: passgate's own rules next
        try:
            with self._timed("password_modify"):
                self._dialect.set_password(conn, dn, old, new)
        except ldap_exc.LDAPCommunicationError as exc:
            # The request may have reached the server: find out what it did.
            log.warning("connection lost during password modify for %s: %s", dn, exc)
            self.user_pool.discard(conn)
            self._settle_lost_modify(dn, old, new)
        except PasswordPolicyRejected as refusal:
            raise self._dialect.refine_rejection(refusal, dn, new, self) from None

    def _set_as_service(self, dn: str, new_password: str) -> None:
        def set_it(conn: ldap3.Connection) -> None:
            self._dialect.set_password_as_service(conn, dn, new_password)

        self._as_service("password set as the service account", set_it)

    def _settle_lost_modify(self, dn: str, old_password: str, new_password: str) -> None:
        """Return if the new password took effect; raise DirectoryUnavailable if not or unknown.

        Binds with the new password first (the likely outcome when the request
        was sent), then with the old. A failed probe counts as one failed bind
        in the directory's lockout counter; that is the price of the truth.
        """
        if self._password_works(dn, new_password):
            log.info("password modify for %s did take effect", dn)
            return
        if self._password_works(dn, old_password):
            raise DirectoryUnavailable(f"password modify for {dn} was lost; nothing changed")
        raise DirectoryUnavailable(f"password modify for {dn}: outcome could not be verified")

    def _password_works(self, dn: str, password: str) -> bool:
        try:
            conn = self._connector.open(dn, bind_password(password))
        except DirectoryUnavailable:
            return False
        try:
            with translated_ldap_errors("verification bind"):
                conn.bind()
            return bool(conn.result.get("result") == 0)
        except DirectoryUnavailable:
            return False
        finally:
            close_quietly(conn)


class _StaleConnection(Exception):
    """The user bind failed for want of a working connection."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__()
        self.timed_out = timed_out


def bind_password(password: str) -> bytes:
    """The password as the bind sends it: UTF-8, exactly as the password modify sets it.

    ldap3 runs SASLprep on a ``str`` password (and raises on characters it
    prohibits, such as control characters); it sends ``bytes`` unchanged.
    The extended operation carries the new password unprepared, and so do
    OpenLDAP's tools and Keycloak, so the bind must too: what was set is
    what is checked, and any string is at worst a wrong password.
    """
    return password.encode("utf-8")


def scrub(conn: ldap3.Connection) -> None:
    """Forget the last password a pooled connection saw (ldap3 keeps the last request)."""
    conn.password = None
    conn.request = None


class DnCache:
    """userId/username -> DN for a short time; only hits are cached, never a 404."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[UserQuery, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, query: UserQuery) -> str | None:
        if self._ttl <= 0:
            return None
        with self._lock:
            found = self._entries.get(query)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._entries[query]
                return None
            return found[0]

    def put(self, query: UserQuery, dn: str) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHED_DNS:
                self._entries.clear()  # crude but bounded; a miss costs one search
            self._entries[query] = (dn, self._clock() + self._ttl)
