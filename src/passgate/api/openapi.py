"""The OpenAPI description of both endpoints: bodies, every answer, its schema and examples.

The routes read their bodies themselves (three media types, exact contract
errors), so FastAPI cannot infer any of this; it is written here once, as
pydantic models, and the examples are made by the same presenters that
answer real requests, so they cannot drift from what is sent.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from passgate import errors as e
from passgate.api.error_table import INTERNAL, TABLE, ErrorSpec
from passgate.api.presenters import v1_error, v1_success, workspace_error, workspace_success

PASSWORD = {"type": "string", "minLength": 8, "maxLength": 128, "format": "password"}
OBJECT_ID_PATTERN = "^[a-fA-F0-9]{24}$"


# -- v1 ------------------------------------------------------------------------------


class ChangePasswordV1(BaseModel):
    oldPassword: str = Field(min_length=8, max_length=128, json_schema_extra={"format": "password"})
    newPassword: str = Field(min_length=8, max_length=128, json_schema_extra={"format": "password"})


class PasswordChanged(BaseModel):
    passwordChanged: str = Field(examples=["OK"])


class V1Success(BaseModel):
    status: bool = Field(examples=[True])
    data: PasswordChanged


class ErrorDetail(BaseModel):
    field: str
    reason: str
    message: str | None = Field(
        default=None, description="policy refusals: the rule and its limit, for the person"
    )


class V1ErrorBody(BaseModel):
    code: int
    message: str
    details: list[ErrorDetail] | None = None


class V1Error(BaseModel):
    status: bool = Field(examples=[False])
    error: V1ErrorBody


# -- workspace -----------------------------------------------------------------------


class ChangePasswordWorkspace(BaseModel):
    model_config = ConfigDict(title="ChangePasswordWorkspace")

    CurrentPassword: str | None = None
    NewPassword: str | None = None


class WorkspaceItem(BaseModel):
    Code: str
    Message: str
    Target: str | None
    Field_: str | None = Field(alias="Field")
    Metadata: dict[str, str]
    Type: int = Field(description="0 validation, 1 business rule, 2 system")
    Severity: int = Field(description="0 info, 1 warning, 2 error")


class WorkspaceData(BaseModel):
    PasswordChanged: bool


class WorkspaceEnvelope(BaseModel):
    Data: WorkspaceData
    Errors: list[WorkspaceItem]
    Warnings: list[WorkspaceItem]
    Success: bool


class ProblemDetails(BaseModel):
    """RFC 7807 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


# -- examples, made by the presenters ----------------------------------------------------

EXAMPLE_ERRORS: dict[str, e.PassgateError] = {
    "validation": e.ValidationFailed(
        [e.FieldProblem("newPassword", "must be 8 to 128 characters", e.ProblemKind.INVALID_LENGTH)]
    ),
    "no credentials": e.NoCredentials(),
    "bad token": e.InvalidCredentials(),
    "forbidden": e.Forbidden(),
    "not found": e.UserNotFound(),
    "wrong old password": e.IncorrectOldPassword(),
    "policy": e.PasswordPolicyRejected(
        e.PolicyReason.IN_HISTORY,
        message="The new password must not be one of your last 5 passwords.",
    ),
    "expired": e.PasswordExpired(),
    "locked": e.AccountLocked(),
    "limited": e.TooManyAttempts(600),
    "unavailable": e.DirectoryUnavailable(),
    "internal": e.PassgateError(),
}


def _spec(error: e.PassgateError) -> ErrorSpec:
    return TABLE.get(type(error), INTERNAL)


def _body(response: Any) -> Any:
    return json.loads(bytes(response.body))


def _by_status(present: Any, only: set[str] | None = None) -> dict[int, dict[str, Any]]:
    grouped: dict[int, dict[str, Any]] = {}
    for name, error in EXAMPLE_ERRORS.items():
        if only is not None and name not in only:
            continue
        grouped.setdefault(_spec(error).status, {})[name] = {"value": _body(present(error))}
    return grouped


def _responses(
    success: Any,
    present: Any,
    schema_of: Any,
    descriptions: dict[int, str],
    only: set[str] | None = None,
    what: str = "The password was changed.",
) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": what,
            "content": {"application/json": {"schema": success[0], "example": success[1]}},
        }
    }
    for status, examples in sorted(_by_status(present, only).items()):
        media, schema = schema_of(status)
        entry: dict[str, Any] = {
            "description": descriptions[status],
            "content": {media: {"schema": schema, "examples": examples}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds until an attempt is counted again",
                    "schema": {"type": "integer"},
                }
            }
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
            }
        responses[status] = entry
    return responses


V1_DESCRIPTIONS = {
    400: "Validation failed (1001), or the directory refused: 5023 incorrect old password, "
    "5024 policy (details[].reason), 5025 expired, 5026 locked.",
    401: "4002 no credentials, 4001 bad token or API key.",
    403: "4003: the caller may not change this user's password.",
    404: "3001: no directory entry has this userId.",
    429: "4029: too many failed attempts; see Retry-After.",
    500: "5000: internal error (never a stack trace).",
    503: "5030: no directory server answered in time.",
}
WORKSPACE_DESCRIPTIONS = {
    400: "Errors[].Code: Required, InvalidLength, IncorrectPassword, PasswordPolicy "
    "(Metadata.Reason), PasswordExpired, AccountLocked.",
    401: "Problem details: no or bad token.",
    403: "Problem details: API key or service account.",
    404: "Errors[].Code NotFound: the token's user has no directory entry.",
    429: "Problem details: too many failed attempts; see Retry-After.",
    500: "Problem details: internal error.",
    503: "Problem details: no directory server answered in time.",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _request_body(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            media: {"schema": _ref(model), "example": example}
            for media in (
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )
        },
    }


def v1_operation() -> dict[str, Any]:
    def schema_of(status: int) -> tuple[str, dict[str, str]]:
        return "application/json", _ref(V1Error)

    return {
        "summary": "Change a user's password (old password required)",
        "responses": _responses(
            (_ref(V1Success), _body(v1_success())), v1_error, schema_of, V1_DESCRIPTIONS
        ),
        "openapi_extra": {
            "requestBody": _request_body(
                ChangePasswordV1, {"oldPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"}
            ),
            "security": [{"bearer": []}, {"apiKey": []}],
        },
    }


def workspace_operation() -> dict[str, Any]:
    def schema_of(status: int) -> tuple[str, dict[str, str]]:
        if status in (400, 404):
            return "application/json", _ref(WorkspaceEnvelope)
        return "application/problem+json", _ref(ProblemDetails)

    instance = "/api/workspace/account/change-password"
    return {
        "summary": "Change the authenticated user's own password",
        "responses": _responses(
            (_ref(WorkspaceEnvelope), _body(workspace_success())),
            lambda error: workspace_error(error, instance),
            schema_of,
            WORKSPACE_DESCRIPTIONS,
        ),
        "openapi_extra": {
            "requestBody": _request_body(
                ChangePasswordWorkspace,
                {"CurrentPassword": "Old-Passw0rd!", "NewPassword": "New-Passw0rd!"},
            ),
            "security": [{"bearer": []}, {"accessToken": []}],
        },
    }


# -- the password policy -------------------------------------------------------------


class PolicyRule(BaseModel):
    reason: str = Field(description="the contract's section-4 reason this rule produces")
    source: str = Field(description="local (passgate) or directory")
    value: int | None = Field(description="its limit, where it has one")
    message: str


class PasswordPolicy(BaseModel):
    minLength: int
    maxLength: int
    history: int | None
    minAgeSeconds: int | None
    maxAgeSeconds: int | None
    directoryQualityCheck: bool | None
    minLowercase: int
    minUppercase: int
    minDigits: int
    minSymbols: int
    notSameAsOld: bool
    notContainingUsername: bool
    minStrength: int = Field(description="zxcvbn score 0..4; 0: not checked")
    forbiddenList: bool
    directorySource: str | None = Field(description="the entry the directory's rules came from")
    rules: list[PolicyRule]


class V1PolicyResponse(BaseModel):
    status: bool
    data: PasswordPolicy


class WorkspacePolicyEnvelope(BaseModel):
    Data: PasswordPolicy
    Errors: list[WorkspaceItem]
    Warnings: list[WorkspaceItem]
    Success: bool


def _policy_example() -> dict[str, Any]:
    from passgate.policy.model import DirectoryPolicy, EffectivePolicy, LocalPolicy

    directory = DirectoryPolicy(
        "cn=default,ou=policies,dc=example,dc=org", min_length=10, history=3, quality_check=True
    )
    return EffectivePolicy.of(LocalPolicy(), directory).as_json()


POLICY_ERRORS = {"no credentials", "bad token", "forbidden", "not found", "internal", "unavailable"}


def policy_v1_operation() -> dict[str, Any]:
    def schema_of(status: int) -> tuple[str, dict[str, str]]:
        return "application/json", _ref(V1Error)

    example = {"status": True, "data": _policy_example()}
    return {
        "summary": "The password rules that apply to the caller (or, for an admin, to ?userId=)",
        "responses": _responses(
            (_ref(V1PolicyResponse), example),
            v1_error,
            schema_of,
            V1_DESCRIPTIONS,
            POLICY_ERRORS | {"validation"},
            "The effective policy: passgate's rules and the directory's.",
        ),
        "openapi_extra": {
            "parameters": [
                {
                    "name": "userId",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": OBJECT_ID_PATTERN},
                    "description": "whose policy (admins; others may name only themselves)",
                }
            ],
            "security": [{"bearer": []}, {"apiKey": []}],
        },
    }


def policy_workspace_operation() -> dict[str, Any]:
    def schema_of(status: int) -> tuple[str, dict[str, str]]:
        if status in (400, 404):
            return "application/json", _ref(WorkspaceEnvelope)
        return "application/problem+json", _ref(ProblemDetails)

    instance = "/api/workspace/account/password-policy"
    example = {"Data": _policy_example(), "Errors": [], "Warnings": [], "Success": True}
    return {
        "summary": "The password rules that apply to the authenticated user",
        "responses": _responses(
            (_ref(WorkspacePolicyEnvelope), example),
            lambda error: workspace_error(error, instance),
            schema_of,
            WORKSPACE_DESCRIPTIONS,
            POLICY_ERRORS,
            "The effective policy: passgate's rules and the directory's.",
        ),
        "openapi_extra": {"security": [{"bearer": []}, {"accessToken": []}]},
    }


MODELS: list[type[BaseModel]] = [
    ChangePasswordV1,
    V1Success,
    V1Error,
    ChangePasswordWorkspace,
    WorkspaceEnvelope,
    ProblemDetails,
    V1PolicyResponse,
    WorkspacePolicyEnvelope,
]


def install(app: FastAPI) -> None:
    """Replace FastAPI's inferred schema by the full one (computed once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)  # FastAPI's 422: passgate never answers it
            for model in MODELS:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[model.__name__] = found
            components["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "accessToken": {"type": "apiKey", "in": "query", "name": "access_token"},
            }
            v1 = schema["paths"]["/v1/users/{userId}/change-password"]["post"]
            for parameter in v1.get("parameters", []):
                if parameter["name"] == "userId":
                    parameter["schema"] = {"type": "string", "pattern": OBJECT_ID_PATTERN}
                    parameter["description"] = "the user's 24-hex id (MongoDB ObjectId style)"
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def schema_document() -> str:
    """The OpenAPI document as published in ``docs/openapi.json`` (no settings needed)."""
    from passgate.api import routes_ops, routes_policy, routes_v1, routes_workspace

    app = FastAPI(
        title="passgate",
        version=_version(),
        description="Change a password in an LDAP directory, verified by a bind as the user.",
    )
    for module in (routes_ops, routes_v1, routes_workspace, routes_policy):
        app.include_router(module.router)
    install(app)
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def _version() -> str:
    from passgate import __version__

    return __version__
