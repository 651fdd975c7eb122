"""Vendor dialects, registered through the ``passgate.dialects`` entry-point group.

The built-in ones register exactly as a third party would (see
``pyproject.toml``), so the plugin mechanism is exercised by passgate's own
code. A third-party package adds ``[project.entry-points."passgate.dialects"]
myvendor = "mypackage.module:MyDialect"`` and ``PASSGATE_LDAP_VENDOR=myvendor``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from passgate.directory.dialects.base import Dialect, VendorDefaults

GROUP = "passgate.dialects"


def available_dialects() -> dict[str, type[Dialect]]:
    found: dict[str, type[Dialect]] = {}
    for entry in entry_points(group=GROUP):
        found[entry.name] = entry.load()
    if not found:  # running from a source tree that was never installed
        from passgate.directory.dialects.ad import ActiveDirectoryDialect
        from passgate.directory.dialects.ds389 import Ds389Dialect
        from passgate.directory.dialects.openldap import OpenLdapDialect

        found = {"other": OpenLdapDialect, "rhds": Ds389Dialect, "ad": ActiveDirectoryDialect}
    return found


def dialect_class(vendor: str) -> type[Dialect]:
    dialects = available_dialects()
    if vendor not in dialects:
        raise KeyError(f"unknown vendor {vendor!r}; known: {', '.join(sorted(dialects))}")
    return dialects[vendor]


__all__ = ["Dialect", "VendorDefaults", "available_dialects", "dialect_class"]
