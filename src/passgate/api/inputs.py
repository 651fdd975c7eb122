"""What the request asks for, checked in the contract's words: the userId and the passwords.

The two endpoints' bodies come in three media types (:mod:`.body`); every
problem is collected, so one 400 names every bad field (v1 ``details``,
workspace ``Errors``), the userId first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import SecretStr

from passgate.api.body import read_fields
from passgate.api.callers import header_caller, workspace_caller
from passgate.api.components import Components
from passgate.api.deps import attempt_of, parts_of
from passgate.api.passwords import password_field
from passgate.auth.base import OBJECT_ID, Caller
from passgate.errors import FieldProblem, ProblemKind, ValidationFailed
from passgate.timing import Phases

OBJECT_ID_PATTERN = OBJECT_ID.pattern
V1_FIELDS = ("oldPassword", "newPassword")
WORKSPACE_FIELDS = ("CurrentPassword", "NewPassword")

# Documented with its pattern, checked by v1_passwords: a bad userId is one
# more ``details`` entry beside the body's, in the contract's words.
UserIdPath = Annotated[
    str,
    Path(
        alias="userId",
        description="the user's 24-hex id (MongoDB ObjectId style)",
        json_schema_extra={"pattern": OBJECT_ID_PATTERN},
    ),
]


@dataclass(frozen=True)
class Passwords:
    old: SecretStr = field(repr=False)
    new: SecretStr = field(repr=False)


async def v1_passwords(request: Request, user_id: UserIdPath) -> Passwords:
    fields = await read_fields(request, V1_FIELDS)
    problems: list[FieldProblem] = []
    if not OBJECT_ID.fullmatch(user_id):
        problems.append(FieldProblem("userId", "must be 24 hexadecimal characters"))
    old = password_field(fields.get("oldPassword"), "oldPassword", problems)
    new = password_field(fields.get("newPassword"), "newPassword", problems)
    if problems or old is None or new is None:
        raise ValidationFailed(problems)
    return Passwords(old, new)


async def workspace_passwords(request: Request) -> Passwords:
    fields = await read_fields(request, WORKSPACE_FIELDS)
    named = {str(k).lower(): v for k, v in fields.items()}  # names are case-insensitive
    problems: list[FieldProblem] = []
    for name in WORKSPACE_FIELDS:  # "CurrentPassword" and "currentPassword": which one?
        if sum(1 for k in fields if str(k).lower() == name.lower()) > 1:
            problems.append(FieldProblem(name, "given more than once", ProblemKind.INVALID_TYPE))
    if problems:
        raise ValidationFailed(problems)
    current = password_field(
        named.get("currentpassword"), "CurrentPassword", problems, min_length=1
    )
    local = parts_of(request).service.local_policy  # its length bounds are known before any lookup
    new = password_field(
        named.get("newpassword"),
        "NewPassword",
        problems,
        min_length=local.min_length,
        max_length=local.max_length,
    )
    if problems or current is None or new is None:
        raise ValidationFailed(problems)
    return Passwords(current, new)


# -- one dependency per change request -------------------------------------------------
# The change endpoints are the hot path. Each dependency FastAPI solves costs
# bookkeeping of its own (measured: 10.6 us for a trivial one on a 2-core
# machine, more with parameters), so each change route solves ONE dependency
# that reads the caller and then the body, in the contract's order.


@dataclass(frozen=True)
class V1Change:
    """A v1 change request: who asks (401 first), then the userId and body (400)."""

    parts: Components
    caller: Caller
    user_id: str
    passwords: Passwords


async def v1_change(request: Request, user_id: UserIdPath) -> V1Change:
    phases = attempt_of(request).phases
    with phases.timed("auth"):
        caller = await header_caller(request)
    with phases.timed("body"):
        passwords = await v1_passwords(request, user_id)
    return V1Change(parts_of(request), caller, user_id, passwords)


@dataclass(frozen=True)
class WorkspaceChange:
    """A workspace change request: the person's token (401/403 first), then the body (400)."""

    parts: Components
    caller: Caller
    passwords: Passwords
    phases: Phases


async def workspace_change(request: Request) -> WorkspaceChange:
    phases = attempt_of(request).phases
    with phases.timed("auth"):
        caller = await workspace_caller(request)
    with phases.timed("body"):
        passwords = await workspace_passwords(request)
    return WorkspaceChange(parts_of(request), caller, passwords, phases)


async def v1_change_arguments(request: Request) -> dict[str, Any]:
    """The v1 change endpoint's arguments, solved as its signature says (see routing.solved_by)."""
    return {"request": request, "change": await v1_change(request, request.path_params["userId"])}


async def workspace_change_arguments(request: Request) -> dict[str, Any]:
    """The workspace change endpoint's arguments (see routing.solved_by)."""
    return {"change": await workspace_change(request)}


V1ChangeRequest = Annotated[V1Change, Depends(v1_change)]
WorkspaceChangeRequest = Annotated[WorkspaceChange, Depends(workspace_change)]
