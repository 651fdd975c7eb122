"""389 Directory Server / Red Hat Directory Server.

RFC 3062 like OpenLDAP, with three differences (measured on 389-DS 2.3):
password operations need an encrypted connection (13 otherwise); a
too-short password is reported as ppolicy ``insufficientPasswordQuality``
(5), not ``passwordTooShort`` (6), so the reason is refined from
``passwordMinLength`` of the policy that applies to the user; and an
inactivated account binds with 53 ("Account inactivated").
"""

from __future__ import annotations

import logging
from typing import ClassVar

from passgate.directory import ppolicy
from passgate.directory.base import EntryReader
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID, Dialect
from passgate.errors import PasswordPolicyRejected, PolicyReason
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import (
    DS389_FIELDS,
    DS389_SWITCHES,
    attributes_of,
    first_values,
    policy_from,
)
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

GLOBAL_POLICY_DN = "cn=config"


class Ds389Dialect(Dialect):
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
            if values and any(k.lower().startswith("password") for k in values):
                return policy_from(candidate, values, DS389_FIELDS, DS389_SWITCHES)
        log.info("cannot read the password policy; grant the service account read on cn=config")
        return None
