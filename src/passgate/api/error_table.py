"""The one table from passgate errors to both endpoints' answers."""

from __future__ import annotations

from dataclasses import dataclass

from passgate import errors as e


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: int  # v1 error.code
    message: str  # v1 error.message (exact, contract section 1)
    workspace_code: str  # workspace Errors[].Code (contract section 2), for 400 and 404
    workspace_message: str  # workspace Errors[].Message, or the problem's detail
    workspace_field: str | None = None
    workspace_type: int = 1  # 0 validation, 1 business rule, 2 system


INTERNAL = ErrorSpec(500, 5000, "Internal error", "InternalError", "Internal error", None, 2)

TABLE: dict[type[e.PassgateError], ErrorSpec] = {
    e.ValidationFailed: ErrorSpec(
        400, 1001, "Validation failed", "Required", "The request is not valid.", None, 0
    ),
    e.NoCredentials: ErrorSpec(
        401, 4002, "No auth token", "Unauthorized", "No auth token", None, 2
    ),
    e.InvalidCredentials: ErrorSpec(
        401,
        4001,
        "Unauthorized",
        "Unauthorized",
        "The access token is invalid or expired.",
        None,
        2,
    ),
    e.Forbidden: ErrorSpec(
        403, 4003, "Forbidden", "Forbidden", "This caller may not change this password.", None, 2
    ),
    e.TooManyAttempts: ErrorSpec(
        429, 4029, "Too many attempts", "TooManyAttempts", "Too many attempts", None, 2
    ),
    e.UserNotFound: ErrorSpec(
        404,
        3001,
        "Entity not found",
        "NotFound",
        "No directory account exists for the authenticated user.",
        None,
        1,
    ),
    e.IncorrectOldPassword: ErrorSpec(
        400,
        5023,
        "Incorrect old password",
        "IncorrectPassword",
        "The current password is incorrect.",
        "CurrentPassword",
        1,
    ),
    e.PasswordPolicyRejected: ErrorSpec(
        400,
        5024,
        "New password rejected by password policy",
        "PasswordPolicy",
        "The new password does not satisfy the password policy.",
        "NewPassword",
        1,
    ),
    e.PasswordExpired: ErrorSpec(
        400,
        5025,
        "Password expired",
        "PasswordExpired",
        "The current password has expired and cannot be used here; ask for a reset.",
        "CurrentPassword",
        1,
    ),
    e.AccountLocked: ErrorSpec(
        400, 5026, "Account locked", "AccountLocked", "The account is locked.", None, 1
    ),
    # HTTP's own refusals, in the scheme of the contract's 4001/4003/4029: 40 and the status.
    e.RouteNotFound: ErrorSpec(404, 4004, "Not found", "NotFound", "No such resource.", None, 2),
    e.MethodNotAllowed: ErrorSpec(
        405,
        4005,
        "Method not allowed",
        "MethodNotAllowed",
        "This method is not allowed on this resource.",
        None,
        2,
    ),
    e.DirectoryUnavailable: ErrorSpec(
        503,
        5030,
        "Directory unavailable",
        "DirectoryUnavailable",
        "Directory unavailable",
        None,
        2,
    ),
}


def spec_for(error: BaseException) -> ErrorSpec:
    """The answer for an error: its class's row, else its nearest ancestor's, else 500."""
    for cls in type(error).__mro__:
        spec = TABLE.get(cls)
        if spec is not None:
            return spec
    return INTERNAL
