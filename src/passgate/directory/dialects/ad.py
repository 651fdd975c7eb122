"""Active Directory (and Samba AD).

AD has no RFC 3062 and no ppolicy control. A user changes their own
password with a ``unicodePwd`` modify, delete-old/add-new, each value the
quoted password in UTF-16-LE, over an encrypted connection. Refusals are
told in the diagnostic message: binds carry a ``data XXX`` code, modifies
an 8-hex Win32 code (MS-ADTS 3.1.1.3.1.5; measured on Samba 4.17).

A user who must change at next logon (773) or whose password expired (532)
cannot bind, which still proves the password right; only a privileged
account can then set it, with the password-policy hints control so history
and complexity still apply. A directory without that control (Samba 4.17:
12 unavailableCriticalExtension) or a service account without the right
gets 5025: passgate never sets a password while skipping the history check.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

import ldap3

from passgate.directory.dialects.base import (
    Dialect,
    MustSetAsService,
    PolicyReader,
    RootDse,
)
from passgate.directory.ppolicy import PolicyResponse
from passgate.errors import (
    AccountLocked,
    DirectoryMisconfigured,
    DirectoryUnavailable,
    IncorrectOldPassword,
    PassgateError,
    PasswordExpired,
    PasswordPolicyRejected,
    PolicyReason,
)
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import AD_FIELDS, attributes_of, policy_from
from passgate.vendors import VendorFacts

log = logging.getLogger(__name__)

POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"  # LDAP_SERVER_POLICY_HINTS_OID (2008 R2+)
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"  # SEQUENCE { Flags INTEGER 1 }: enforce policy

_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")
_WIN32_CODE = re.compile(r"^\s*([0-9a-fA-F]{8})\b")

# Bind refusals (result 49), by the "data" code of the diagnostic message.
WRONG_PASSWORD = {"52e", "525"}
LOCKED_OR_DISABLED = {
    "530": "not permitted to log on at this time",
    "531": "not permitted to log on at this workstation",
    "533": "account disabled",
    "701": "account expired",
    "775": "account locked out",
}
MUST_SET_AS_SERVICE = {"532": "password expired", "773": "must change password at next logon"}

# Reasons in Samba's 0000052D texts (Windows says only "0000052D: Constraint violation").
_MODIFY_REASONS = (
    ("previous password", PolicyReason.SAME_AS_OLD),
    ("in history", PolicyReason.IN_HISTORY),
    ("too short", PolicyReason.TOO_SHORT),
    ("too long", PolicyReason.TOO_LONG),
    ("complexity", PolicyReason.QUALITY),
    ("too young", PolicyReason.TOO_YOUNG),
    ("too recently", PolicyReason.TOO_YOUNG),
    ("minimum password age", PolicyReason.TOO_YOUNG),
)

WRONG_OLD_PASSWORD = "00000056"
CONSTRAINT = "0000052d"


def encode_password(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def bind_data_code(message: str) -> str | None:
    match = _BIND_DATA.search(message or "")
    return match.group(1).lower() if match else None


def check_ad_bind(result: dict[str, object]) -> None:
    code = result.get("result")
    message = str(result.get("message") or "")
    if code == 0:
        return
    data = bind_data_code(message)
    if code == 49:
        if data in LOCKED_OR_DISABLED:
            raise AccountLocked(f"bind refused: {LOCKED_OR_DISABLED[data]} (data {data})")
        if data in MUST_SET_AS_SERVICE:
            raise MustSetAsService(MUST_SET_AS_SERVICE[data])
        raise IncorrectOldPassword(f"bind refused (data {data})")
    if code in (51, 52):
        raise DirectoryUnavailable(f"bind: {code} {message}")
    if code in (8, 13):
        raise DirectoryMisconfigured(f"bind needs an encrypted connection: {code} {message}")
    raise PassgateError(f"unexpected bind result {code} {message}")


def check_ad_password_change(result: dict[str, object], *, same_as_old: bool) -> None:
    code = result.get("result")
    message = str(result.get("message") or "")
    if code == 0:
        return
    match = _WIN32_CODE.match(message)
    win32 = match.group(1).lower() if match else ""
    if win32 == WRONG_OLD_PASSWORD:
        raise IncorrectOldPassword(f"unicodePwd change: {message[:120]}")
    if code == 19 or win32 == CONSTRAINT:
        lowered = message.lower()
        reason = PolicyReason.SAME_AS_OLD if same_as_old else None
        for needle, candidate in _MODIFY_REASONS:
            if reason is None and needle in lowered:
                reason = candidate
        raise PasswordPolicyRejected(
            reason or PolicyReason.DIRECTORY_REJECTED, f"unicodePwd change: {message[:160]}"
        )
    if code == 50:
        raise PasswordPolicyRejected(
            PolicyReason.DIRECTORY_REJECTED, f"unicodePwd change not allowed: {message[:120]}"
        )
    if code in (51, 52):
        raise DirectoryUnavailable(f"unicodePwd change: {code} {message}")
    if code in (8, 13, 53):
        # Windows answers 53 (0000001F WILL_NOT_PERFORM) without an encrypted connection.
        raise DirectoryMisconfigured(f"unicodePwd change: {code} {message[:160]}")
    raise PassgateError(f"unexpected unicodePwd change result {code} {message[:160]}")


def domain_of(dn: str) -> str | None:
    """``CN=x,OU=y,DC=corp,DC=example`` -> ``DC=corp,DC=example``."""
    parts = [p for p in ldap3.utils.dn.parse_dn(dn, escape=True) if p[0].lower() == "dc"]
    return ",".join(f"DC={value}" for _, value, _ in parts) or None


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
        self.hints_advertised: bool | None = None

    def adapt_to(self, root: RootDse) -> None:
        self.hints_advertised = POLICY_HINTS_OID in root.controls
        if not self.hints_advertised:
            log.info(
                "the directory does not advertise the password-policy hints control %s: "
                "users who must change an expired or reset password will get 5025",
                POLICY_HINTS_OID,
            )

    def verify_old_password(self, conn: ldap3.Connection) -> PolicyResponse | None:
        conn.bind()
        check_ad_bind(conn.result)
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
        check_ad_password_change(conn.result, same_as_old=old == new)

    def read_policy(
        self, reader: PolicyReader, dn: str | None, default_policy_dn: str | None
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
        code = conn.result.get("result")
        if code == 12:
            raise PasswordExpired(
                "the directory does not support the password-policy hints control; "
                "refusing to set a password without the history check"
            )
        if code == 50:
            raise PasswordExpired("the service account may not reset passwords")
        check_ad_password_change(conn.result, same_as_old=False)
