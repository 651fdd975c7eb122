"""Every failure passgate reports, as one tree.

::

    PassgateError                      500 / 5000  Internal error
    ├── ValidationFailed               400 / 1001  bad userId or body (carries field details)
    ├── NoCredentials                  401 / 4002  nothing to authenticate with
    ├── InvalidCredentials             401 / 4001  bad token or API key
    ├── Forbidden                      403 / 4003  caller may not act on this user
    ├── TooManyAttempts                429 / 4029  attempt limiter tripped (carries retry_after)
    ├── UserNotFound                   404 / 3001  no entry has this userId
    ├── AmbiguousUser                  500 / 5000  several entries have this userId
    ├── IncorrectOldPassword           400 / 5023  the bind with the old password failed
    ├── PasswordPolicyRejected         400 / 5024  the new password was refused (carries reason)
    ├── PasswordExpired                400 / 5025  right but expired, and no way to set it
    ├── AccountLocked                  400 / 5026  locked or disabled
    ├── DirectoryUnavailable           503 / 5030  no LDAP server answered in time
    └── DirectoryMisconfigured         500 / 5000  the directory refuses passgate itself

Errors carry what the HTTP presenters need (a kind, a policy reason, field
details) and nothing secret: never a password, never an LDAP diagnostic
text meant for operators (that goes to the log, at the edge that saw it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PolicyReason(StrEnum):
    """Why a new password was refused (contract section 4)."""

    TOO_SHORT = "passwordTooShort"
    TOO_LONG = "passwordTooLong"
    IN_HISTORY = "passwordInHistory"
    TOO_YOUNG = "passwordTooYoung"
    QUALITY = "insufficientPasswordQuality"
    SAME_AS_OLD = "sameAsOld"
    CONTAINS_USERNAME = "containsUsername"
    TOO_WEAK = "tooWeak"
    DIRECTORY_REJECTED = "directoryRejected"


class ProblemKind(StrEnum):
    """What is wrong with a field (the workspace endpoint's ``Errors[].Code``)."""

    REQUIRED = "Required"
    INVALID_LENGTH = "InvalidLength"
    INVALID_TYPE = "InvalidType"
    INVALID_BODY = "InvalidBody"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field: its public name and a short, non-secret reason."""

    field: str
    reason: str
    kind: ProblemKind = ProblemKind.REQUIRED


class PassgateError(Exception):
    """Base of every error passgate reports; on its own it means 'internal error'."""

    def __init__(self, log_message: str = "") -> None:
        # log_message is for operators; it must never contain a password.
        super().__init__(log_message or type(self).__name__)
        self.log_message = log_message


class ValidationFailed(PassgateError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("validation failed: " + ", ".join(p.field for p in problems))
        self.problems = problems


class NoCredentials(PassgateError):
    pass


class InvalidCredentials(PassgateError):
    pass


class Forbidden(PassgateError):
    def __init__(self, log_message: str = "", *, public_detail: str | None = None) -> None:
        super().__init__(log_message)
        # Shown to the caller (problem details); must say nothing secret.
        self.public_detail = public_detail


class TooManyAttempts(PassgateError):
    def __init__(self, retry_after: int, log_message: str = "") -> None:
        super().__init__(log_message)
        self.retry_after = retry_after


class UserNotFound(PassgateError):
    pass


class AmbiguousUser(PassgateError):
    pass


class IncorrectOldPassword(PassgateError):
    pass


class PasswordPolicyRejected(PassgateError):
    def __init__(
        self,
        reason: PolicyReason,
        log_message: str = "",
        message: str = "",
        *,
        by_passgate: bool = False,
    ) -> None:
        super().__init__(log_message or f"new password refused: {reason.value}")
        self.reason = reason
        self.message = message  # for the person: the rule and its limit, never the password
        self.by_passgate = by_passgate  # a local rule, not the directory, refused it

    def explained(self, message: str) -> PasswordPolicyRejected:
        return PasswordPolicyRejected(
            self.reason, self.log_message, message, by_passgate=self.by_passgate
        )


class PasswordExpired(PassgateError):
    pass


class AccountLocked(PassgateError):
    pass


class DirectoryUnavailable(PassgateError):
    def __init__(
        self, log_message: str = "", *, timed_out: bool = False, lost: bool = False
    ) -> None:
        super().__init__(log_message)
        self.timed_out = timed_out  # no answer in time (not: connection refused or reset)
        self.lost = lost  # the connection failed: a request may have gone out unanswered


class LimiterUnavailable(DirectoryUnavailable):
    """The shared attempt store (Redis) cannot be reached: no bind until it can.

    A 503 like the directory's: counted per process meanwhile, two instances
    could each let one attempt on the same entry through its last-straw guard
    at once, and both failing binds lock the account.
    """

    retry_after = 5  # seconds: when the store is tried again


class DirectoryMisconfigured(PassgateError):
    pass


class RouteNotFound(PassgateError):
    """No endpoint at this path (HTTP's own 404, said in the family's shape)."""


class MethodNotAllowed(PassgateError):
    """The path is an endpoint, the method is not one of its own."""

    def __init__(self, allowed: str, log_message: str = "") -> None:
        super().__init__(log_message)
        self.allowed = allowed  # the Allow header's value


class ConfigurationError(Exception):
    """Settings that cannot work; the message names the environment variable."""
