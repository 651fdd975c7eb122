"""Every row of the workspace endpoint's table (contract section 2), on the real slapd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory

PATH = "/api/workspace/account/change-password"
NEW = "Brand-N3w-Passw0rd!"
ITEM_KEYS = {"Code", "Message", "Target", "Field", "Metadata", "Type", "Severity"}


def post(
    client: TestClient, token: str | None, body: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        kwargs["json"] = body
    return client.post(PATH, headers=headers, **kwargs)


def token_for(issuer: DevIssuer, user: seed.User) -> str:
    return issuer.token(user.user_id, username=user.uid)


def envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"Data", "Errors", "Warnings", "Success"}
    assert body["Success"] is (status == 200)
    assert body["Data"] == {"PasswordChanged": status == 200}
    assert body["Warnings"] == []
    for item in body["Errors"]:
        assert set(item) == ITEM_KEYS
        assert item["Severity"] == 2
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in item["Metadata"].items())
    return body


def only_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    errors = envelope(response, status)["Errors"]
    assert len(errors) == 1, errors
    item: dict[str, Any] = errors[0]
    return item


def test_success(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    response = post(
        client, token_for(issuer, user), {"CurrentPassword": user.password, "NewPassword": NEW}
    )
    body = envelope(response, 200)
    assert body["Errors"] == []
    assert response.headers["cache-control"] == "no-store"
    assert directory.can_bind(user.dn, NEW)


@pytest.mark.parametrize(
    "names", [("currentPassword", "newPassword"), ("CURRENTPASSWORD", "newpassword")]
)
def test_property_names_are_case_insensitive(
    client: TestClient, directory: Directory, issuer: DevIssuer, names: tuple[str, str]
) -> None:
    user = directory.add_user()
    response = post(client, token_for(issuer, user), {names[0]: user.password, names[1]: NEW})
    envelope(response, 200)


@pytest.mark.parametrize("form", ["data", "files"])
def test_form_bodies(
    client: TestClient, directory: Directory, issuer: DevIssuer, form: str
) -> None:
    user = directory.add_user()
    fields: Any = {"CurrentPassword": user.password, "NewPassword": NEW}
    if form == "files":
        fields = {k: (None, v) for k, v in fields.items()}
    envelope(post(client, token_for(issuer, user), **{form: fields}), 200)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["CurrentPassword", "NewPassword"]),
        ({"CurrentPassword": None, "NewPassword": NEW}, ["CurrentPassword"]),
        ({"CurrentPassword": "", "NewPassword": NEW}, ["CurrentPassword"]),
        ({"CurrentPassword": "Old-Passw0rd!"}, ["NewPassword"]),
        ({"CurrentPassword": "Old-Passw0rd!", "NewPassword": None}, ["NewPassword"]),
        ({"CurrentPassword": "Old-Passw0rd!", "NewPassword": ""}, ["NewPassword"]),
    ],
)
def test_required(
    client: TestClient, issuer: DevIssuer, body: dict[str, Any], fields: list[str]
) -> None:
    errors = envelope(post(client, issuer.token("a" * 24, username="x"), body), 400)["Errors"]
    assert [(e["Code"], e["Field"], e["Type"]) for e in errors] == [
        ("Required", f, 0) for f in fields
    ]


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("c" * 129, NEW, "CurrentPassword"),
        ("Old-Passw0rd!", "n" * 129, "NewPassword"),
        ("Old-Passw0rd!", "Short-7", "NewPassword"),
    ],
)
def test_invalid_length(
    client: TestClient, issuer: DevIssuer, current: str, new: str, field: str
) -> None:
    item = only_error(
        post(
            client,
            issuer.token("a" * 24, username="x"),
            {"CurrentPassword": current, "NewPassword": new},
        )
    )
    assert (item["Code"], item["Field"], item["Type"]) == ("InvalidLength", field, 0)


def test_short_current_password_is_not_a_length_error(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    # The contract bounds CurrentPassword only above: a short one is simply wrong.
    user = directory.add_user()
    item = only_error(
        post(client, token_for(issuer, user), {"CurrentPassword": "abc", "NewPassword": NEW})
    )
    assert (item["Code"], item["Field"]) == ("IncorrectPassword", "CurrentPassword")


def test_incorrect_password(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    item = only_error(
        post(
            client,
            token_for(issuer, user),
            {"CurrentPassword": "Wrong-Passw0rd!", "NewPassword": NEW},
        )
    )
    assert (item["Code"], item["Field"], item["Type"]) == (
        "IncorrectPassword",
        "CurrentPassword",
        1,
    )
    assert directory.can_bind(user.dn, user.password)


@pytest.mark.parametrize(
    ("new", "reason", "policy"),
    [
        ("Sh0rt-pw!", "passwordTooShort", None),
        ("{SSHA}abcdefghijkl", "insufficientPasswordQuality", None),
        ("Long-Passw0rd-" + "x" * 20, "passwordTooLong", seed.MAX_LENGTH_POLICY_DN),
        (NEW, "passwordTooYoung", seed.MIN_AGE_POLICY_DN),
    ],
)
def test_password_policy(
    client: TestClient,
    directory: Directory,
    issuer: DevIssuer,
    new: str,
    reason: str,
    policy: str | None,
) -> None:
    user = directory.add_user(policy_dn=policy)
    item = only_error(
        post(
            client, token_for(issuer, user), {"CurrentPassword": user.password, "NewPassword": new}
        )
    )
    assert (item["Code"], item["Field"], item["Type"]) == ("PasswordPolicy", "NewPassword", 1)
    assert item["Metadata"] == {"Reason": reason}


def test_history_and_same_as_old(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = token_for(issuer, user)
    envelope(post(client, token, {"CurrentPassword": user.password, "NewPassword": NEW}), 200)
    item = only_error(post(client, token, {"CurrentPassword": NEW, "NewPassword": user.password}))
    assert item["Metadata"] == {"Reason": "passwordInHistory"}
    item = only_error(post(client, token, {"CurrentPassword": NEW, "NewPassword": NEW}))
    assert item["Metadata"] == {"Reason": "sameAsOld"}


def test_account_locked(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    directory.replace(user.dn, "pwdAccountLockedTime", "000001010000Z")
    item = only_error(
        post(
            client, token_for(issuer, user), {"CurrentPassword": user.password, "NewPassword": NEW}
        )
    )
    assert (item["Code"], item["Field"], item["Type"]) == ("AccountLocked", None, 1)


def test_password_expired(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user(policy_dn=seed.EXPIRING_POLICY_DN)
    directory.replace(user.dn, "pwdChangedTime", "20000101000000Z", relax=True)
    item = only_error(
        post(
            client, token_for(issuer, user), {"CurrentPassword": user.password, "NewPassword": NEW}
        )
    )
    assert (item["Code"], item["Field"], item["Type"]) == ("PasswordExpired", "CurrentPassword", 1)


def test_must_change_after_reset(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    directory.replace(user.dn, "pwdReset", "TRUE")
    envelope(
        post(
            client, token_for(issuer, user), {"CurrentPassword": user.password, "NewPassword": NEW}
        ),
        200,
    )


def test_not_found(client: TestClient, issuer: DevIssuer) -> None:
    item = only_error(
        post(
            client,
            issuer.token("e" * 24, username="nobody-here"),
            {"CurrentPassword": "Old-Passw0rd!", "NewPassword": NEW},
        ),
        404,
    )
    assert (item["Code"], item["Type"]) == ("NotFound", 1)


def test_found_by_username_when_the_token_has_no_user_id(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = issuer.token("0d6f3a2e-keycloak-uuid", username=user.uid)
    envelope(post(client, token, {"CurrentPassword": user.password, "NewPassword": NEW}), 200)


def test_found_by_username_when_the_user_id_matches_nothing(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = issuer.token("9" * 24, username=user.uid)
    envelope(post(client, token, {"CurrentPassword": user.password, "NewPassword": NEW}), 200)


def test_malformed_json(client: TestClient, issuer: DevIssuer) -> None:
    response = client.post(
        PATH,
        content=b"{nope",
        headers={
            "Authorization": f"Bearer {issuer.token('a' * 24, username='x')}",
            "Content-Type": "application/json",
        },
    )
    item = only_error(response)
    assert (item["Code"], item["Field"], item["Type"]) == ("InvalidBody", None, 0)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["instance"] == PATH
    return body


def test_directory_unavailable_is_a_problem(
    make_client: Callable[..., TestClient], issuer: DevIssuer, refusing_port: int
) -> None:
    client = make_client(ldap_connection_url=f"ldap://127.0.0.1:{refusing_port}")
    response = post(
        client,
        issuer.token("a" * 24, username="x"),
        {"CurrentPassword": "Old-Passw0rd!", "NewPassword": NEW},
    )
    body = problem(response, 503)
    assert body["title"] == "Service Unavailable"
    assert body["detail"] == "Directory unavailable"


def test_internal_error_is_a_problem(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    first = directory.add_user()
    directory.add_user(user_id=first.user_id)
    response = post(
        client, token_for(issuer, first), {"CurrentPassword": first.password, "NewPassword": NEW}
    )
    body = problem(response, 500)
    assert body["title"] == "Internal Server Error"


def test_unauthorized_problem_has_www_authenticate(client: TestClient) -> None:
    response = post(client, None, {"CurrentPassword": "Old-Passw0rd!", "NewPassword": NEW})
    body = problem(response, 401)
    assert body["title"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_access_token_never_reaches_the_access_log() -> None:
    import logging

    from passgate.logging_setup import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "POST", f"{PATH}?x=1&access_token=eyJ.secret.sig&y=2", "1.1", 200),
        None,
    )
    RedactTokens().filter(record)
    assert "eyJ.secret.sig" not in record.getMessage()
    assert "access_token=[REDACTED]&y=2" in record.getMessage()
