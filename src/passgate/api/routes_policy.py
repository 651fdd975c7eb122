"""The effective password policy, for portals to show the rules before people type.

``GET /v1/password-policy`` (authentication as for v1) and its workspace twin
``GET /api/workspace/account/password-policy`` (in that envelope).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passgate.api import openapi
from passgate.api.deps import Components, components_of, header_caller
from passgate.api.observe import observed
from passgate.api.routes_v1 import authorize
from passgate.api.routes_workspace import PREFIX, workspace_caller
from passgate.auth.base import OBJECT_ID, CallerKind
from passgate.errors import FieldProblem, ValidationFailed
from passgate.policy.model import EffectivePolicy

router = APIRouter()


@router.get("/v1/password-policy", **openapi.policy_v1_operation())
async def password_policy(request: Request) -> JSONResponse:
    """The caller's own policy; an admin may ask for anyone's with ``?userId=``."""
    app = components_of(request)
    async with observed(request, app, "v1_password_policy", audit=False):
        return await _v1_policy(request, app)


async def _v1_policy(request: Request, app: Components) -> JSONResponse:
    caller = await header_caller(request, app)
    user_id = request.query_params.get("userId")
    if user_id is not None:
        if not OBJECT_ID.match(user_id):
            raise ValidationFailed([FieldProblem("userId", "must be 24 hexadecimal characters")])
        authorize(caller, user_id, app.settings.auth_admin_role)
    policy: EffectivePolicy
    if user_id is not None:
        policy = await app.ldap_threads.run(app.service.policy_for_user_id, user_id)
    elif caller.kind is CallerKind.USER and (caller.user_id or caller.username):
        policy = await app.ldap_threads.run(app.service.policy_for_caller, caller)
    else:  # an API key or a service account asking in general: the default rules
        policy = await app.ldap_threads.run(app.service.default_policy)
    return JSONResponse({"status": True, "data": policy.as_json()})


@router.get(PREFIX + "/account/password-policy", **openapi.policy_workspace_operation())
async def workspace_password_policy(request: Request) -> JSONResponse:
    app = components_of(request)
    async with observed(request, app, "workspace_password_policy", audit=False):
        caller = await workspace_caller(request, app)
        policy = await app.ldap_threads.run(app.service.policy_for_caller, caller)
    return JSONResponse({"Data": policy.as_json(), "Errors": [], "Warnings": [], "Success": True})
