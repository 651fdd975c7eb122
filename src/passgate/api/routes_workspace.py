"""``POST /api/workspace/account/change-password`` (contract section 2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passgate.api import openapi
from passgate.api.body import read_fields
from passgate.api.deps import Components, authenticate, components_of, credentials_from_headers
from passgate.api.observe import observed
from passgate.api.passwords import password_field
from passgate.api.presenters import workspace_success
from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.errors import FieldProblem, Forbidden, ValidationFailed

PREFIX = "/api/workspace"
router = APIRouter(prefix=PREFIX)

API_KEY_REFUSED = "Service accounts cannot access this endpoint via API keys"
SERVICE_ACCOUNT_REFUSED = "Service accounts have no workspace account password to change"


async def workspace_caller(request: Request, app: Components) -> Caller:
    """A person's bearer token, from the header or the ``access_token`` query parameter."""
    if request.headers.get("x-api-key"):
        raise Forbidden("API key on the workspace endpoint", public_detail=API_KEY_REFUSED)
    credentials = credentials_from_headers(request)
    if not credentials.bearer_token:
        token = request.query_params.get("access_token") or None
        credentials = Credentials(bearer_token=token)
    caller = await authenticate(app.authenticator, credentials)
    if caller.kind is not CallerKind.USER:
        raise Forbidden(
            f"{caller.kind} {caller.name} on the workspace endpoint",
            public_detail=SERVICE_ACCOUNT_REFUSED,
        )
    return caller


def limiter_key(caller: Caller) -> str:
    """The same person as v1 counts them (by user id) when the token says who they are."""
    if caller.user_id:
        return caller.user_id.lower()
    return "name:" + (caller.username or caller.name).lower()


@router.post("/account/change-password", **openapi.workspace_operation())
async def change_password(request: Request) -> JSONResponse:
    app = components_of(request)
    async with observed(request, app, "workspace_change_password", audit=True) as attempt:
        caller = attempt.caller = await workspace_caller(request, app)
        attempt.target = caller.user_id or caller.username
        raw = await read_fields(request)
        fields = {str(k).lower(): v for k, v in raw.items()}  # names are case-insensitive
        problems: list[FieldProblem] = []
        current = password_field(
            fields.get("currentpassword"), "CurrentPassword", problems, min_length=1
        )
        local = app.service.local_policy  # its length bounds are known before any lookup
        new = password_field(
            fields.get("newpassword"),
            "NewPassword",
            problems,
            min_length=local.min_length,
            max_length=local.max_length,
        )
        if problems or current is None or new is None:
            raise ValidationFailed(problems)

        def limited_change() -> None:
            with app.limiter.attempt(limiter_key(caller), attempt.address):
                app.service.change_password_for_caller(caller, current, new)

        await app.ldap_threads.run(limited_change)
        return workspace_success()
