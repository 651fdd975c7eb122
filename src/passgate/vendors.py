"""What passgate knows about each directory vendor, as data, in one place.

Every dialect declares its :class:`VendorFacts` (``facts`` on the class);
the settings' defaults, ``passgate check`` and the Keycloak import read the
facts from here and never ask "which vendor?" themselves. A plugin dialect,
registered in the ``passgate.dialects`` entry-point group, declares its facts
the same way and is found the same way.

This module sits below the settings: it imports nothing of passgate, and
loads the dialect classes by entry point only when asked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

GROUP = "passgate.dialects"

# The built-ins, for a source tree that was never installed (no entry points).
BUILT_IN = {
    "other": "passgate.directory.dialects.openldap:OpenLdapDialect",
    "rhds": "passgate.directory.dialects.ds389:Ds389Dialect",
    "ad": "passgate.directory.dialects.ad:ActiveDirectoryDialect",
}


@dataclass(frozen=True)
class VendorFacts:
    """One vendor's defaults and behaviour (Keycloak's LDAP provider has the same table).

    ``vendor`` is the ``PASSGATE_LDAP_VENDOR`` value, which is also Keycloak's
    ``vendor`` name for the built-in three.
    """

    vendor: str
    display_name: str
    username_attribute: str = "uid"
    user_id_attribute: str = "passgateUserId"
    user_object_classes: tuple[str, ...] = ("inetOrgPerson",)
    # The server refuses password changes over an unencrypted connection.
    encryption_required: bool = False
    # A substring of the RootDSE vendorName (lower case) that identifies the vendor.
    vendor_name_hint: str = ""
    # The RootDSE advertises LDAP_CAP_ACTIVE_DIRECTORY_OID.
    active_directory: bool = False
    # The extended operation the change uses (None: a modify of the password attribute).
    password_modify_oid: str | None = None
    # The control the change relies on (ppolicy on a bind; AD's policy hints on a reset).
    policy_control_oid: str | None = None
    policy_control_name: str = "password-policy control"


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def dialect_classes() -> dict[str, Any]:
    """Vendor name -> dialect class, from the entry points (built-ins registered alike)."""
    found = {entry.name: entry.load() for entry in entry_points(group=GROUP)}
    return found or {name: _load(target) for name, target in BUILT_IN.items()}


def known_vendors() -> list[str]:
    return sorted(dialect_classes())


def facts_for(vendor: str) -> VendorFacts:
    """The facts a dialect declares; ``KeyError`` (naming the known ones) if none is called so."""
    classes = dialect_classes()
    if vendor not in classes:
        raise KeyError(f"unknown vendor {vendor!r}; known: {', '.join(known_vendors())}")
    facts: VendorFacts = classes[vendor].facts
    return facts
