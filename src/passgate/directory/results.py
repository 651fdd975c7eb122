"""The one edge: what a directory's answer means, as passgate's errors.

Every ldap3 exception and every LDAP result code becomes a passgate error
here and nowhere else (the httpx pattern: one map, one context manager).
An answer is read in two parts: its result code (RFC 4511, 4.1.9) says what
kind of answer it is, and its detail refines it: the password-policy
response control (draft-behera-ldap-password-policy-10, 6.2; OpenLDAP's
slapo-ppolicy(5)), Active Directory's bind ``data`` code and the Win32 code
of a modify (MS-ADTS 3.1.1.3.1.5; measured on Samba 4.17), or the
diagnostic text. Which of the two wins, when they disagree, is data too:
each step lists its meanings in order of precedence.

Pure functions over ldap3 result dictionaries (``conn.result``), so every
mapping is unit-tested without a server.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any

from ldap3.core import exceptions as ldap_exc
from ldap3.core.results import (
    RESULT_BUSY,
    RESULT_CONFIDENTIALITY_REQUIRED,
    RESULT_CONSTRAINT_VIOLATION,
    RESULT_INSUFFICIENT_ACCESS_RIGHTS,
    RESULT_INVALID_CREDENTIALS,
    RESULT_NO_SUCH_OBJECT,
    RESULT_PROTOCOL_ERROR,
    RESULT_SIZE_LIMIT_EXCEEDED,
    RESULT_STRONGER_AUTH_REQUIRED,
    RESULT_SUCCESS,
    RESULT_UNAVAILABLE,
    RESULT_UNAVAILABLE_CRITICAL_EXTENSION,
    RESULT_UNWILLING_TO_PERFORM,
)
from pyasn1.error import PyAsn1Error

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
    UserNotFound,
)

log = logging.getLogger(__name__)


# -- ldap3's exceptions ----------------------------------------------------------------


class UnusableServer(Exception):
    """A server could not be connected to (raised by :func:`connecting`; the next URL's turn)."""

    def __init__(self, reason: str, *, certificate: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason  # ldap3's or ssl's own words, for the operator
        self.certificate = certificate  # the server's TLS certificate was not accepted


_CONNECTION_ERRORS = (
    ldap_exc.LDAPCommunicationError,
    ldap_exc.LDAPStartTLSError,
    ldap_exc.LDAPCertificateError,
    OSError,
)


# What ldap3's and pyasn1's decoders raise on bytes that are not the LDAP message they
# expect (a peer that is not an LDAP server, or a garbled stream): not LDAPExceptions.
_UNDECODABLE = (KeyError, IndexError, TypeError, ValueError, PyAsn1Error)


def _raised_by_the_decoder(exc: BaseException) -> bool:
    """Whether ``exc`` came out of ldap3's or pyasn1's own code (not passgate's)."""
    trace = exc.__traceback__
    last = None
    while trace is not None:
        last, trace = trace, trace.tb_next
    module = last.tb_frame.f_globals.get("__name__", "") if last is not None else ""
    return module.startswith(("ldap3.", "pyasn1."))


def undecodable(action: str, exc: BaseException) -> str:
    """The log's words for an answer that is not LDAP (never the bytes themselves)."""
    return (
        f"{action}: the directory's answer could not be read as LDAP ({type(exc).__name__}): "
        "is the URL an LDAP server's, and ldap:// or ldaps:// as the server expects?"
    )


def translated_ldap_errors(action: str) -> _Translated:
    """Turn ldap3's exceptions into passgate's; passgate's own errors pass through.

    A failed connection (refused, reset, cut, or no answer in time) is a
    DirectoryUnavailable marked ``lost``: a request may have been sent
    without its answer arriving. So is an answer ldap3 cannot decode (its
    decoders raise KeyError and the like, not LDAPExceptions): the peer is
    not speaking LDAP, and what it did with the request is unknown.
    """
    return _Translated(action)


class _Translated:
    """:func:`translated_ldap_errors` (a class, not a generator: every LDAP operation)."""

    __slots__ = ("_action",)

    def __init__(self, action: str) -> None:
        self._action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, PassgateError):
            return
        action = self._action
        if isinstance(exc, _CONNECTION_ERRORS):
            timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            raise DirectoryUnavailable(
                f"{action}: {type(exc).__name__}: {exc}", timed_out=timed_out, lost=True
            ) from None
        if isinstance(exc, ldap_exc.LDAPException):
            raise PassgateError(f"{action}: {type(exc).__name__}: {exc}") from None
        if isinstance(exc, _UNDECODABLE) and _raised_by_the_decoder(exc):
            raise DirectoryUnavailable(undecodable(action, exc), lost=True) from None


@contextlib.contextmanager
def connecting() -> Iterator[None]:
    """Opening a connection: a server that cannot be used raises :class:`UnusableServer`."""
    try:
        yield
    except _CONNECTION_ERRORS as exc:
        raise UnusableServer(
            str(exc), certificate=isinstance(exc, ldap_exc.LDAPCertificateError)
        ) from None
    except _UNDECODABLE as exc:
        if not _raised_by_the_decoder(exc):
            raise
        raise UnusableServer(undecodable("opening", exc)) from None


# -- what an answer means ----------------------------------------------------------------


class MustSetAsService(Exception):
    """The bind proved the old password but the directory lets the user do nothing.

    (Active Directory: must change at next logon, or expired.) Only a
    privileged account can set the password there. Not an error: a way on.
    """


class Meaning(Enum):
    DONE = "done"
    WRONG_PASSWORD = "the password is wrong"
    LOCKED = "the account is locked or disabled"
    EXPIRED = "the password expired and cannot be set"
    MUST_SET_AS_SERVICE = "right but expired: only a privileged account can set it"
    POLICY = "a password rule refused it"  # the rule read from the control or the text
    REFUSED = "refused without naming a rule"
    NOT_FOUND = "no such entry"
    UNAVAILABLE = "the server cannot serve now"
    MISCONFIGURED = "the directory refuses passgate itself"
    UNEXPECTED = "unexpected"


_ERRORS: Mapping[Meaning, type[PassgateError]] = {
    Meaning.WRONG_PASSWORD: IncorrectOldPassword,
    Meaning.LOCKED: AccountLocked,
    Meaning.EXPIRED: PasswordExpired,
    Meaning.NOT_FOUND: UserNotFound,
    Meaning.UNAVAILABLE: DirectoryUnavailable,
    Meaning.MISCONFIGURED: DirectoryMisconfigured,
    Meaning.UNEXPECTED: PassgateError,
}

_UNAVAILABLE = {RESULT_BUSY: Meaning.UNAVAILABLE, RESULT_UNAVAILABLE: Meaning.UNAVAILABLE}
_NEEDS_ENCRYPTION = {
    RESULT_CONFIDENTIALITY_REQUIRED: Meaning.MISCONFIGURED,
    RESULT_STRONGER_AUTH_REQUIRED: Meaning.MISCONFIGURED,
}

# The password-policy control's errors, where they say more than the result code.
POLICY_REASONS: Mapping[PolicyError, PolicyReason] = {
    PolicyError.PASSWORD_TOO_SHORT: PolicyReason.TOO_SHORT,
    PolicyError.PASSWORD_TOO_LONG: PolicyReason.TOO_LONG,
    PolicyError.PASSWORD_IN_HISTORY: PolicyReason.IN_HISTORY,
    PolicyError.PASSWORD_TOO_YOUNG: PolicyReason.TOO_YOUNG,
    PolicyError.INSUFFICIENT_PASSWORD_QUALITY: PolicyReason.QUALITY,
}
_REFUSING_BIND: Mapping[PolicyError, Meaning] = {
    PolicyError.ACCOUNT_LOCKED: Meaning.LOCKED,
    PolicyError.PASSWORD_EXPIRED: Meaning.EXPIRED,  # no grace logins left
}
_REFUSING_MODIFY: Mapping[PolicyError, Meaning] = {
    **{error: Meaning.POLICY for error in POLICY_REASONS},
    PolicyError.ACCOUNT_LOCKED: Meaning.LOCKED,
    PolicyError.PASSWORD_EXPIRED: Meaning.EXPIRED,
    PolicyError.PASSWORD_MOD_NOT_ALLOWED: Meaning.REFUSED,
    PolicyError.MUST_SUPPLY_OLD_PASSWORD: Meaning.REFUSED,
}

# Active Directory's bind refusals (result 49), by the "data" code of the diagnostic text.
AD_BIND_DATA: Mapping[str, tuple[Meaning, str]] = {
    "52e": (Meaning.WRONG_PASSWORD, "invalid credentials"),
    "525": (Meaning.WRONG_PASSWORD, "no such user"),
    "530": (Meaning.LOCKED, "not permitted to log on at this time"),
    "531": (Meaning.LOCKED, "not permitted to log on at this workstation"),
    "533": (Meaning.LOCKED, "account disabled"),
    "701": (Meaning.LOCKED, "account expired"),
    "775": (Meaning.LOCKED, "account locked out"),
    "532": (Meaning.MUST_SET_AS_SERVICE, "password expired"),
    "773": (Meaning.MUST_SET_AS_SERVICE, "must change password at next logon"),
}
# Active Directory's modify refusals, by the 8-hex Win32 code that opens the text.
AD_WIN32: Mapping[str, tuple[Meaning, str]] = {
    "00000056": (Meaning.WRONG_PASSWORD, "ERROR_INVALID_PASSWORD"),
    "0000052d": (Meaning.POLICY, "ERROR_PASSWORD_RESTRICTION"),
}

# When the answer names no rule, the diagnostic text is all there is.
# OpenLDAP's texts (slapo-ppolicy), and 389-DS's and others' phrasing alike:
RFC_TEXT_REASONS = (
    ("not being changed", PolicyReason.SAME_AS_OLD),
    ("too short", PolicyReason.TOO_SHORT),
    ("too long", PolicyReason.TOO_LONG),
    ("too young", PolicyReason.TOO_YOUNG),
    ("history", PolicyReason.IN_HISTORY),
    ("quality", PolicyReason.QUALITY),
)
# Samba's 0000052D texts (Windows says only "0000052D: Constraint violation").
AD_TEXT_REASONS = (
    ("previous password", PolicyReason.SAME_AS_OLD),
    ("in history", PolicyReason.IN_HISTORY),
    ("too short", PolicyReason.TOO_SHORT),
    ("too long", PolicyReason.TOO_LONG),
    ("complexity", PolicyReason.QUALITY),
    ("too young", PolicyReason.TOO_YOUNG),
    ("too recently", PolicyReason.TOO_YOUNG),
    ("minimum password age", PolicyReason.TOO_YOUNG),
)


@dataclass(frozen=True)
class Step:
    """How to read the answer to one kind of request."""

    what: str  # for the log
    codes: Mapping[int, Meaning]  # by result code; a code not listed means ``otherwise``
    precedence: tuple[Meaning, ...]  # when code and detail disagree, the earlier wins
    control: Mapping[PolicyError, Meaning] = field(default_factory=dict)
    texts: Mapping[tuple[int, str], Meaning] = field(default_factory=dict)  # (code, needle)
    data_codes: Mapping[str, tuple[Meaning, str]] = field(default_factory=dict)
    win32_codes: Mapping[str, tuple[Meaning, str]] = field(default_factory=dict)
    notes: Mapping[int, str] = field(default_factory=dict)  # said in the log, by result code
    reasons: tuple[tuple[str, PolicyReason], ...] = RFC_TEXT_REASONS
    otherwise: Meaning = Meaning.UNEXPECTED


# A user's bind with the password-policy request control (OpenLDAP, 389-DS, ...).
# The control's accountLocked wins over any code (389-DS locks with 19), its
# passwordExpired only over invalid credentials.
BIND = Step(
    "bind as the user",
    {
        RESULT_SUCCESS: Meaning.DONE,
        RESULT_INVALID_CREDENTIALS: Meaning.WRONG_PASSWORD,
        RESULT_UNWILLING_TO_PERFORM: Meaning.LOCKED,  # 389-DS: "Account inactivated"
        **_UNAVAILABLE,
        **_NEEDS_ENCRYPTION,
    },
    precedence=(
        Meaning.LOCKED,
        Meaning.UNAVAILABLE,
        Meaning.MISCONFIGURED,
        Meaning.UNEXPECTED,
        Meaning.EXPIRED,
        Meaning.WRONG_PASSWORD,
    ),
    control=_REFUSING_BIND,
)

# RFC 3062 Password Modify (or the userPassword modify), on the user's own connection.
PASSWORD_MODIFY = Step(
    "password modify",
    {
        RESULT_SUCCESS: Meaning.DONE,
        RESULT_CONSTRAINT_VIOLATION: Meaning.POLICY,
        # The old password changed between our bind and the modify.
        RESULT_INVALID_CREDENTIALS: Meaning.WRONG_PASSWORD,
        RESULT_INSUFFICIENT_ACCESS_RIGHTS: Meaning.REFUSED,
        RESULT_UNWILLING_TO_PERFORM: Meaning.REFUSED,
        **_UNAVAILABLE,
        **_NEEDS_ENCRYPTION,
        RESULT_PROTOCOL_ERROR: Meaning.MISCONFIGURED,  # the extended operation is unknown
        RESULT_UNAVAILABLE_CRITICAL_EXTENSION: Meaning.MISCONFIGURED,
    },
    precedence=(
        Meaning.POLICY,
        Meaning.WRONG_PASSWORD,
        Meaning.LOCKED,
        Meaning.EXPIRED,
        Meaning.REFUSED,
        Meaning.UNAVAILABLE,
        Meaning.MISCONFIGURED,
        Meaning.UNEXPECTED,
    ),
    control=_REFUSING_MODIFY,
    # OpenLDAP checks oldPasswd itself: "unwilling to verify old password".
    texts={(RESULT_UNWILLING_TO_PERFORM, "old passw"): Meaning.WRONG_PASSWORD},
)

# Active Directory's simple bind: no control; the data code tells.
AD_BIND = Step(
    "bind as the user",
    {
        RESULT_SUCCESS: Meaning.DONE,
        RESULT_INVALID_CREDENTIALS: Meaning.WRONG_PASSWORD,
        **_UNAVAILABLE,
        **_NEEDS_ENCRYPTION,
    },
    precedence=(
        Meaning.UNAVAILABLE,
        Meaning.MISCONFIGURED,
        Meaning.UNEXPECTED,
        Meaning.LOCKED,
        Meaning.MUST_SET_AS_SERVICE,
        Meaning.WRONG_PASSWORD,
    ),
    data_codes=AD_BIND_DATA,
)

_AD_CHANGE_CODES: Mapping[int, Meaning] = {
    RESULT_SUCCESS: Meaning.DONE,
    RESULT_CONSTRAINT_VIOLATION: Meaning.POLICY,
    RESULT_INSUFFICIENT_ACCESS_RIGHTS: Meaning.REFUSED,
    **_UNAVAILABLE,
    **_NEEDS_ENCRYPTION,
    # Windows answers 53 (0000001F WILL_NOT_PERFORM) without an encrypted connection.
    RESULT_UNWILLING_TO_PERFORM: Meaning.MISCONFIGURED,
}
_AD_CHANGE_PRECEDENCE = (
    Meaning.WRONG_PASSWORD,
    Meaning.POLICY,
    Meaning.REFUSED,
    Meaning.UNAVAILABLE,
    Meaning.MISCONFIGURED,
    Meaning.UNEXPECTED,
)

# The user's own unicodePwd delete-old/add-new modify.
AD_PASSWORD_CHANGE = Step(
    "unicodePwd change",
    _AD_CHANGE_CODES,
    _AD_CHANGE_PRECEDENCE,
    win32_codes=AD_WIN32,
    reasons=AD_TEXT_REASONS,
)

# The service account's unicodePwd replace with the policy-hints control (must-change users).
AD_RESET = Step(
    "password set as the service account",
    {
        **_AD_CHANGE_CODES,
        RESULT_UNAVAILABLE_CRITICAL_EXTENSION: Meaning.EXPIRED,
        RESULT_INSUFFICIENT_ACCESS_RIGHTS: Meaning.EXPIRED,
    },
    (Meaning.EXPIRED, *_AD_CHANGE_PRECEDENCE),
    win32_codes=AD_WIN32,
    notes={
        RESULT_UNAVAILABLE_CRITICAL_EXTENSION: (
            "the directory does not support the password-policy hints control; "
            "refusing to set a password without the history check"
        ),
        RESULT_INSUFFICIENT_ACCESS_RIGHTS: "the service account may not reset passwords",
    },
    reasons=AD_TEXT_REASONS,
)

# The service account's bind: anything but "busy" means passgate is set up wrong.
SERVICE_BIND = Step(
    "the directory refused the service account bind",
    {RESULT_SUCCESS: Meaning.DONE, **_UNAVAILABLE},
    (Meaning.UNAVAILABLE, Meaning.MISCONFIGURED),
    otherwise=Meaning.MISCONFIGURED,
)

# The user lookup: a search under the users DN, or a base search of a DN template.
# Two entries are asked for (size limit 2) to know the answer is ambiguous.
_LOOKUP_CODES = {
    RESULT_SUCCESS: Meaning.DONE,
    RESULT_SIZE_LIMIT_EXCEEDED: Meaning.DONE,
    **_UNAVAILABLE,
}
SEARCH = Step(
    "user lookup",
    {**_LOOKUP_CODES, RESULT_NO_SUCH_OBJECT: Meaning.MISCONFIGURED},
    (Meaning.UNAVAILABLE, Meaning.MISCONFIGURED, Meaning.UNEXPECTED),
    notes={RESULT_NO_SUCH_OBJECT: "the users DN does not exist"},
)
BASE_LOOKUP = Step(
    "user lookup",
    {**_LOOKUP_CODES, RESULT_NO_SUCH_OBJECT: Meaning.NOT_FOUND},
    (Meaning.NOT_FOUND, Meaning.UNAVAILABLE, Meaning.UNEXPECTED),
    notes={RESULT_NO_SUCH_OBJECT: "no such entry"},
)

# The readiness check: the RootDSE answers, or the directory is not ready.
PING = Step(
    "RootDSE read",
    {RESULT_SUCCESS: Meaning.DONE},
    (Meaning.UNAVAILABLE,),
    otherwise=Meaning.UNAVAILABLE,
)


# -- reading an answer ---------------------------------------------------------------------

_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")
_WIN32_CODE = re.compile(r"^\s*([0-9a-fA-F]{8})\b")


def policy_response(result: Mapping[str, Any]) -> PolicyResponse | None:
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


def bind_data_code(message: str) -> str | None:
    match = _BIND_DATA.search(message or "")
    return match.group(1).lower() if match else None


def win32_code(message: str) -> str | None:
    match = _WIN32_CODE.match(message or "")
    return match.group(1).lower() if match else None


def check(
    step: Step,
    result: Mapping[str, Any],
    *,
    same_as_old: bool = False,
) -> PolicyResponse | None:
    """Raise what a failed answer means; return its password-policy response otherwise.

    A successful answer carrying ``changeAfterReset`` (pwdReset) still proves
    the old password: the user may set a new one, which is the point.
    """
    raw_code = result.get("result")
    code = raw_code if isinstance(raw_code, int) else -1
    message = str(result.get("message") or "")
    response = policy_response(result) if step.control else None
    error = response.error if response is not None else None
    by_code = step.codes.get(code, step.otherwise)
    if by_code is Meaning.DONE:
        return response
    candidates: dict[Meaning, str] = {}  # what the answer may mean, with a note for the log

    def add(meaning: Meaning, note: str) -> None:
        if not candidates.get(meaning):
            candidates[meaning] = note

    add(by_code, step.notes.get(code, ""))
    if error is not None and error in step.control:
        add(step.control[error], f"policy control: {error.name}")
    lowered = message.lower()
    for (text_code, needle), meaning in step.texts.items():
        if code == text_code and needle in lowered:
            add(meaning, "")
    data = bind_data_code(message) if step.data_codes else None
    if data is not None and data in step.data_codes:
        meaning, note = step.data_codes[data]
        add(meaning, f"{note} (data {data})")
    win32 = win32_code(message) if step.win32_codes else None
    if win32 is not None and win32 in step.win32_codes:
        meaning, note = step.win32_codes[win32]
        add(meaning, note)
    meaning = next((m for m in step.precedence if m in candidates), by_code)
    note = candidates[meaning]
    described = f"{raw_code} {result.get('description')}: {message[:160]}"
    log_message = f"{step.what}: {note} ({described})" if note else f"{step.what} ({described})"
    if meaning is Meaning.MUST_SET_AS_SERVICE:
        raise MustSetAsService(note)
    if meaning in (Meaning.POLICY, Meaning.REFUSED):
        reason = PolicyReason.DIRECTORY_REJECTED
        if meaning is Meaning.POLICY:
            reason = _policy_reason(step, response, lowered, same_as_old)
        raise PasswordPolicyRejected(reason, log_message)
    raise _ERRORS[meaning](log_message)


def _policy_reason(
    step: Step, response: PolicyResponse | None, message: str, same_as_old: bool
) -> PolicyReason:
    """Same-as-old by any sign first, then the control's reason, then the text's."""
    found = [reason for needle, reason in step.reasons if needle in message]
    if same_as_old or PolicyReason.SAME_AS_OLD in found:
        return PolicyReason.SAME_AS_OLD
    error = response.error if response is not None else None
    if error is not None and error in POLICY_REASONS:
        return POLICY_REASONS[error]
    return found[0] if found else PolicyReason.DIRECTORY_REJECTED


# -- the readings each caller makes --------------------------------------------------------


def check_bind(result: Mapping[str, Any]) -> PolicyResponse | None:
    """A user's bind with the ppolicy control: the error it means, or its policy response."""
    return check(BIND, result)


def check_password_modify(result: Mapping[str, Any], *, same_as_old: bool) -> None:
    """Raise the error a failed RFC 3062 Password Modify means; return on success."""
    check(PASSWORD_MODIFY, result, same_as_old=same_as_old)


def check_ad_bind(result: Mapping[str, Any]) -> None:
    """Active Directory's bind (MustSetAsService for a right but expired password)."""
    check(AD_BIND, result)


def check_ad_password_change(result: Mapping[str, Any], *, same_as_old: bool) -> None:
    check(AD_PASSWORD_CHANGE, result, same_as_old=same_as_old)


def check_ad_reset(result: Mapping[str, Any]) -> None:
    """The service account's reset with the policy-hints control."""
    check(AD_RESET, result)


def check_service_bind(result: Mapping[str, Any]) -> None:
    check(SERVICE_BIND, result)


def check_lookup(result: Mapping[str, Any], *, base: bool) -> None:
    """A user lookup; a missing base is a 404 for a DN template, a misconfiguration otherwise."""
    check(BASE_LOOKUP if base else SEARCH, result)


def check_ping(result: Mapping[str, Any]) -> None:
    check(PING, result)
