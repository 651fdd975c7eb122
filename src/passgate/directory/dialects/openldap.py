"""OpenLDAP (and any RFC 3062 server): the base behaviour, with OpenLDAP's name."""

from __future__ import annotations

from typing import ClassVar

from passgate.directory.dialects.base import Dialect, VendorDefaults


class OpenLdapDialect(Dialect):
    defaults: ClassVar[VendorDefaults] = VendorDefaults(
        vendor="other",
        display_name="OpenLDAP or another RFC 3062 server",
        vendor_name_hint="",  # OpenLDAP publishes no vendorName; others may be anything
    )
