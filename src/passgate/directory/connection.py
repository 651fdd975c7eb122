"""Opening LDAP connections (failover across URLs, TLS, timeouts), and timing their use.

ldap3's exceptions become passgate's in :mod:`passgate.directory.results`
(the one edge); a server that cannot be used is the next URL's turn.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import time
from collections.abc import Callable
from types import TracebackType
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPSSLConfigurationError

from passgate import cooperative
from passgate.config import LdapSettings
from passgate.directory import results
from passgate.directory.results import UnusableServer, connecting, translated_ldap_errors
from passgate.directory.strategy import cooperating
from passgate.errors import ConfigurationError, DirectoryUnavailable

log = logging.getLogger(__name__)


# ldap3 wraps ssl's message in tuples and reprs: find the part that explains.
TLS_VERIFY_FAILURE = re.compile(r"(certificate verify failed: [^'(\"]*?)\s*(?:\(_ssl|['\"]|$)")


class Connector:
    """Opens connections to the first configured server that answers, in order."""

    def __init__(self, settings: LdapSettings) -> None:
        self.last_failure: str | None = None  # why the last URL could not be used
        self._settings = settings
        self._tls = self._tls_config(settings)
        self._urls = settings.urls

    @staticmethod
    def _tls_config(settings: LdapSettings) -> ldap3.Tls:
        try:
            return ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
                ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
                valid_names=[settings.tls_server_name] if settings.tls_server_name else None,
            )
        except LDAPSSLConfigurationError:
            # The settings check the file; here it went missing since (ldap3: "invalid CA
            # public key file", raised for a path that does not exist).
            raise ConfigurationError(
                f"PASSGATE_LDAP_CA_FILE: {settings.ca_file} is not a file"
            ) from None

    def _server(self, url: str) -> ldap3.Server:
        parts = urlsplit(url)
        use_ssl = parts.scheme.lower() == "ldaps"
        return ldap3.Server(
            parts.hostname,
            port=parts.port or (636 if use_ssl else 389),
            use_ssl=use_ssl,
            tls=self._tls,
            get_info=ldap3.NONE,
            connect_timeout=self._settings.connect_timeout,
        )

    def open(
        self, user: str | None = None, password: str | bytes | None = None
    ) -> ldap3.Connection:
        """An open (TLS-protected where configured) connection that is not bound yet."""
        last: str | None = None
        # A fresh Server per attempt: ldap3 marks an address that failed once
        # as unavailable for several seconds, shared by every thread; the
        # failover order is ours to decide.
        for url in self._urls:
            server = self._server(url)
            conn = cooperating(
                ldap3.Connection(
                    server,
                    user=user,
                    password=password,
                    authentication=ldap3.SIMPLE,  # also for pooled user connections, bound later
                    auto_bind=ldap3.AUTO_BIND_NONE,
                    client_strategy=ldap3.SYNC,
                    receive_timeout=self._settings.operation_timeout,
                    auto_referrals=False,
                    raise_exceptions=False,
                    read_only=False,
                    # No schema is read (get_info=NONE), so ldap3 has nothing to check
                    # names against; values are escaped by the mappers.
                    check_names=False,
                )
            )
            try:
                # The connect and the TLS handshake block: in a thread when on the loop.
                cooperative.off_loop(self._secure, conn, server)
                return conn
            except UnusableServer as lost:
                self.last_failure = self._unusable(url, lost)
                log.warning("%s", self.last_failure)
                last = lost.reason
                close_quietly(conn)
        raise DirectoryUnavailable(f"no directory server answered (last error: {last})")

    def _secure(self, conn: ldap3.Connection, server: ldap3.Server) -> None:
        with connecting():
            conn.open()
            if self._settings.start_tls and not server.ssl and not conn.start_tls():
                raise UnusableServer(f"StartTLS refused: {conn.result}")

    def _unusable(self, url: str, lost: UnusableServer) -> str:
        """One log line an operator can act on; a TLS refusal says which CAs were used."""
        text = lost.reason
        found = TLS_VERIFY_FAILURE.search(text)
        if lost.certificate or "match any name" in text:
            names = ", ".join(re.findall(r"\('(?:DNS|IP Address)', '([^']*)'\)", text)) or "?"
            return (
                f"TLS certificate of {url} not trusted: it names {names}, not the host "
                "(set PASSGATE_LDAP_TLS_SERVER_NAME to a name it carries, or connect by that name)"
            )
        if found is None:
            return f"directory server {url} unusable: {text}"
        cas = self._settings.ca_file or "the system CAs"
        return (
            f"TLS certificate of {url} not trusted: {found.group(1)} "
            f"(checked against {cas}; PASSGATE_LDAP_CA_FILE, PASSGATE_LDAP_TLS_SERVER_NAME)"
        )

    def service_connection(self) -> ldap3.Connection:
        """A connection bound as the service account (``PASSGATE_LDAP_BIND_DN``)."""
        settings = self._settings
        credential = settings.bind_credential.get_secret_value().encode("utf-8")  # unprepared
        conn = self.open(settings.bind_dn, credential)
        try:
            with translated_ldap_errors("service account bind"):
                conn.bind()
            results.check_service_bind(conn.result)
        except BaseException:
            close_quietly(conn)
            raise
        return conn


def close_quietly(conn: ldap3.Connection) -> None:
    with contextlib.suppress(Exception):
        conn.unbind()


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


class Stopwatch:
    """Times LDAP operations for the metrics: ``observe(operation, seconds)``."""

    def __init__(self) -> None:
        self.observe: Callable[[str, float], None] = lambda operation, seconds: None

    def timed(self, operation: str) -> _Timing:
        """``with stopwatch.timed("bind"): ...``: observed however the block ends."""
        return _Timing(self, operation)


class _Timing:
    """One timed LDAP operation (a class, not a generator: three or four per change)."""

    __slots__ = ("_operation", "_started", "_stopwatch")

    def __init__(self, stopwatch: Stopwatch, operation: str) -> None:
        self._stopwatch = stopwatch
        self._operation = operation
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopwatch.observe(self._operation, time.perf_counter() - self._started)
