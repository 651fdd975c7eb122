"""What a directory's answer means, as passgate errors.

Pure functions over ldap3 result dictionaries (``conn.result``), so every
mapping is unit-tested without a server. References: RFC 4511 (result
codes), RFC 3062 (Password Modify), draft-behera-ldap-password-policy-10
(the ppolicy control) and OpenLDAP's slapo-ppolicy(5).
"""

from __future__ import annotations

import logging
from typing import Any

from passgate.directory import ppolicy
from passgate.directory.ppolicy import PolicyError, PolicyResponse
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

log = logging.getLogger(__name__)

SUCCESS = 0
PROTOCOL_ERROR = 2
STRONGER_AUTH_REQUIRED = 8
UNAVAILABLE_CRITICAL_EXTENSION = 12
CONFIDENTIALITY_REQUIRED = 13
CONSTRAINT_VIOLATION = 19
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS = 50
BUSY = 51
UNAVAILABLE = 52
UNWILLING_TO_PERFORM = 53

_POLICY_REASONS = {
    PolicyError.PASSWORD_TOO_SHORT: PolicyReason.TOO_SHORT,
    PolicyError.PASSWORD_TOO_LONG: PolicyReason.TOO_LONG,
    PolicyError.PASSWORD_IN_HISTORY: PolicyReason.IN_HISTORY,
    PolicyError.PASSWORD_TOO_YOUNG: PolicyReason.TOO_YOUNG,
    PolicyError.INSUFFICIENT_PASSWORD_QUALITY: PolicyReason.QUALITY,
}

# When a server sends no ppolicy control, its diagnostic text is all there is.
# (OpenLDAP's texts, slapo-ppolicy; 389-DS's and others' phrasing alike.)
_TEXT_REASONS = (
    ("not being changed", PolicyReason.SAME_AS_OLD),
    ("too short", PolicyReason.TOO_SHORT),
    ("too long", PolicyReason.TOO_LONG),
    ("too young", PolicyReason.TOO_YOUNG),
    ("history", PolicyReason.IN_HISTORY),
    ("quality", PolicyReason.QUALITY),
)


def policy_response(result: dict[str, Any]) -> PolicyResponse | None:
    """The decoded ppolicy response control of a result, if the server sent a valid one."""
    controls = result.get("controls") or {}
    control = controls.get(ppolicy.OID)
    if not control or control.get("value") is None:
        return None
    try:
        return ppolicy.decode(control["value"])
    except ppolicy.PolicyControlDecodeError as exc:
        log.warning("ignoring a password-policy control the directory sent: %s", exc)
        return None


def _describe(result: dict[str, Any]) -> str:
    return f"{result.get('result')} {result.get('description')}: {result.get('message') or ''}"


def check_bind(result: dict[str, Any]) -> PolicyResponse | None:
    """Raise the error a failed user bind means; return the policy response otherwise.

    A successful bind carrying ``changeAfterReset`` (pwdReset) still proves
    the old password: the user may set a new one, which is the point.
    """
    code = result.get("result")
    response = policy_response(result)
    error = response.error if response else None
    if code == SUCCESS:
        return response
    if error == PolicyError.ACCOUNT_LOCKED:
        raise AccountLocked(f"bind refused, account locked ({_describe(result)})")
    if code == INVALID_CREDENTIALS:
        if error == PolicyError.PASSWORD_EXPIRED:
            # Right password, expired, no grace logins left: the directory will
            # not let this user bind, so passgate cannot change it as the user.
            raise PasswordExpired("bind refused: password expired")
        raise IncorrectOldPassword("bind refused: invalid credentials")
    if code == UNWILLING_TO_PERFORM:
        # 389-DS: "Account inactivated. Contact system administrator."
        raise AccountLocked(f"bind refused ({_describe(result)})")
    if code in (BUSY, UNAVAILABLE):
        raise DirectoryUnavailable(f"bind: {_describe(result)}")
    if code in (CONFIDENTIALITY_REQUIRED, STRONGER_AUTH_REQUIRED):
        raise DirectoryMisconfigured(f"bind needs an encrypted connection ({_describe(result)})")
    raise PassgateError(f"unexpected bind result {_describe(result)}")


def check_password_modify(result: dict[str, Any], *, same_as_old: bool) -> None:
    """Raise the error a failed RFC 3062 Password Modify means; return on success."""
    code = result.get("result")
    if code == SUCCESS:
        return
    response = policy_response(result)
    error = response.error if response else None
    message = str(result.get("message") or "").lower()
    if code == CONSTRAINT_VIOLATION or error in _POLICY_REASONS:
        raise PasswordPolicyRejected(
            _policy_reason(error, message, same_as_old), f"password modify: {_describe(result)}"
        )
    if code == INVALID_CREDENTIALS or (code == UNWILLING_TO_PERFORM and "old passw" in message):
        # The old password changed between our bind and the modify, or the
        # server checks oldPasswd itself (OpenLDAP: "unwilling to verify old password").
        raise IncorrectOldPassword(f"password modify: {_describe(result)}")
    if error == PolicyError.ACCOUNT_LOCKED:
        raise AccountLocked(f"password modify: {_describe(result)}")
    if error == PolicyError.PASSWORD_EXPIRED:
        raise PasswordExpired(f"password modify: {_describe(result)}")
    if code in (INSUFFICIENT_ACCESS, UNWILLING_TO_PERFORM) or error in (
        PolicyError.PASSWORD_MOD_NOT_ALLOWED,
        PolicyError.MUST_SUPPLY_OLD_PASSWORD,
    ):
        raise PasswordPolicyRejected(
            PolicyReason.DIRECTORY_REJECTED, f"password modify refused: {_describe(result)}"
        )
    if code in (BUSY, UNAVAILABLE):
        raise DirectoryUnavailable(f"password modify: {_describe(result)}")
    if code in (
        CONFIDENTIALITY_REQUIRED,
        STRONGER_AUTH_REQUIRED,
        PROTOCOL_ERROR,
        UNAVAILABLE_CRITICAL_EXTENSION,
    ):
        raise DirectoryMisconfigured(f"password modify: {_describe(result)}")
    raise PassgateError(f"unexpected password modify result {_describe(result)}")


def _policy_reason(error: PolicyError | None, message: str, same_as_old: bool) -> PolicyReason:
    if same_as_old or "not being changed" in message:
        return PolicyReason.SAME_AS_OLD
    if error in _POLICY_REASONS:
        return _POLICY_REASONS[error]
    for needle, reason in _TEXT_REASONS:
        if needle in message:
            return reason
    return PolicyReason.DIRECTORY_REJECTED
