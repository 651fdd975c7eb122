"""The change: bind as the user with the old password, then set the new one, truthfully.

Runs on pooled connections that are rebound as each user in turn. A refusal
is an answer, not a broken connection: the connection goes back to the pool
(after a failed bind it is anonymous, RFC 4511 4.2.1). A pooled connection
the server dropped is replaced once; a silent server is not waited for twice.
If the connection breaks after the password modify was sent, binds with the
new and then the old password find out what the directory did.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import ldap3

from passgate.directory import ppolicy
from passgate.directory.connection import (
    Connector,
    Stopwatch,
    bind_password,
    close_quietly,
    scrub,
)
from passgate.directory.dialects.base import Dialect
from passgate.directory.lookup import ServiceAccount
from passgate.directory.pool import ConnectionPool
from passgate.directory.results import MustSetAsService, translated_ldap_errors
from passgate.errors import (
    AccountLocked,
    DirectoryUnavailable,
    IncorrectOldPassword,
    PasswordExpired,
    PasswordPolicyRejected,
)

log = logging.getLogger(__name__)

# Refusals that leave the user connection usable (the bind failed or the server said no).
ANSWERS = (IncorrectOldPassword, PasswordPolicyRejected, AccountLocked, PasswordExpired)


class UserBinds:
    """Binds as users on pooled connections; :meth:`bound_as` is the Directory's."""

    def __init__(
        self,
        connector: Connector,
        dialect: Dialect,
        service: ServiceAccount,
        stopwatch: Stopwatch,
        *,
        pool_size: int,
        pool_max_idle: float,
    ) -> None:
        self._connector = connector
        self._dialect = dialect
        self._service = service
        self._stopwatch = stopwatch
        self.pool = ConnectionPool(
            connector.open, max_idle_connections=pool_size, max_idle_seconds=pool_max_idle
        )

    @contextlib.contextmanager
    def bound_as(
        self, dn: str, old_password: str, names: Callable[[], list[str]]
    ) -> Iterator[BoundEntry]:
        refusal: BaseException | None = None
        for attempt in (1, 2):
            with self.pool.connection() as (conn, reused):
                try:
                    must_set_as_service = self._bind(conn, dn, old_password)
                    bound = BoundEntry(self, conn, dn, old_password, names, must_set_as_service)
                    try:
                        yield bound
                    finally:
                        bound.forget()
                    return
                except _StaleConnection as stale:
                    # A pooled connection the server dropped fails at once: retry on a
                    # fresh one. A silent server would only cost a second timeout.
                    if not (reused and attempt == 1) or stale.timed_out:
                        raise DirectoryUnavailable("bind as the user: connection lost") from None
                    self.pool.discard(conn)
                except ANSWERS as answer:
                    refusal = answer  # given back to the pool below, then raised
                finally:
                    scrub(conn)
            if refusal is not None:
                raise refusal
        raise AssertionError("unreachable")  # pragma: no cover

    def _bind(self, conn: ldap3.Connection, dn: str, old: str) -> bool:
        """Prove the old password; True if only the service account can set the new one."""
        conn.user, conn.password = dn, bind_password(old)
        try:
            with translated_ldap_errors("bind as the user"), self._stopwatch.timed("bind"):
                response = self._dialect.verify_old_password(conn)
        except DirectoryUnavailable as exc:
            raise _StaleConnection(exc.timed_out) from None
        except MustSetAsService as why:
            log.info("%s: %s; only a privileged account can set it", dn, why)
            return True
        if response and response.error == ppolicy.PolicyError.CHANGE_AFTER_RESET:
            log.info("%s must change its password (reset by an administrator)", dn)
        return False

    def set_password(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> None:
        try:
            with (
                translated_ldap_errors("password modify"),
                self._stopwatch.timed("password_modify"),
            ):
                self._dialect.set_password(conn, dn, old, new)
        except DirectoryUnavailable as lost:
            if not lost.lost:
                raise  # an answer (busy, unavailable), not a broken connection
            # The request may have reached the server: find out what it did.
            log.warning("connection lost during password modify for %s: %s", dn, lost.log_message)
            self.pool.discard(conn)
            self._settle_lost_modify(dn, old, new)
        except PasswordPolicyRejected as refusal:
            raise self._dialect.refine_rejection(refusal, dn, new, self._service) from None

    def set_as_service(self, dn: str, new_password: str) -> None:
        def set_it(conn: ldap3.Connection) -> None:
            self._dialect.set_password_as_service(conn, dn, new_password)

        self._service.run("password set as the service account", set_it)

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
                return bool(conn.bind())
        except DirectoryUnavailable:
            return False
        finally:
            close_quietly(conn)


class BoundEntry:
    """A user's entry with the old password proven (the ``BoundUser`` of the Directory seam)."""

    __slots__ = ("_binds", "_conn", "_names", "_old", "_service_sets", "dn")

    def __init__(
        self,
        binds: UserBinds,
        conn: ldap3.Connection,
        dn: str,
        old_password: str,
        names: Callable[[], list[str]],
        must_set_as_service: bool,
    ) -> None:
        self._binds = binds
        self._conn = conn
        self.dn = dn
        self._old: str | None = old_password
        self._names = names
        self._service_sets = must_set_as_service

    def __repr__(self) -> str:
        return f"BoundEntry({self.dn!r})"

    def names(self) -> list[str]:
        return self._names()

    def set_password(self, new_password: str) -> None:
        if self._old is None:
            raise RuntimeError("the bound entry is used outside its block")
        if self._service_sets:
            # The bind proved the old password, and the directory lets only a
            # privileged account set the new one (with the policy-hints control).
            self._binds.set_as_service(self.dn, new_password)
        else:
            self._binds.set_password(self._conn, self.dn, self._old, new_password)

    def forget(self) -> None:
        self._old = None


class _StaleConnection(Exception):
    """The user bind failed for want of a working connection."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__()
        self.timed_out = timed_out
