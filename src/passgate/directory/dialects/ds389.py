"""389 Directory Server / Red Hat Directory Server.

RFC 3062 like OpenLDAP, with three differences (measured on 389-DS 2.3):
password operations need an encrypted connection (13 otherwise); a
too-short password is reported as ppolicy ``insufficientPasswordQuality``
(5), not ``passwordTooShort`` (6), so the reason is refined from
``passwordMinLength`` of the policy that applies to the user; and an
inactivated account binds with 53 ("Account inactivated").

Its lockout counter (read before every bind, the last straw) lives in
operational attributes of the entry, written by the server on each failed
bind (``pw_retry.c``; measured on 389-DS 2.3): ``passwordRetryCount``,
``retryCountResetTime`` (first failure + ``passwordResetFailureCount``; a
failure after it starts the count again at 1, a good bind sets it to 0) and
``accountUnlockTime`` (written when the count reaches ``passwordMaxFailure``:
now + ``passwordLockoutDuration``, or ``19700101000000Z`` with
``passwordUnlock: off``, locked until an administrator resets the password).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from passgate.directory import ppolicy
from passgate.directory.base import EntryReader
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID, Dialect
from passgate.errors import PasswordPolicyRejected, PolicyReason
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import (
    DS389_FIELDS,
    DS389_SWITCHES,
    attributes_of,
    first_values,
    generalized_time,
    policy_from,
)
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

GLOBAL_POLICY_DN = "cn=config"
# The entry's counter: operational attributes, returned only when asked for by name.
COUNTER_ATTRIBUTES = ("passwordRetryCount", "retryCountResetTime", "accountUnlockTime")
LOCKOUT_ATTRIBUTES = ("passwordLockout", "passwordMaxFailure", "passwordUnlock")
# 389's own defaults for what a policy entry leaves out (pwpolicy_init_defaults).
LOCKOUT_DEFAULTS = {"passwordlockout": "off", "passwordmaxfailure": "3", "passwordunlock": "on"}
NO_TIME = 0.0  # accountUnlockTime 19700101000000Z: until an administrator resets the password


class Ds389Dialect(Dialect):
    # Not measured against 389-DS yet: the guard reads the entry itself.
    lookup_reads_for_guard: ClassVar[tuple[str, ...]] = ()
    facts: ClassVar[VendorFacts] = VendorFacts(
        vendor="rhds",
        display_name="389 Directory Server / Red Hat Directory Server",
        encryption_required=True,
        vendor_name_hint="389",
        password_modify_oid=PASSWORD_MODIFY_OID,
        policy_control_oid=ppolicy.OID,
    )

    def refine_rejection(
        self, error: PasswordPolicyRejected, dn: str, new_password: str, reader: EntryReader
    ) -> PasswordPolicyRejected:
        if error.reason is not PolicyReason.QUALITY:
            return error
        found = self.read_policy(reader, dn, None)
        if (
            found is not None
            and found.min_length is not None
            and len(new_password) < found.min_length
        ):
            return PasswordPolicyRejected(PolicyReason.TOO_SHORT, error.log_message)
        return error

    def read_policy(
        self, reader: EntryReader, dn: str | None, default_policy_dn: str | None
    ) -> DirectoryPolicy | None:
        """The user's own policy (``pwdpolicysubentry``), else the global one in cn=config.

        389 keeps switches beside the numbers: a history length counts only with
        ``passwordHistory: on``, a minimum length only with ``passwordCheckSyntax: on``.
        """
        candidates = [default_policy_dn or GLOBAL_POLICY_DN]
        if dn:
            entry = first_values(reader.read(dn, ["pwdpolicysubentry"]) or {})
            if entry.get("pwdpolicysubentry"):
                candidates.insert(0, entry["pwdpolicysubentry"])
        wanted = attributes_of(DS389_FIELDS, tuple(DS389_SWITCHES.values()))
        for candidate in candidates:
            values = reader.read(candidate, wanted)
            if values and any(k.lower().startswith("password") and v for k, v in values.items()):
                return policy_from(candidate, values, DS389_FIELDS, DS389_SWITCHES)
        log.info("cannot read the password policy; grant the service account read on cn=config")
        return None

    def read_failure_state(
        self, reader: EntryReader, dn: str, default_policy_dn: str | None, now: float
    ) -> FailureState | None:
        """``passwordRetryCount`` against ``passwordMaxFailure`` of the policy that applies.

        The policy is the entry's own (``pwdpolicysubentry``) or, without one,
        the global one; a pointer to a policy the service account cannot read
        gives None (unknown), never the global numbers instead. The counter
        attributes exist only after a first failure: absent means none.
        """
        entry = reader.read(dn, ["pwdpolicysubentry", *COUNTER_ATTRIBUTES])
        if entry is None:
            return None
        values = first_values(entry)
        policy_dn = values.get("pwdpolicysubentry") or default_policy_dn or GLOBAL_POLICY_DN
        policy = first_values(reader.read(policy_dn, list(LOCKOUT_ATTRIBUTES)) or {})
        if "passwordlockout" not in policy and (
            policy_dn == GLOBAL_POLICY_DN or not policy
        ):  # cn=config always holds it: absent means not readable
            log.info(
                "cannot read the lockout policy %s (%s); grant the service account read",
                policy_dn,
                ", ".join(LOCKOUT_ATTRIBUTES),
            )
            return None
        policy = {**LOCKOUT_DEFAULTS, **policy}
        source = f"passwordRetryCount of {dn}, policy {policy_dn}"
        if policy["passwordlockout"].strip().lower() != "on":
            return FailureState(0, 0, source=source)
        try:
            count = int(values.get("passwordretrycount", "0"))
            max_failures = int(policy["passwordmaxfailure"])
        except ValueError:
            return None
        reset_at = generalized_time(values.get("retrycountresettime"))
        resets_in = None
        if reset_at is not None and reset_at <= now:
            count = 0  # the next failure starts the count again at 1
        elif reset_at is not None:
            resets_in = reset_at - now
        unlock_at = generalized_time(values.get("accountunlocktime"))
        if unlock_at == NO_TIME:
            locked = policy["passwordunlock"].strip().lower() != "on"
        else:
            locked = unlock_at is not None and unlock_at > now
        return FailureState(count, max_failures, resets_in, locked, source)
