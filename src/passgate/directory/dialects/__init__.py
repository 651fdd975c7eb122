"""Vendor dialects, registered through the ``passgate.dialects`` entry-point group.

The built-in ones register exactly as a third party would (see
``pyproject.toml``), so the plugin mechanism is exercised by passgate's own
code. A third-party package adds ``[project.entry-points."passgate.dialects"]
myvendor = "mypackage.module:MyDialect"`` and ``PASSGATE_LDAP_VENDOR=myvendor``.
"""

from __future__ import annotations

from passgate import vendors
from passgate.directory.dialects.base import Dialect
from passgate.vendors import VendorFacts

GROUP = vendors.GROUP


def available_dialects() -> dict[str, type[Dialect]]:
    return dict(vendors.dialect_classes())


def dialect_class(vendor: str) -> type[Dialect]:
    dialects = available_dialects()
    if vendor not in dialects:
        raise KeyError(f"unknown vendor {vendor!r}; known: {', '.join(sorted(dialects))}")
    return dialects[vendor]


__all__ = ["Dialect", "VendorFacts", "available_dialects", "dialect_class"]
