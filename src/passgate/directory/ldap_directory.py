"""The :class:`~passgate.directory.base.Directory` over LDAP (RFC 3062 servers)."""

from __future__ import annotations

import logging

import ldap3
from ldap3.core import exceptions as ldap_exc

from passgate.directory import outcomes, ppolicy
from passgate.directory.connection import (
    UNAVAILABLE_RESULTS,
    Connector,
    close_quietly,
    translated_ldap_errors,
)
from passgate.directory.mappers import UserMapper, UserQuery
from passgate.errors import (
    AmbiguousUser,
    DirectoryMisconfigured,
    DirectoryUnavailable,
    PassgateError,
    UserNotFound,
)

log = logging.getLogger(__name__)

_SCOPES = {"base": ldap3.BASE, "one": ldap3.LEVEL, "sub": ldap3.SUBTREE}
NO_SUCH_OBJECT = 32
SIZE_LIMIT_EXCEEDED = 4


class LdapDirectory:
    """Finds users as the service account; changes passwords as the user."""

    def __init__(self, connector: Connector, mapper: UserMapper, time_limit: int = 10) -> None:
        self._connector = connector
        self._mapper = mapper
        self._time_limit = time_limit

    # -- lookup ----------------------------------------------------------------

    def user_dn_for(self, user_id: str) -> str:
        return self._find_one(self._mapper.query_for_user_id(user_id))

    def user_dn_for_username(self, username: str) -> str:
        return self._find_one(self._mapper.query_for_username(username))

    def _find_one(self, query: UserQuery) -> str:
        conn = self._connector.service_connection()
        try:
            with translated_ldap_errors("user lookup"):
                conn.search(
                    query.base,
                    query.filter,
                    search_scope=_SCOPES[query.scope],
                    attributes=[ldap3.NO_ATTRIBUTES],
                    size_limit=2,  # two are enough to know it is ambiguous
                    time_limit=self._time_limit,
                )
            result = conn.result
            dns = [r["dn"] for r in conn.response or [] if r.get("type") == "searchResEntry"]
        finally:
            close_quietly(conn)
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
        dn: str = dns[0]
        return dn

    # -- change ----------------------------------------------------------------

    def change_password(self, dn: str, old_password: str, new_password: str) -> None:
        conn = self._connector.open(dn, old_password)
        try:
            with translated_ldap_errors("bind as the user"):
                conn.bind(controls=[ppolicy.request_control()])
            response = outcomes.check_bind(conn.result)
            if response and response.error == ppolicy.PolicyError.CHANGE_AFTER_RESET:
                log.info("%s must change its password (reset by an administrator)", dn)
            try:
                conn.extend.standard.modify_password(
                    old_password=old_password,
                    new_password=new_password,
                    controls=[ppolicy.request_control()],
                )
            except ldap_exc.LDAPCommunicationError as exc:
                # The request may have reached the server: find out what it did.
                log.warning("connection lost during password modify for %s: %s", dn, exc)
                self._settle_lost_modify(dn, old_password, new_password)
                return
            outcomes.check_password_modify(conn.result, same_as_old=old_password == new_password)
        finally:
            close_quietly(conn)

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
            conn = self._connector.open(dn, password)
        except DirectoryUnavailable:
            return False
        try:
            with translated_ldap_errors("verification bind"):
                conn.bind(controls=[ppolicy.request_control()])
            return bool(conn.result.get("result") == outcomes.SUCCESS)
        except DirectoryUnavailable:
            return False
        finally:
            close_quietly(conn)
