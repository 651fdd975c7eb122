"""How each endpoint family writes an answer, built from the models in :mod:`.models`.

v1 (contract section 1): ``{"status", "data"}`` / ``{"status", "error"}``.
Workspace (contract section 2): the ``{Data, Errors, Warnings, Success}``
envelope for 200, 400 and 404, RFC 7807 problem details for the rest.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi.responses import JSONResponse

from passgate.api.error_table import ErrorSpec, spec_for
from passgate.api.models import (
    ErrorDetail,
    PasswordChanged,
    PasswordPolicy,
    PolicyRule,
    ProblemDetails,
    V1Error,
    V1ErrorBody,
    V1PolicyResponse,
    V1Success,
    WorkspaceData,
    WorkspaceEnvelope,
    WorkspaceItem,
    WorkspacePolicyEnvelope,
)
from passgate.errors import (
    FieldProblem,
    Forbidden,
    InvalidCredentials,
    LimiterUnavailable,
    MethodNotAllowed,
    NoCredentials,
    PassgateError,
    PasswordPolicyRejected,
    ProblemKind,
    TooManyAttempts,
    ValidationFailed,
)
from passgate.policy.model import EffectivePolicy

ERROR_SEVERITY = 2


def _headers(error: PassgateError) -> dict[str, str]:
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = error.allowed
    if isinstance(error, LimiterUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, NoCredentials):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, InvalidCredentials):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return headers


def password_policy(policy: EffectivePolicy) -> PasswordPolicy:
    """The effective policy as both policy endpoints show it."""
    d = policy.directory
    local = policy.local
    return PasswordPolicy(
        minLength=policy.min_length,
        maxLength=policy.max_length,
        history=d.history if d else None,
        minAgeSeconds=d.min_age_seconds if d else None,
        maxAgeSeconds=d.max_age_seconds if d else None,
        directoryQualityCheck=d.quality_check if d else None,
        minLowercase=local.min_lowercase,
        minUppercase=local.min_uppercase,
        minDigits=local.min_digits,
        minSymbols=local.min_symbols,
        notSameAsOld=local.same_as_old,
        notContainingUsername=local.contains_username,
        minStrength=local.min_strength,
        forbiddenList=local.forbidden_list,
        directorySource=d.source if d else None,
        rules=[
            PolicyRule(reason=r.reason.value, source=r.source, value=r.value, message=r.message)
            for r in policy.rules
        ],
    )


# -- v1 ------------------------------------------------------------------------------


class Rendered(JSONResponse):
    """A JSON answer whose body was rendered once: every change's success is the same."""

    def render(self, content: object) -> bytes:
        assert isinstance(content, bytes)
        return content


_V1_SUCCESS = JSONResponse(
    V1Success(status=True, data=PasswordChanged(passwordChanged="OK")).model_dump()
).body


def v1_success() -> JSONResponse:
    return Rendered(_V1_SUCCESS)


def v1_policy(policy: EffectivePolicy) -> JSONResponse:
    return JSONResponse(V1PolicyResponse(status=True, data=password_policy(policy)).model_dump())


def v1_error(error: PassgateError) -> JSONResponse:
    spec = spec_for(error)
    details = None
    if isinstance(error, ValidationFailed):
        details = [ErrorDetail(field=p.field, reason=p.reason) for p in error.problems]
    elif isinstance(error, PasswordPolicyRejected):
        # message: the rule and its limit, for the person (absent when unknown)
        details = [
            ErrorDetail(
                field="newPassword", reason=error.reason.value, message=error.message or None
            )
        ]
    answer = V1Error(
        status=False, error=V1ErrorBody(code=spec.code, message=spec.message, details=details)
    )
    return JSONResponse(
        answer.model_dump(exclude_none=True), status_code=spec.status, headers=_headers(error)
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
) -> WorkspaceItem:
    return WorkspaceItem(
        Code=code,
        Message=message,
        Target=target if target is not None else field,
        Field=field,
        Metadata=metadata or {},
        Type=type_,
        Severity=ERROR_SEVERITY,
    )


def _problem_item(problem: FieldProblem) -> WorkspaceItem:
    field = None if problem.field == "body" else problem.field
    if problem.kind is ProblemKind.INVALID_BODY:
        message = f"The request body is not usable: {problem.reason}."
    else:
        message = f"{problem.field} {problem.reason}."
    return _item(problem.kind.value, message, field=field, type_=0, target=problem.field)


def workspace_envelope(changed: bool, errors: list[WorkspaceItem], status: int) -> JSONResponse:
    answer = WorkspaceEnvelope(
        Data=WorkspaceData(PasswordChanged=changed), Errors=errors, Warnings=[], Success=changed
    )
    return JSONResponse(answer.model_dump(by_alias=True), status_code=status)


_WORKSPACE_SUCCESS = JSONResponse(
    WorkspaceEnvelope(
        Data=WorkspaceData(PasswordChanged=True), Errors=[], Warnings=[], Success=True
    ).model_dump(by_alias=True)
).body


def workspace_success() -> JSONResponse:
    return Rendered(_WORKSPACE_SUCCESS)


def workspace_policy(policy: EffectivePolicy) -> JSONResponse:
    answer = WorkspacePolicyEnvelope(
        Data=password_policy(policy), Errors=[], Warnings=[], Success=True
    )
    return JSONResponse(answer.model_dump(by_alias=True))


def problem(spec: ErrorSpec, detail: str, instance: str, headers: dict[str, str]) -> JSONResponse:
    answer = ProblemDetails(
        type="about:blank",
        title=HTTPStatus(spec.status).phrase,
        status=spec.status,
        detail=detail,
        instance=instance,
    )
    return JSONResponse(
        answer.model_dump(),
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
