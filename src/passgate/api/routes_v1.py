"""``POST /v1/users/{userId}/change-password`` (contract section 1)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from passgate.api.body import read_fields
from passgate.api.deps import App, HeaderCaller
from passgate.api.passwords import password_field
from passgate.api.presenters import v1_success
from passgate.auth.base import OBJECT_ID, Caller
from passgate.errors import FieldProblem, Forbidden, ValidationFailed

router = APIRouter()


def authorize(caller: Caller, user_id: str, admin_role: str) -> None:
    """The user themselves, or a caller holding the admin role (a helpdesk tool)."""
    if caller.is_user(user_id) or caller.has_role(admin_role):
        return
    raise Forbidden(f"{caller.kind} {caller.name} may not change the password of {user_id}")


@router.post("/v1/users/{userId}/change-password")
async def change_password(
    request: Request,
    user_id: Annotated[str, Path(alias="userId")],
    caller: HeaderCaller,
    app: App,
) -> JSONResponse:
    # Order fixed by the contract: authentication (the dependency above),
    # validation, authorization, then the directory.
    fields = await read_fields(request)
    problems: list[FieldProblem] = []
    if not OBJECT_ID.match(user_id):
        problems.append(FieldProblem("userId", "must be 24 hexadecimal characters"))
    old = password_field(fields.get("oldPassword"), "oldPassword", problems)
    new = password_field(fields.get("newPassword"), "newPassword", problems)
    if problems or old is None or new is None:
        raise ValidationFailed(problems)
    authorize(caller, user_id, app.settings.auth_admin_role)
    await anyio.to_thread.run_sync(
        app.service.change_password, user_id, old, new, limiter=app.ldap_slots
    )
    return v1_success()
