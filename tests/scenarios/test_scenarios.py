"""The same scenarios on every directory; each cell checks both endpoints.

Each scenario runs twice, on two fresh users: once through
``POST /v1/users/{userId}/change-password`` (status, code, policy reason)
and once through the workspace endpoint (status, ``Errors[].Code``,
``Metadata.Reason``). After a success the new password must bind and the
old one must not; after a refusal the old one must still bind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer
from tests.scenarios.conftest import Matrix
from tests.scenarios.targets import Outcome, ScenarioUser, Target, new_user_id

OLD = "Initial-Passw0rd-1"
NEW = "Changed-Passw0rd-2"

DEFAULTS: dict[str, Outcome] = {
    "success": Outcome(200),
    "wrong old password": Outcome(400, 5023),
    "locked": Outcome(400, 5026),
    "expired": Outcome(400, 5025),
    "must change": Outcome(200),
    "in history": Outcome(400, 5024, "passwordInHistory"),
    "too short": Outcome(400, 5024, "passwordTooShort"),
    "insufficient quality": Outcome(400, 5024, "insufficientPasswordQuality"),
    "too young": Outcome(400, 5024, "passwordTooYoung"),
    "unknown user": Outcome(404, 3001),
    "directory down": Outcome(503, 5030),
}
SCENARIOS = list(DEFAULTS)


def call(
    client: TestClient, endpoint: str, token: str, user_id: str, old: str, new: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint == "v1":
        body = {"oldPassword": old, "newPassword": new}
        return client.post(f"/v1/users/{user_id}/change-password", json=body, headers=headers)
    body = {"CurrentPassword": old, "NewPassword": new}
    return client.post("/api/workspace/account/change-password", json=body, headers=headers)


def observed(endpoint: str, response: httpx.Response) -> Outcome:
    body: dict[str, Any] = response.json()
    if response.status_code == 200:
        return Outcome(200)
    if endpoint == "v1":
        details = body["error"].get("details") or [{}]
        reason = details[0].get("reason") if body["error"]["code"] == 5024 else None
        return Outcome(response.status_code, body["error"]["code"], reason)
    if "Errors" not in body:  # problem details
        code = {503: 5030, 500: 5000, 401: 4001, 403: 4003}.get(response.status_code)
        return Outcome(response.status_code, code)
    item = body["Errors"][0]
    by_code = {
        "IncorrectPassword": 5023,
        "PasswordPolicy": 5024,
        "PasswordExpired": 5025,
        "AccountLocked": 5026,
        "NotFound": 3001,
    }
    return Outcome(
        response.status_code, by_code.get(item["Code"], -1), item["Metadata"].get("Reason")
    )


def prepare(target: Target, scenario: str) -> tuple[ScenarioUser, str, str]:
    """A fresh user in the scenario's state, and the (old, new) passwords to send."""
    user = target.add_user(OLD)
    if scenario == "wrong old password":
        return user, "Not-The-Passw0rd-9", NEW
    if scenario == "locked":
        target.lock(user)
    elif scenario == "expired":
        target.expire(user)
    elif scenario == "must change":
        target.must_change(user)
    elif scenario == "in history":
        original = user.password
        target.change_as_user(user, NEW)
        return user, NEW, original
    elif scenario == "too short":
        return user, OLD, "Sh0rt-p1!"  # 9 characters: valid for the API, under every policy's 10
    elif scenario == "insufficient quality":
        return user, OLD, target.quality_refused(user)
    elif scenario == "too young":
        assert target.too_young is not None
        target.too_young(user)
    return user, OLD, NEW


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(
    target: Target,
    scenario: str,
    make_client: Callable[..., TestClient],
    issuer: DevIssuer,
    matrix: Matrix,
) -> None:
    if scenario == "too young" and target.too_young is None:
        matrix.record(
            target=target.name, scenario=scenario, skipped="the server has no minimum age"
        )
        pytest.skip(f"{target.name} has no minimum password age")
    expected = target.expected.get(scenario, DEFAULTS[scenario])
    overrides = dict(target.settings)
    if scenario == "directory down":
        overrides["ldap_operation_timeout"] = 1
    client = make_client(**overrides)
    results: dict[str, Outcome] = {}
    for endpoint in ("v1", "workspace"):
        user, old, new = prepare(target, scenario)
        user_id = new_user_id() if scenario == "unknown user" else user.user_id
        username = "nobody-" + user.username if scenario == "unknown user" else user.username
        token = issuer.token(user_id, username=username)
        if scenario == "directory down":
            target.pause()
            try:
                response = call(client, endpoint, token, user_id, old, new)
            finally:
                target.resume()
        else:
            response = call(client, endpoint, token, user_id, old, new)
        results[endpoint] = got = observed(endpoint, response)
        changed = expected.status == 200
        matrix.record(
            target=target.name,
            scenario=scenario,
            endpoint=endpoint,
            expected=expected.__dict__,
            got=got.__dict__,
            workspace_code=expected.workspace_code,
            ok=got == expected,
            note=target.notes.get(scenario, ""),
        )
        assert got == expected, (endpoint, response.text)
        if scenario in ("unknown user", "directory down"):
            continue
        if changed:
            assert target.can_bind(user.dn, new), "the new password must work"
            assert not target.can_bind(user.dn, user.password), "the old password must not"
        else:
            assert not target.can_bind(user.dn, new), "nothing may have changed"
            if scenario not in ("locked", "expired", "must change"):
                assert target.can_bind(user.dn, user.password), "the password must be unchanged"


# What each directory's default policy is (tests/servers/*, passgate.dev.seed): the
# policy endpoint must read these numbers from the server itself.
POLICY = {"minLength": 10, "history": 3, "directoryQualityCheck": True}


def test_policy_endpoint_reads_the_directory(
    target: Target, make_client: Callable[..., TestClient], issuer: DevIssuer
) -> None:
    client = make_client(**target.settings)
    user = target.add_user(OLD)
    for path, token in [
        ("/v1/password-policy", issuer.token(user.user_id, username=user.username)),
        (
            "/api/workspace/account/password-policy",
            issuer.token(user.user_id, username=user.username),
        ),
    ]:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body = response.json()
        data = body["data"] if "data" in body else body["Data"]
        assert {k: data[k] for k in POLICY} == POLICY, (target.name, data)
        assert data["directorySource"], data
