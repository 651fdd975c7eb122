"""OpenLDAP (and any RFC 3062 server): the base behaviour, with OpenLDAP's name."""

from __future__ import annotations

from typing import ClassVar

from passgate.directory import ppolicy
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID, Dialect
from passgate.vendors import VendorFacts


class OpenLdapDialect(Dialect):
    facts: ClassVar[VendorFacts] = VendorFacts(
        vendor="other",
        display_name="OpenLDAP or another RFC 3062 server",
        vendor_name_hint="",  # OpenLDAP publishes no vendorName; others may be anything
        password_modify_oid=PASSWORD_MODIFY_OID,
        policy_control_oid=ppolicy.OID,
    )
