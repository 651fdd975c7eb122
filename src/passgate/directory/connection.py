"""Opening LDAP connections: failover across URLs, TLS, timeouts.

This module and :mod:`passgate.directory.ldap_directory` are the only
places that touch ldap3 connections; ldap3's exceptions are translated into
passgate's errors here, in :func:`translated_ldap_errors`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_exc

from passgate.config import Settings
from passgate.errors import (
    DirectoryMisconfigured,
    DirectoryUnavailable,
    PassgateError,
)

log = logging.getLogger(__name__)

# Results that mean "the server is there but cannot serve now".
UNAVAILABLE_RESULTS = frozenset({51, 52})  # busy, unavailable


@contextlib.contextmanager
def translated_ldap_errors(action: str) -> Iterator[None]:
    """Turn ldap3's exceptions into passgate's; passgate's own errors pass through."""
    try:
        yield
    except PassgateError:
        raise
    except (ldap_exc.LDAPCommunicationError, ldap_exc.LDAPStartTLSError, OSError) as exc:
        timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
        raise DirectoryUnavailable(
            f"{action}: {type(exc).__name__}: {exc}", timed_out=timed_out
        ) from None
    except ldap_exc.LDAPException as exc:
        raise PassgateError(f"{action}: {type(exc).__name__}: {exc}") from None


# ldap3 wraps ssl's message in tuples and reprs: find the part that explains.
TLS_VERIFY_FAILURE = re.compile(r"(certificate verify failed: [^'(\"]*?)\s*(?:\(_ssl|['\"]|$)")


class Connector:
    """Opens connections to the first configured server that answers, in order."""

    def __init__(self, settings: Settings) -> None:
        self.last_failure: str | None = None  # why the last URL could not be used
        self._settings = settings
        self._tls = self._tls_config(settings)
        self._urls = settings.ldap_urls

    @staticmethod
    def _tls_config(settings: Settings) -> ldap3.Tls:
        return ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_file=str(settings.ldap_ca_file) if settings.ldap_ca_file else None,
            valid_names=[settings.ldap_tls_server_name] if settings.ldap_tls_server_name else None,
        )

    def _server(self, url: str) -> ldap3.Server:
        parts = urlsplit(url)
        use_ssl = parts.scheme.lower() == "ldaps"
        return ldap3.Server(
            parts.hostname,
            port=parts.port or (636 if use_ssl else 389),
            use_ssl=use_ssl,
            tls=self._tls,
            get_info=ldap3.NONE,
            connect_timeout=self._settings.ldap_connect_timeout,
        )

    def open(
        self, user: str | None = None, password: str | bytes | None = None
    ) -> ldap3.Connection:
        """An open (TLS-protected where configured) connection that is not bound yet."""
        last: Exception | None = None
        # A fresh Server per attempt: ldap3 marks an address that failed once
        # as unavailable for several seconds, shared by every thread; the
        # failover order is ours to decide.
        for url in self._urls:
            server = self._server(url)
            conn = ldap3.Connection(
                server,
                user=user,
                password=password,
                authentication=ldap3.SIMPLE,  # also for pooled user connections, bound later
                auto_bind=ldap3.AUTO_BIND_NONE,
                client_strategy=ldap3.SYNC,
                receive_timeout=self._settings.ldap_operation_timeout,
                auto_referrals=False,
                raise_exceptions=False,
                read_only=False,
                # No schema is read (get_info=NONE), so ldap3 has nothing to check
                # names against; values are escaped by the mappers.
                check_names=False,
            )
            try:
                conn.open()
                if self._settings.ldap_start_tls and not server.ssl and not conn.start_tls():
                    raise ldap_exc.LDAPStartTLSError(f"StartTLS refused: {conn.result}")
                return conn
            except (
                ldap_exc.LDAPCommunicationError,
                ldap_exc.LDAPStartTLSError,
                ldap_exc.LDAPCertificateError,
                OSError,
            ) as exc:
                self.last_failure = self._unusable(url, exc)
                log.warning("%s", self.last_failure)
                last = exc
                close_quietly(conn)
        raise DirectoryUnavailable(f"no directory server answered (last error: {last})")

    def _unusable(self, url: str, exc: Exception) -> str:
        """One log line an operator can act on; a TLS refusal says which CAs were used."""
        text = str(exc)
        found = TLS_VERIFY_FAILURE.search(text)
        if isinstance(exc, ldap_exc.LDAPCertificateError) or "match any name" in text:
            names = ", ".join(re.findall(r"\('(?:DNS|IP Address)', '([^']*)'\)", text)) or "?"
            return (
                f"TLS certificate of {url} not trusted: it names {names}, not the host "
                "(set PASSGATE_LDAP_TLS_SERVER_NAME to a name it carries, or connect by that name)"
            )
        if found is None:
            return f"directory server {url} unusable: {text}"
        cas = self._settings.ldap_ca_file or "the system CAs"
        return (
            f"TLS certificate of {url} not trusted: {found.group(1)} "
            f"(checked against {cas}; PASSGATE_LDAP_CA_FILE, PASSGATE_LDAP_TLS_SERVER_NAME)"
        )

    def service_connection(self) -> ldap3.Connection:
        """A connection bound as the service account (``PASSGATE_LDAP_BIND_DN``)."""
        settings = self._settings
        credential = settings.ldap_bind_credential.get_secret_value().encode("utf-8")  # unprepared
        conn = self.open(settings.ldap_bind_dn, credential)
        with translated_ldap_errors("service account bind"):
            if not conn.bind():
                result = conn.result
                close_quietly(conn)
                code = result.get("result")
                if code in UNAVAILABLE_RESULTS:
                    raise DirectoryUnavailable(f"service bind: result {code}")
                raise DirectoryMisconfigured(
                    f"the directory refused the service account bind "
                    f"({code} {result.get('description')}: {result.get('message')})"
                )
        return conn


def close_quietly(conn: ldap3.Connection) -> None:
    with contextlib.suppress(Exception):
        conn.unbind()
