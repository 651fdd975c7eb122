"""Active Directory (and Samba AD).

AD has no RFC 3062 and no ppolicy control. A user changes their own
password with a ``unicodePwd`` modify, delete-old/add-new, each value the
quoted password in UTF-16-LE, over an encrypted connection. Refusals are
told in the diagnostic message: binds carry a ``data XXX`` code, modifies
an 8-hex Win32 code (MS-ADTS 3.1.1.3.1.5; measured on Samba 4.17), both
read by the one table in :mod:`passgate.directory.results`.

A user who must change at next logon (773) or whose password expired (532)
cannot bind, which still proves the password right; only a privileged
account can then set it, with the password-policy hints control so history
and complexity still apply. A directory without that control (Samba 4.17:
12 unavailableCriticalExtension) or a service account without the right
gets 5025: passgate never sets a password while skipping the history check.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import ldap3

from passgate.directory import results
from passgate.directory.base import EntryReader
from passgate.directory.dialects.base import Dialect
from passgate.directory.dn import dc_suffix
from passgate.directory.ppolicy import PolicyResponse
from passgate.directory.rootdse import RootDse
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import AD_FIELDS, attributes_of, policy_from
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"  # LDAP_SERVER_POLICY_HINTS_OID (2008 R2+)
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"  # SEQUENCE { Flags INTEGER 1 }: enforce policy


def encode_password(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def domain_of(dn: str) -> str | None:
    """``CN=Doe\\, John,OU=y,DC=corp,DC=example`` -> ``DC=corp,DC=example``."""
    return dc_suffix(dn)


class ActiveDirectoryDialect(Dialect):
    facts: ClassVar[VendorFacts] = VendorFacts(
        vendor="ad",
        display_name="Active Directory or Samba AD",
        # Keycloak's defaults for an Active Directory provider (and what fits AD's schema).
        username_attribute="sAMAccountName",
        user_id_attribute="employeeNumber",
        user_object_classes=("person", "organizationalPerson", "user"),
        encryption_required=True,
        vendor_name_hint="",  # Windows publishes no vendorName; Samba says "Samba Team"
        active_directory=True,
        password_modify_oid=None,  # a unicodePwd delete/add as the user
        policy_control_oid=POLICY_HINTS_OID,
        policy_control_name="password-policy hints control",
    )

    def __init__(self) -> None:
        super().__init__()
        self.use_password_modify = False

    def adapt_to(self, root: RootDse) -> None:
        if POLICY_HINTS_OID not in root.controls:
            log.info(
                "the directory does not advertise the password-policy hints control %s: "
                "users who must change an expired or reset password will get 5025",
                POLICY_HINTS_OID,
            )

    def verify_old_password(self, conn: ldap3.Connection) -> PolicyResponse | None:
        conn.bind()
        results.check_ad_bind(conn.result)
        return None

    def set_password(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> None:
        conn.modify(
            dn,
            {
                "unicodePwd": [
                    (ldap3.MODIFY_DELETE, [encode_password(old)]),
                    (ldap3.MODIFY_ADD, [encode_password(new)]),
                ]
            },
        )
        results.check_ad_password_change(conn.result, same_as_old=old == new)

    def read_policy(
        self, reader: EntryReader, dn: str | None, default_policy_dn: str | None
    ) -> DirectoryPolicy | None:
        """The domain's policy, on the domain object (the DC= tail of the user's DN).

        Fine-grained policies (PSOs, ``msDS-ResultantPSO``) are not read.
        """
        domain = default_policy_dn or (domain_of(dn) if dn else None)
        if not domain:
            return None
        values = reader.read(domain, attributes_of(AD_FIELDS))
        if not values:
            log.info("cannot read the domain password policy on %s", domain)
            return None
        return policy_from(domain, values, AD_FIELDS)

    def set_password_as_service(self, conn: ldap3.Connection, dn: str, new: str) -> None:
        conn.modify(
            dn,
            {"unicodePwd": [(ldap3.MODIFY_REPLACE, [encode_password(new)])]},
            controls=[(POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)],
        )
        results.check_ad_reset(conn.result)
