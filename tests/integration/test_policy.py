"""Password policy: passgate's own rules, the policy endpoints, and messages people can act on."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change, user_token

NEW = "Brand-New-Passw0rd!"
POLICY = "New password rejected by password policy"
WORKSPACE = "/api/workspace/account/change-password"


def add_policy(directory: Directory, **attributes: str) -> str:
    dn = f"cn=test-{secrets.token_hex(4)},{seed.POLICIES_DN}"
    values = {
        "objectClass": ["device", "pwdPolicy"],
        "pwdAttribute": "userPassword",
        "pwdCheckQuality": "2",
        **attributes,
    }
    assert directory.admin.add(dn, attributes=values), directory.admin.result
    return dn


def get_policy(client: TestClient, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/v1/password-policy", headers=headers, params=params)


# -- the policy endpoints -------------------------------------------------------------


def test_two_users_under_two_policies_read_their_real_numbers(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    strict = add_policy(directory, pwdMinLength="14", pwdInHistory="7", pwdMinAge="7200")
    plain, special = directory.add_user(), directory.add_user(policy_dn=strict)
    first = get_policy(client, user_token(issuer, plain.user_id))
    second = get_policy(client, user_token(issuer, special.user_id))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    a, b = first.json()["data"], second.json()["data"]
    assert first.json()["status"] is True
    # seed.policy(): pwdMinLength 10, pwdInHistory 3, pwdMinAge 0, pwdCheckQuality 2
    assert (a["minLength"], a["history"], a["minAgeSeconds"]) == (10, 3, 0)
    assert a["directorySource"] == seed.DEFAULT_POLICY_DN
    assert a["directoryQualityCheck"] is True
    assert (b["minLength"], b["history"], b["minAgeSeconds"]) == (14, 7, 7200)
    assert b["directorySource"] == strict
    assert a["maxLength"] == b["maxLength"] == 128
    rules = {r["reason"]: r for r in b["rules"]}
    assert rules["passwordTooShort"] == {
        "reason": "passwordTooShort",
        "source": "directory",
        "value": 14,
        "message": "The new password must be at least 14 characters.",
    }
    assert rules["passwordInHistory"]["message"] == (
        "The new password must not be one of your last 7 passwords."
    )
    assert rules["passwordTooYoung"]["message"] == (
        "Your password was changed too recently: it can be changed again "
        "2 hours after the last change."
    )


def test_max_length_policy_and_local_bounds(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(policy_min_length=12)
    user = directory.add_user(policy_dn=seed.MAX_LENGTH_POLICY_DN)
    data = get_policy(client, user_token(issuer, user.user_id)).json()["data"]
    assert (data["minLength"], data["maxLength"]) == (12, 20)  # local 12 > directory 10
    sources = {r["reason"]: r["source"] for r in data["rules"]}
    assert sources["passwordTooShort"] == "local"
    assert sources["passwordTooLong"] == "directory"


def test_admin_may_ask_for_anyone_others_only_for_themselves(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    strict = add_policy(directory, pwdMinLength="16")
    user, other = directory.add_user(policy_dn=strict), directory.add_user()
    admin = issuer.token("b" * 24, username="helpdesk", roles=["password-admin"])
    response = get_policy(client, admin, userId=user.user_id)
    assert response.json()["data"]["minLength"] == 16
    assert_error(
        get_policy(client, user_token(issuer, other.user_id), userId=user.user_id),
        403,
        4003,
        "Forbidden",
    )
    own = get_policy(client, user_token(issuer, user.user_id), userId=user.user_id)
    assert own.json()["data"]["minLength"] == 16
    assert_error(get_policy(client, admin, userId="nope"), 400, 1001, "Validation failed")
    assert_error(get_policy(client), 401, 4002, "No auth token")
    assert_error(get_policy(client, admin, userId="c" * 24), 404, 3001, "Entity not found")


def test_an_api_key_reads_the_default_policy(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    keys = [{"name": "portal", "sha256": hashlib.sha256(b"portal-key").hexdigest(), "roles": []}]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    client = make_client(api_keys_file=tmp_path / "keys.json")
    response = client.get("/v1/password-policy", headers={"X-API-Key": "portal-key"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["directorySource"] == seed.DEFAULT_POLICY_DN
    assert response.json()["data"]["minLength"] == 10


def test_workspace_twin(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    strict = add_policy(directory, pwdMinLength="15", pwdInHistory="4")
    user = directory.add_user(policy_dn=strict)
    token = issuer.token(user.user_id, username=user.uid)
    response = client.get(
        "/api/workspace/account/password-policy", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["Success"], body["Errors"], body["Warnings"]) == (True, [], [])
    assert (body["Data"]["minLength"], body["Data"]["history"]) == (15, 4)
    missing = client.get("/api/workspace/account/password-policy")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"


# -- every section-4 reason, through each endpoint --------------------------------------

Case = dict[str, Any]


def _forbidden_file(tmp_path: Path) -> Path:
    path = tmp_path / "forbidden.txt"
    path.write_text("\n".join([f"filler-{n}" for n in range(5000)] + ["Summer-Holiday-2024!"]))
    return path


def reason_cases(directory: Directory, tmp_path: Path) -> dict[str, Case]:
    """reason -> the user, the settings, the steps before, the refused new password, the message."""
    no_user_change = add_policy(directory, pwdAllowUserChange="FALSE")
    return {
        "passwordTooShort": {
            "new": "Sh0rt-pw!",
            "message": "The new password must be at least 10 characters.",
        },
        "passwordTooLong": {
            "policy": seed.MAX_LENGTH_POLICY_DN,
            "new": "Long-Passw0rd-" + "x" * 20,
            "message": "The new password must be at most 20 characters.",
        },
        "passwordInHistory": {
            "before": NEW,
            "new": "Initial-Passw0rd!",
            "message": "The new password must not be one of your last 3 passwords.",
        },
        "passwordTooYoung": {
            "policy": seed.MIN_AGE_POLICY_DN,
            "new": NEW,
            "message": "Your password was changed too recently: it can be changed again "
            "1 hour after the last change.",
        },
        "insufficientPasswordQuality": {
            "settings": {"policy_min_digits": 2},
            "new": "Only-One-Digit-7",
            "message": "The new password must contain at least 2 digits.",
        },
        "sameAsOld": {
            "new": "Initial-Passw0rd!",
            "message": "The new password must differ from the current one.",
        },
        "containsUsername": {
            "settings": {"policy_name_attributes": "cn, mail"},
            "extra": {"cn": "Grace Hopper", "mail": "ghopper@example.org"},
            "new": "Amazing-GRACE-42!",
            "message": "The new password must not contain your user name or your name.",
        },
        "tooWeak": {
            "settings": {"policy_min_strength": 3},
            "new": "Password1234!",
            "message": "The new password is too easy to guess (strength at least 3 of 4 is "
            "required); a longer passphrase helps.",
        },
        "tooWeak (forbidden list)": {
            "settings": {"policy_forbidden_file": _forbidden_file(tmp_path)},
            "new": "summer-holiday-2024!",
            "message": "The new password is too easy to guess.",
        },
        "directoryRejected": {
            "policy": no_user_change,
            "new": NEW,
            "message": "The directory refused the new password.",
        },
    }


@pytest.fixture
def cases(directory: Directory, tmp_path: Path) -> dict[str, Case]:
    return reason_cases(directory, tmp_path)


REASONS = [
    "passwordTooShort",
    "passwordTooLong",
    "passwordInHistory",
    "passwordTooYoung",
    "insufficientPasswordQuality",
    "sameAsOld",
    "containsUsername",
    "tooWeak",
    "tooWeak (forbidden list)",
    "directoryRejected",
]


def _prepare(
    name: str,
    cases: dict[str, Case],
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
) -> tuple[TestClient, Any, str, Case]:
    case = cases[name]
    client = make_client(**case.get("settings", {}))
    user = directory.add_user(policy_dn=case.get("policy"), extra=case.get("extra"))
    token = issuer.token(user.user_id, username=user.uid)
    current = user.password
    if "before" in case:
        assert change(client, user.user_id, current, case["before"], token=token).status_code == 200
        current = case["before"]
    return client, user, token, {**case, "current": current}


@pytest.mark.parametrize("name", REASONS)
def test_each_reason_through_v1(
    name: str,
    cases: dict[str, Case],
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    client, user, token, case = _prepare(name, cases, make_client, directory, issuer)
    response = change(client, user.user_id, case["current"], case["new"], token=token)
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"] == [
        {"field": "newPassword", "reason": name.split(" ")[0], "message": case["message"]}
    ]
    assert directory.can_bind(user.dn, case["current"])  # nothing changed


@pytest.mark.parametrize("name", REASONS)
def test_each_reason_through_the_workspace(
    name: str,
    cases: dict[str, Case],
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
) -> None:
    client, user, token, case = _prepare(name, cases, make_client, directory, issuer)
    response = client.post(
        WORKSPACE,
        json={"CurrentPassword": case["current"], "NewPassword": case["new"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, response.text
    (item,) = response.json()["Errors"]
    assert (item["Code"], item["Field"]) == ("PasswordPolicy", "NewPassword")
    assert item["Metadata"] == {"Reason": name.split(" ")[0]}
    assert item["Message"] == case["message"]
    assert directory.can_bind(user.dn, case["current"])


def test_workspace_invalid_length_follows_the_local_bounds(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(policy_min_length=12, policy_max_length=40)
    user = directory.add_user()
    token = issuer.token(user.user_id, username=user.uid)
    for new, reason in [("Elevn-chars", "at least 12"), ("x" * 41, "at most 40")]:
        response = client.post(
            WORKSPACE,
            json={"CurrentPassword": user.password, "NewPassword": new},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, response.text
        (item,) = response.json()["Errors"]
        assert (item["Code"], item["Field"]) == ("InvalidLength", "NewPassword")
        assert reason in item["Message"]
    # v1 validates 8..128 (the contract); the local minimum is a policy refusal there.
    body = assert_error(
        change(client, user.user_id, user.password, "Elevn-chars", token=token), 400, 5024, POLICY
    )
    assert body["error"]["details"][0]["message"] == (
        "The new password must be at least 12 characters."
    )


def test_local_rules_never_weaken_the_directory(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(policy_contains_username=False, policy_same_as_old=False)
    user = directory.add_user()
    token = issuer.token(user.user_id, username=user.uid)
    # Local rules off: the directory still refuses what it refuses.
    body = assert_error(
        change(client, user.user_id, user.password, "Sh0rt-pw!", token=token), 400, 5024, POLICY
    )
    assert body["error"]["details"][0]["reason"] == "passwordTooShort"
    assert (
        change(
            client, user.user_id, user.password, user.uid + "-Passw0rd!", token=token
        ).status_code
        == 200
    )


def test_old_password_is_checked_before_the_local_rules(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    response = change(
        client,
        user.user_id,
        "Wrong-Passw0rd!",
        user.uid + "-1234567",
        token=user_token(issuer, user.user_id),
    )
    assert_error(response, 400, 5023, "Incorrect old password")


def test_a_long_new_password_is_scored_not_a_server_error(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    """zxcvbn 4.5 raises on more than 72 characters; 73 to 128 are allowed new passwords."""
    client = make_client(policy_min_strength=3)
    user = directory.add_user()
    token = issuer.token(user.user_id, username=user.uid)
    strong = ("Tr0ub4dor&3-correct-horse-" * 5)[:128]
    assert change(client, user.user_id, user.password, strong, token=token).status_code == 200
    assert directory.can_bind(user.dn, strong)
    weak = "a" * 100
    response = change(client, user.user_id, strong, weak, token=token)
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"][0]["reason"] == "tooWeak"
    assert directory.can_bind(user.dn, strong)
