"""The workspace family (contract section 2): the caller's own password and policy."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from passgate.api import openapi
from passgate.api.callers import WORKSPACE_SCHEMES, WorkspaceCaller, security
from passgate.api.deps import AppParts
from passgate.api.inputs import WorkspaceChangeRequest, workspace_change_arguments
from passgate.api.models import (
    ChangePasswordWorkspace,
    WorkspaceEnvelope,
    WorkspacePolicyEnvelope,
)
from passgate.api.presenters import workspace_policy, workspace_success
from passgate.api.routing import WorkspaceRoute, audited, solved_by

PREFIX = "/api/workspace"
CHANGE = "/account/change-password"
POLICY = "/account/password-policy"
router = APIRouter(prefix=PREFIX, route_class=WorkspaceRoute)


@router.post(
    CHANGE,
    summary="Change the authenticated user's own password",
    responses=openapi.workspace_responses(
        PREFIX + CHANGE, WorkspaceEnvelope, openapi.CHANGED, workspace_success()
    ),
    openapi_extra=security(*WORKSPACE_SCHEMES)
    | openapi.request_body(
        ChangePasswordWorkspace,
        {"CurrentPassword": "Old-Passw0rd!", "NewPassword": "New-Passw0rd!"},
    ),
)
@audited
@solved_by(workspace_change_arguments)
async def workspace_change_password(change: WorkspaceChangeRequest) -> JSONResponse:
    # The person's token, then the body: see inputs.workspace_change.
    # The caller's own entry: bounded per entry (shared with v1), no address budget.
    phases = change.phases
    await change.parts.threads.on_loop(
        change.parts.service.change_password_for_caller,
        change.caller,
        change.passwords.old,
        change.passwords.new,
        None,
        phases,
    )
    with phases.timed("response"):
        return workspace_success()


@router.get(
    POLICY,
    summary="The password rules that apply to the authenticated user",
    responses=openapi.workspace_responses(
        PREFIX + POLICY,
        WorkspacePolicyEnvelope,
        openapi.POLICY,
        workspace_policy(openapi.example_policy()),
        openapi.POLICY_ERRORS,
    ),
    openapi_extra=security(*WORKSPACE_SCHEMES),
)
async def workspace_password_policy(parts: AppParts, caller: WorkspaceCaller) -> JSONResponse:
    policy = await parts.threads.on_loop(parts.service.policy_for_caller, caller)
    return workspace_policy(policy)
