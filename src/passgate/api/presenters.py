"""How each endpoint writes an answer.

v1 (contract section 1): ``{"status", "data"}`` / ``{"status", "error"}``.
Workspace (contract section 2): the ``{Data, Errors, Warnings, Success}``
envelope for 200, 400 and 404, RFC 7807 problem details for the rest.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from passgate.api.error_table import ErrorSpec, spec_for
from passgate.errors import (
    FieldProblem,
    Forbidden,
    InvalidCredentials,
    NoCredentials,
    PassgateError,
    PasswordPolicyRejected,
    ProblemKind,
    TooManyAttempts,
    ValidationFailed,
)

ERROR_SEVERITY = 2


def _headers(error: PassgateError) -> dict[str, str]:
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, NoCredentials):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, InvalidCredentials):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return headers


# -- v1 ------------------------------------------------------------------------------


def v1_success() -> JSONResponse:
    return JSONResponse({"status": True, "data": {"passwordChanged": "OK"}})


def v1_error(error: PassgateError) -> JSONResponse:
    spec = spec_for(error)
    body: dict[str, Any] = {"code": spec.code, "message": spec.message}
    if isinstance(error, ValidationFailed):
        body["details"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
    elif isinstance(error, PasswordPolicyRejected):
        detail = {"field": "newPassword", "reason": error.reason.value}
        if error.message:
            detail["message"] = error.message  # the rule and its limit, for the person
        body["details"] = [detail]
    return JSONResponse(
        {"status": False, "error": body}, status_code=spec.status, headers=_headers(error)
    )


# -- workspace -------------------------------------------------------------------------

ENVELOPE_STATUSES = (200, 400, 404)


def _item(
    code: str,
    message: str,
    *,
    field: str | None,
    type_: int,
    target: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "Code": code,
        "Message": message,
        "Target": target if target is not None else field,
        "Field": field,
        "Metadata": metadata or {},
        "Type": type_,
        "Severity": ERROR_SEVERITY,
    }


def _problem_item(problem: FieldProblem) -> dict[str, Any]:
    field = None if problem.field == "body" else problem.field
    if problem.kind is ProblemKind.INVALID_BODY:
        message = f"The request body is not usable: {problem.reason}."
    else:
        message = f"{problem.field} {problem.reason}."
    return _item(problem.kind.value, message, field=field, type_=0, target=problem.field)


def workspace_envelope(changed: bool, errors: list[dict[str, Any]], status: int) -> JSONResponse:
    return JSONResponse(
        {
            "Data": {"PasswordChanged": changed},
            "Errors": errors,
            "Warnings": [],
            "Success": changed,
        },
        status_code=status,
    )


def workspace_success() -> JSONResponse:
    return workspace_envelope(True, [], 200)


def problem(spec: ErrorSpec, detail: str, instance: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": HTTPStatus(spec.status).phrase,
            "status": spec.status,
            "detail": detail,
            "instance": instance,
        },
        status_code=spec.status,
        headers=headers,
        media_type="application/problem+json",
    )


def workspace_error(error: PassgateError, instance: str) -> JSONResponse:
    spec = spec_for(error)
    if spec.status not in ENVELOPE_STATUSES:
        detail = spec.workspace_message
        if isinstance(error, Forbidden) and error.public_detail:
            detail = error.public_detail
        return problem(spec, detail, instance, _headers(error))
    if isinstance(error, ValidationFailed):
        items = [_problem_item(p) for p in error.problems]
    else:
        metadata = None
        message = spec.workspace_message
        if isinstance(error, PasswordPolicyRejected):
            metadata = {"Reason": error.reason.value}
            message = error.message or message
        items = [
            _item(
                spec.workspace_code,
                message,
                field=spec.workspace_field,
                type_=spec.workspace_type,
                target=spec.workspace_field or "Account",
                metadata=metadata,
            )
        ]
    return workspace_envelope(False, items, spec.status)
