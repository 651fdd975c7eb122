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

from passgate.directory.dialects.base import Dialect, PolicyReader, VendorDefaults
from passgate.errors import PasswordPolicyRejected, PolicyReason

log = logging.getLogger(__name__)

GLOBAL_POLICY_DN = "cn=config"


class Ds389Dialect(Dialect):
    defaults: ClassVar[VendorDefaults] = VendorDefaults(
        vendor="rhds",
        display_name="389 Directory Server / Red Hat Directory Server",
        needs_encryption=True,
        vendor_name_hint="389",
    )

    def refine_rejection(
        self, error: PasswordPolicyRejected, dn: str, new_password: str, policy: PolicyReader
    ) -> PasswordPolicyRejected:
        if error.reason is not PolicyReason.QUALITY:
            return error
        minimum = self._min_length(policy, dn)
        if minimum is not None and len(new_password) < minimum:
            return PasswordPolicyRejected(PolicyReason.TOO_SHORT, error.log_message)
        return error

    def _min_length(self, policy: PolicyReader, dn: str) -> int | None:
        """passwordMinLength of the user's own policy (pwdpolicysubentry), else cn=config's."""
        entry = policy.read(dn, ["pwdpolicysubentry"]) or {}
        candidates = [*entry.get("pwdpolicysubentry", []), GLOBAL_POLICY_DN]
        for candidate in candidates:
            values = (policy.read(candidate, ["passwordMinLength"]) or {}).get(
                "passwordMinLength", []
            )
            if values:
                try:
                    return int(values[0])
                except ValueError:
                    return None
        log.info("cannot read passwordMinLength; grant the service account read on cn=config")
        return None
