"""The RootDSE (RFC 4512, 5.1): what a server says it is and supports, read once.

Discovery lets the dialect adapt (the Password Modify extended operation
not advertised, a vendor other than the one configured) before the first
lookup or change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import ldap3

from passgate import cooperative
from passgate.directory.connection import Connector, close_quietly
from passgate.directory.results import translated_ldap_errors
from passgate.errors import DirectoryUnavailable, PassgateError

log = logging.getLogger(__name__)

AD_CAPABILITY = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID


def all_values(value: object) -> list[str]:
    """An attribute as ldap3 returns it (one value, a list, or nothing) as strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def first_value(value: object) -> str:
    values = all_values(value)
    return values[0] if values else ""


@dataclass(frozen=True)
class RootDse:
    vendor_name: str = ""
    vendor_version: str = ""
    extensions: frozenset[str] = frozenset()
    controls: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()

    #: What :meth:`from_entry` reads.
    ATTRIBUTES: ClassVar[tuple[str, ...]] = (
        "vendorName",
        "vendorVersion",
        "supportedExtension",
        "supportedControl",
        "supportedCapabilities",
    )

    @classmethod
    def from_entry(cls, entry: Mapping[str, object]) -> RootDse:
        return cls(
            vendor_name=first_value(entry.get("vendorName")),
            vendor_version=first_value(entry.get("vendorVersion")),
            extensions=frozenset(all_values(entry.get("supportedExtension"))),
            controls=frozenset(all_values(entry.get("supportedControl"))),
            capabilities=frozenset(all_values(entry.get("supportedCapabilities"))),
        )

    @property
    def is_active_directory(self) -> bool:
        return AD_CAPABILITY in self.capabilities


class Discovery:
    """Reads the RootDSE once and lets the dialect adapt; retried until it succeeds."""

    def __init__(
        self, connector: Connector, vendor: str, adapt_to: Callable[[RootDse], None]
    ) -> None:
        """``adapt_to`` is the dialect's: it adjusts to what the server advertises."""
        self._connector = connector
        self._vendor = vendor
        self._adapt_to = adapt_to
        self._lock = threading.Lock()
        self.root_dse: RootDse | None = None
        self._done = False

    def discover(self) -> RootDse | None:
        """The RootDSE, read on the first call that reaches the directory.

        A directory that does not answer fails the request here, at once: going
        on to the lookup would only wait a second timeout for the same silence.
        """
        if self._done:
            return self.root_dse
        # Under a lock while it reads: in a thread when on the loop (see passgate.cooperative).
        return cooperative.off_loop(self._discover)

    def _discover(self) -> RootDse | None:
        with self._lock:
            if self._done:
                return self.root_dse
            try:
                entry = self._read()
            except DirectoryUnavailable:
                raise
            except PassgateError as exc:
                log.warning("RootDSE not read yet: %s", exc.log_message)
                return None
            self.root_dse = RootDse.from_entry(entry)
            log.info(
                "directory: %s %s (dialect %s)",
                self.root_dse.vendor_name or "(no vendorName)",
                self.root_dse.vendor_version,
                self._vendor,
            )
            self._adapt_to(self.root_dse)
            self._done = True
            return self.root_dse

    def _read(self) -> Mapping[str, object]:
        conn = self._connector.service_connection()
        try:
            with translated_ldap_errors("RootDSE"):
                conn.search("", "(objectClass=*)", ldap3.BASE, attributes=list(RootDse.ATTRIBUTES))
            entry: Mapping[str, object] = conn.response[0]["attributes"] if conn.response else {}
            return entry
        finally:
            close_quietly(conn)
