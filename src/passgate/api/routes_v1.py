"""``POST /v1/users/{userId}/change-password`` (contract section 1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from passgate.api import openapi
from passgate.api.body import read_fields
from passgate.api.deps import components_of, header_caller
from passgate.api.observe import observed
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


@router.post("/v1/users/{userId}/change-password", **openapi.v1_operation())
async def change_password(
    request: Request, user_id: Annotated[str, Path(alias="userId")]
) -> JSONResponse:
    # Order fixed by the contract: authentication, validation, authorization,
    # then the directory. (Plain calls, not dependencies: FastAPI's dependency
    # solving is a measurable share of a request that passgate keeps cheap.)
    app = components_of(request)
    async with observed(request, app, "v1_change_password", audit=True) as attempt:
        attempt.target = user_id if OBJECT_ID.match(user_id) else None
        caller = attempt.caller = await header_caller(request, app)
        fields = await read_fields(request)
        problems: list[FieldProblem] = []
        if not OBJECT_ID.match(user_id):
            problems.append(FieldProblem("userId", "must be 24 hexadecimal characters"))
        old = password_field(fields.get("oldPassword"), "oldPassword", problems)
        new = password_field(fields.get("newPassword"), "newPassword", problems)
        if problems or old is None or new is None:
            raise ValidationFailed(problems)
        authorize(caller, user_id, app.settings.auth_admin_role)

        def limited_change() -> None:
            with app.limiter.attempt(user_id.lower(), attempt.address):
                app.service.change_password(user_id, old, new)

        await app.ldap_threads.run(limited_change)  # the limiter may talk to Redis: a thread
        return v1_success()
