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

The lockout counter (read before every bind, the last straw) is the user's
``badPwdCount``, which counts only while ``badPasswordTime`` + the lockout
observation window lies ahead; the threshold, window and duration are those
of the user's effective policy: the fine-grained one named by the
constructed attribute ``msDS-ResultantPSO`` when there is one, else the
domain's. ``lockoutTime`` (non-zero) and ``msDS-User-Account-Control-Computed``
(UF_LOCKOUT, 0x10) say whether it is locked now. Measured on Samba 4.17: a
plain domain user reads the counters and the domain policy, but not the PSOs
(as on Windows, where only administrators read them by default).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import ldap3

from passgate.directory import results, wire
from passgate.directory.base import EntryReader
from passgate.directory.dialects.base import Dialect
from passgate.directory.dn import dc_suffix
from passgate.directory.ppolicy import PolicyResponse
from passgate.directory.rootdse import RootDse
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import (
    AD_FIELDS,
    AD_PSO_FIELDS,
    ad_interval,
    attributes_of,
    filetime_seconds,
    first_values,
    policy_from,
)
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"  # LDAP_SERVER_POLICY_HINTS_OID (2008 R2+)
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"  # SEQUENCE { Flags INTEGER 1 }: enforce policy
RESULTANT_PSO = "msDS-ResultantPSO"  # constructed: returned only when asked for by name
COUNTER_ATTRIBUTES = (
    "badPwdCount",
    "badPasswordTime",
    "lockoutTime",
    "msDS-User-Account-Control-Computed",
    RESULTANT_PSO,
)
UF_LOCKOUT = 0x10
# (threshold, observation window, duration) on the domain object and on a PSO.
DOMAIN_LOCKOUT = ("lockoutThreshold", "lockOutObservationWindow", "lockoutDuration")
PSO_LOCKOUT = ("msDS-LockoutThreshold", "msDS-LockoutObservationWindow", "msDS-LockoutDuration")


def encode_password(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def domain_of(dn: str) -> str | None:
    """``CN=Doe\\, John,OU=y,DC=corp,DC=example`` -> ``DC=corp,DC=example``."""
    return dc_suffix(dn)


class ActiveDirectoryDialect(Dialect):
    # msDS-ResultantPSO is constructed: a subtree search does not return it.
    lookup_reads_for_guard: ClassVar[tuple[str, ...]] = ()
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
        wire.bind(conn)
        results.check_ad_bind(conn.result)
        return None

    def set_password(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> None:
        wire.modify(
            conn,
            dn,
            [
                (wire.MODIFY_DELETE, "unicodePwd", [encode_password(old)]),
                (wire.MODIFY_ADD, "unicodePwd", [encode_password(new)]),
            ],
        )
        results.check_ad_password_change(conn.result, same_as_old=old == new)

    def read_policy(
        self, reader: EntryReader, dn: str | None, default_policy_dn: str | None
    ) -> DirectoryPolicy | None:
        """The user's effective policy: its fine-grained one (``msDS-ResultantPSO``), else
        the domain's, on the domain object (the DC= tail of the user's DN).

        A PSO that applies but cannot be read gives None (unknown): the
        domain's numbers would be someone else's rules.
        """
        if dn:
            pso = first_values(reader.read(dn, [RESULTANT_PSO]) or {}).get(RESULTANT_PSO.lower())
            if pso:
                values = reader.read(pso, attributes_of(AD_PSO_FIELDS))
                if values and first_values(values):
                    return policy_from(pso, values, AD_PSO_FIELDS)
                log.info(
                    "cannot read the fine-grained password policy %s that applies to %s; "
                    "grant the service account read on the Password Settings Container",
                    pso,
                    dn,
                )
                return None
        domain = default_policy_dn or (domain_of(dn) if dn else None)
        if not domain:
            return None
        values = reader.read(domain, attributes_of(AD_FIELDS))
        if not values:
            log.info("cannot read the domain password policy on %s", domain)
            return None
        return policy_from(domain, values, AD_FIELDS)

    def read_failure_state(
        self, reader: EntryReader, dn: str, default_policy_dn: str | None, now: float
    ) -> FailureState | None:
        """``badPwdCount`` within the observation window, against the effective threshold."""
        entry = reader.read(dn, list(COUNTER_ATTRIBUTES))
        values = first_values(entry or {})
        if "badpwdcount" not in values:  # every user has it: absent means not readable
            log.info("cannot read badPwdCount of %s", dn)
            return None
        pso = values.get(RESULTANT_PSO.lower())
        policy_dn = pso or default_policy_dn or domain_of(dn)
        if not policy_dn:
            return None
        names = PSO_LOCKOUT if pso else DOMAIN_LOCKOUT
        policy = first_values(reader.read(policy_dn, list(names)) or {})
        threshold_name, window_name, duration_name = (n.lower() for n in names)
        try:
            count = int(values["badpwdcount"])
            threshold = int(policy[threshold_name])
        except (KeyError, ValueError):
            log.info(
                "cannot read the lockout threshold %s of %s; grant the service account read%s",
                names[0],
                policy_dn,
                " on the Password Settings Container" if pso else "",
            )
            return None
        window = ad_interval(policy.get(window_name))
        bad_at = filetime_seconds(values.get("badpasswordtime"))
        resets_in = None
        if window is not None and bad_at is not None:
            if bad_at + window <= now:
                count = 0  # outside the observation window: the next failure counts as 1
            else:
                resets_in = bad_at + window - now
        computed = values.get("msds-user-account-control-computed")
        if computed is not None and computed.lstrip("-").isdigit():
            locked = bool(int(computed) & UF_LOCKOUT)
        else:
            locked_at = filetime_seconds(values.get("lockouttime"))
            duration = ad_interval(policy.get(duration_name))
            locked = locked_at is not None and (duration is None or locked_at + duration > now)
        source = f"badPwdCount of {dn}, policy {policy_dn}"
        return FailureState(count, threshold, resets_in, locked, source)

    def set_password_as_service(self, conn: ldap3.Connection, dn: str, new: str) -> None:
        wire.modify(
            conn,
            dn,
            [(wire.MODIFY_REPLACE, "unicodePwd", [encode_password(new)])],
            [(POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)],
        )
        results.check_ad_reset(conn.result)
