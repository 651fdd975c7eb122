"""What the routes declare for the OpenAPI document that FastAPI cannot infer.

FastAPI generates the document: paths and parameters from the routes, the
security schemes from the caller dependencies, every schema from the
models in :mod:`.models` (``responses=`` with ``model=`` per status). Here
are only what it cannot know: the examples (made by the same presenters
that answer real requests, so they cannot drift), the sentences that
describe each status, the ``Retry-After`` and ``WWW-Authenticate`` headers,
the body that a dependency reads in three media types, and the problem
details' media type. And one removal: FastAPI documents a 422 for every
route with parameters, which passgate never sends (it answers 400 / 1001).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from passgate import errors as e
from passgate.api.callers import security_schemes
from passgate.api.error_table import spec_for
from passgate.api.models import ProblemDetails, V1Error, WorkspaceEnvelope
from passgate.api.presenters import ENVELOPE_STATUSES, v1_error, workspace_error
from passgate.policy.model import DirectoryPolicy, EffectivePolicy, LocalPolicy

Responses = dict[int | str, dict[str, Any]]
MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")

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
POLICY_ERRORS = {"no credentials", "bad token", "forbidden", "not found", "internal", "unavailable"}

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
HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "seconds until an attempt is counted again",
            "schema": {"type": "integer"},
        }
    },
}
CHANGED = "The password was changed."
POLICY = "The effective policy: passgate's rules and the directory's."


def _body(response: JSONResponse) -> Any:
    return json.loads(bytes(response.body))


def _examples(
    present: Callable[[e.PassgateError], JSONResponse], only: set[str] | None
) -> dict[int, dict[str, Any]]:
    grouped: dict[int, dict[str, Any]] = {}
    for name, error in EXAMPLE_ERRORS.items():
        if only is None or name in only:
            grouped.setdefault(spec_for(error).status, {})[name] = {"value": _body(present(error))}
    return dict(sorted(grouped.items()))


def _success(model: type[BaseModel], description: str, example: JSONResponse) -> Responses:
    return {
        200: {
            "model": model,
            "description": description,
            "content": {"application/json": {"example": _body(example)}},
        }
    }


def v1_responses(
    model: type[BaseModel], description: str, example: JSONResponse, only: set[str] | None = None
) -> Responses:
    """Every answer of a v1 route: its success, and each error in ``V1Error``'s shape."""
    responses = _success(model, description, example)
    for status, examples in _examples(v1_error, only).items():
        responses[status] = {
            "model": V1Error,
            "description": V1_DESCRIPTIONS[status],
            "content": {"application/json": {"examples": examples}},
            **({"headers": HEADERS[status]} if status in HEADERS else {}),
        }
    return responses


def workspace_responses(
    instance: str,
    model: type[BaseModel],
    description: str,
    example: JSONResponse,
    only: set[str] | None = None,
) -> Responses:
    """Every answer of a workspace route: the envelope for 200/400/404, else problem details.

    FastAPI puts a ``model`` under the route's media type (``application/json``);
    problem details have their own, so their schema is given here, from the model.
    """
    responses = _success(model, description, example)
    present = lambda error: workspace_error(error, instance)  # noqa: E731
    for status, examples in _examples(present, only).items():
        entry: dict[str, Any] = {"description": WORKSPACE_DESCRIPTIONS[status]}
        if status in ENVELOPE_STATUSES:
            entry["model"] = WorkspaceEnvelope
            entry["content"] = {"application/json": {"examples": examples}}
        else:
            schema = ProblemDetails.model_json_schema()
            entry["content"] = {
                "application/problem+json": {"schema": schema, "examples": examples}
            }
        if status in HEADERS:
            entry["headers"] = HEADERS[status]
        responses[status] = entry
    return responses


def request_body(model: type[BaseModel], example: dict[str, str]) -> dict[str, Any]:
    """``openapi_extra`` for a body a dependency reads: the model's schema in three media types."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": schema, "example": example} for media in MEDIA_TYPES},
        }
    }


def example_policy() -> EffectivePolicy:
    """The policy the two policy routes show as their example."""
    directory = DirectoryPolicy(
        "cn=default,ou=policies,dc=example,dc=org", min_length=10, history=3, quality_check=True
    )
    return EffectivePolicy.of(LocalPolicy(), directory)


def drop_validation_422(app: FastAPI) -> None:
    """FastAPI's generated document, without the 422 that passgate never answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = generate()  # FastAPI keeps it in app.openapi_schema
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            components = schema.setdefault("components", {})
            components["securitySchemes"] = security_schemes()
            schemas = components.get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
