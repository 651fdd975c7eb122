"""What a dialect is: vendor defaults as data, and the few operations that differ.

The base class is the RFC 3062 behaviour every standards-following server
shares (OpenLDAP, 389-DS, most others): verify by a bind with the
password-policy request control, set by the Password Modify extended
operation carrying the old password, read the ppolicy response control.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar

import ldap3

from passgate.directory import ppolicy, results, wire
from passgate.directory.base import EntryReader
from passgate.directory.ppolicy import PolicyResponse
from passgate.directory.rootdse import RootDse
from passgate.errors import PasswordPolicyRejected
from passgate.policy.lockout import (
    PPOLICY_LOCKOUT_ATTRIBUTES,
    PPOLICY_STATE_ATTRIBUTES,
    FailureState,
    folded,
    ppolicy_failure_state,
)
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import (
    OPENLDAP_FIELDS,
    attributes_of,
    first_values,
    policy_from,
    unreadable,
)
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"


class Dialect:
    """RFC 3062 servers. Subclasses change data first, and methods only where they must."""

    facts: ClassVar[VendorFacts] = VendorFacts(
        "other",
        "OpenLDAP or RFC 3062 server",
        password_modify_oid=PASSWORD_MODIFY_OID,
        policy_control_oid=ppolicy.OID,
    )

    # The entry's own attributes read_failure_state asks for, which a subtree search
    # returns as a base read would: the lookup that finds the entry reads them too.
    # Empty: the guard always reads the entry itself (AD's msDS-ResultantPSO is a
    # constructed attribute, returned by base-scope reads only).
    lookup_reads_for_guard: ClassVar[tuple[str, ...]] = PPOLICY_STATE_ATTRIBUTES

    def __init__(self) -> None:
        self.use_password_modify = True

    # -- discovery ----------------------------------------------------------------

    def adapt_to(self, root: RootDse) -> None:
        """Adjust to what the server advertises; called once, after reading the RootDSE."""
        hint = self.facts.vendor_name_hint
        if hint and root.vendor_name and hint not in root.vendor_name.lower():
            log.warning(
                "PASSGATE_LDAP_VENDOR=%s but the server says vendorName %r",
                self.facts.vendor,
                root.vendor_name,
            )
        if root.extensions and PASSWORD_MODIFY_OID not in root.extensions:
            self.use_password_modify = False
            log.warning(
                "the directory does not advertise the Password Modify extended operation "
                "(%s); falling back to a userPassword delete-old/add-new modify as the user",
                PASSWORD_MODIFY_OID,
            )

    # -- the change ---------------------------------------------------------------

    def verify_old_password(self, conn: ldap3.Connection) -> PolicyResponse | None:
        """Bind as the user; raise what a refusal means (MustSetAsService included)."""
        wire.bind(conn, controls=[ppolicy.request_control()])
        return results.check_bind(conn.result)

    def set_password(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> None:
        """Set the new password on the user's own bound connection.

        ldap3's exceptions are left to propagate: the caller translates them,
        and finds out what the directory did when the connection was lost.
        """
        if self.use_password_modify:
            # UTF-8 bytes, as the bind sends them (ldap3 would SASLprep a str).
            wire.modify_password(
                conn, old.encode("utf-8"), new.encode("utf-8"), [ppolicy.request_control()]
            )
        else:
            conn.modify(
                dn,
                {
                    "userPassword": [
                        (ldap3.MODIFY_DELETE, [old]),
                        (ldap3.MODIFY_ADD, [new]),
                    ]
                },
                controls=[ppolicy.request_control()],
            )
        results.check_password_modify(conn.result, same_as_old=old == new)

    def refine_rejection(
        self, error: PasswordPolicyRejected, dn: str, new_password: str, reader: EntryReader
    ) -> PasswordPolicyRejected:
        """A chance to make a vague refusal exact from the effective policy; kept as is here."""
        return error

    def read_policy(
        self, reader: EntryReader, dn: str | None, default_policy_dn: str | None
    ) -> DirectoryPolicy | None:
        """The ppolicy entry that applies: the entry's ``pwdPolicySubentry``, else the default.

        OpenLDAP ignores ``pwdMinLength``/``pwdMaxLength`` unless ``pwdCheckQuality``
        is above 0, so they are reported only then, and counts them in bytes
        of the UTF-8 value (``bv_len``), not in characters. A number slapd
        cannot read (beyond a C int) makes it apply none of the entry: then
        nothing of it is known.
        """
        policy_dn = default_policy_dn
        if dn:
            entry = first_values(reader.read(dn, ["pwdPolicySubentry"]) or {})
            policy_dn = entry.get("pwdpolicysubentry") or default_policy_dn
        if not policy_dn:
            return None
        entry_values = reader.read(policy_dn, attributes_of(OPENLDAP_FIELDS))
        if not entry_values:
            log.info("password policy %s could not be read by the service account", policy_dn)
            return None
        broken = unreadable(entry_values, OPENLDAP_FIELDS)
        if broken:
            log.warning(
                "password policy %s: slapd cannot read %s as a number and applies none of "
                "this policy; passgate reports its rules as unknown",
                policy_dn,
                ", ".join(broken),
            )
            return DirectoryPolicy(source=policy_dn)
        policy = policy_from(policy_dn, entry_values, OPENLDAP_FIELDS)
        if not policy.quality_check:
            policy = dataclasses.replace(policy, min_length=None, max_length=None)
        return dataclasses.replace(policy, lengths_in_bytes=True)

    def read_failure_state(
        self, reader: EntryReader, dn: str, default_policy_dn: str | None, now: float
    ) -> FailureState | None:
        """The entry's lockout counter and the threshold that applies (None: unreadable).

        ``now`` is the current time (seconds since the epoch), so that tests
        can fix it. draft-behera ppolicy as slapo-ppolicy keeps it: the
        entry's ``pwdFailureTime`` and ``pwdAccountLockedTime`` (operational:
        asked for by name), the policy named by its ``pwdPolicySubentry`` or
        the default one. The service account needs read access to both
        attributes and to the policy entries; an ACL that hides the
        attributes looks like "no failures", which ``passgate check`` reports.
        """
        entry = reader.read(dn, list(PPOLICY_STATE_ATTRIBUTES))
        if entry is None:
            return None
        subentry = first_values(entry).get("pwdpolicysubentry")
        policy_dn = subentry or default_policy_dn
        if not policy_dn:
            return None
        policy = reader.read(policy_dn, ["objectClass", *PPOLICY_LOCKOUT_ATTRIBUTES])
        classes = {c.lower() for c in folded(policy or {}).get("objectclass", [])}
        if policy is None or "pwdpolicy" not in classes:  # unreadable, or no ppolicy entry
            log.info("%s is no pwdPolicy the service account can read", policy_dn)
            return None
        return ppolicy_failure_state(entry, policy, now, f"pwdFailureTime of {dn}, {policy_dn}")

    def set_password_as_service(self, conn: ldap3.Connection, dn: str, new: str) -> None:
        """Set a password as the service account; only dialects that need it implement it."""
        raise NotImplementedError
