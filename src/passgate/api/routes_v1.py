"""The v1 family (contract section 1): change a user's password; read the effective policy.

Each signature lists the contract's checks in their order: the caller
(authentication: 401), then the request (validation: 400 / 1001); the
body then authorizes (403) before anything reaches the directory.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import WithJsonSchema

from passgate.api import openapi
from passgate.api.callers import V1_SCHEMES, CurrentCaller, authorize, security
from passgate.api.deps import AppParts, attempt_of
from passgate.api.inputs import OBJECT_ID_PATTERN, V1ChangeRequest, v1_change_arguments
from passgate.api.models import ChangePasswordV1, V1PolicyResponse, V1Success
from passgate.api.presenters import v1_policy, v1_success
from passgate.api.routing import V1Route, audited, solved_by
from passgate.auth.base import OBJECT_ID, Caller, CallerKind
from passgate.errors import FieldProblem, ValidationFailed
from passgate.policy.model import EffectivePolicy

router = APIRouter(prefix="/v1", route_class=V1Route)


@router.post(
    "/users/{userId}/change-password",
    summary="Change a user's password (old password required)",
    responses=openapi.v1_responses(V1Success, openapi.CHANGED, v1_success()),
    openapi_extra=security(*V1_SCHEMES)
    | openapi.request_body(
        ChangePasswordV1, {"oldPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"}
    ),
)
@audited
@solved_by(v1_change_arguments)
async def v1_change_password(request: Request, change: V1ChangeRequest) -> JSONResponse:
    # The caller, then the userId with the body (one 400 names both): see inputs.v1_change.
    parts, caller, user_id, passwords = (
        change.parts,
        change.caller,
        change.user_id,
        change.passwords,
    )
    admin_role = parts.settings.auth.admin_role
    authorize(caller, user_id, admin_role)
    attempt = attempt_of(request)
    address = attempt.address if targets_others(caller, admin_role) else None
    # On the loop: the use case's LDAP waits are the loop's (see passgate.cooperative).
    await parts.threads.on_loop(
        parts.service.change_password,
        user_id,
        passwords.old,
        passwords.new,
        address,
        attempt.phases,
    )
    with attempt.phases.timed("response"):
        return v1_success()


def targets_others(caller: Caller, admin_role: str) -> bool:
    """Whether the caller can change other users' passwords: the address budget applies.

    A person's own token (without the admin role) reaches only their own
    entry, which its per-entry budget bounds; their typos must not spend the
    budget of everyone behind the same address (a NAT). An admin, an API key
    or a service account can try many entries: the address budget is there
    against spraying guesses across them.
    """
    return caller.kind is not CallerKind.USER or caller.has_role(admin_role)


PolicyUserId = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "pattern": OBJECT_ID_PATTERN}),
    Query(alias="userId", description="whose policy (admins; others may name only themselves)"),
]


@router.get(
    "/password-policy",
    summary="The password rules that apply to the caller (or, for an admin, to ?userId=)",
    responses=openapi.v1_responses(
        V1PolicyResponse,
        openapi.POLICY,
        v1_policy(openapi.example_policy()),
        openapi.POLICY_ERRORS | {"validation"},
    ),
    openapi_extra=security(*V1_SCHEMES),
)
async def v1_password_policy(
    parts: AppParts, caller: CurrentCaller, user_id: PolicyUserId = None
) -> JSONResponse:
    """The caller's own policy; an admin may ask for anyone's with ``?userId=``."""
    if user_id is not None:
        if not OBJECT_ID.fullmatch(user_id):
            raise ValidationFailed([FieldProblem("userId", "must be 24 hexadecimal characters")])
        authorize(caller, user_id, parts.settings.auth.admin_role)
    policy: EffectivePolicy
    if user_id is not None:
        policy = await parts.threads.on_loop(parts.service.policy_for_user_id, user_id)
    elif caller.kind is CallerKind.USER and (caller.user_id or caller.username):
        policy = await parts.threads.on_loop(parts.service.policy_for_caller, caller)
    else:  # an API key or a service account asking in general: the default rules
        policy = await parts.threads.on_loop(parts.service.default_policy)
    return v1_policy(policy)
