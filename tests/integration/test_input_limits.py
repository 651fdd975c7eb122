"""Hostile input, in-process: oversized credentials, pathological JSON, control characters,
and the headers every answer carries."""

from __future__ import annotations

import codecs

import pytest
from fastapi.testclient import TestClient

from passgate.api.body import MAX_BODY_BYTES
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change, user_token

NEW = "Brand-N3w-Passw0rd!"
VALID_ID = "a" * 24
WORKSPACE = "/api/workspace/account/change-password"
JSON = {"Content-Type": "application/json"}
MAX_CREDENTIAL_BYTES = 16 * 1024  # the documented limit


def passgate_log(logs: pytest.LogCaptureFixture) -> str:
    """What passgate and the server logged (the test client's own httpx lines are not theirs)."""
    return "\n".join(r.getMessage() for r in logs.records if not r.name.startswith("httpx"))


def v1_details(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    body = assert_error(response, 400, 1001, "Validation failed")
    return list(body["error"]["details"])


def workspace_errors(response) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    errors: list[dict[str, object]] = response.json()["Errors"]
    return errors


# -- credentials over the documented size ------------------------------------------------


@pytest.mark.parametrize("where", ["bearer", "api-key", "unknown-scheme"])
def test_v1_oversized_credentials_are_refused_unread(
    client: TestClient, where: str, all_logs: pytest.LogCaptureFixture
) -> None:
    value = "Q" * (MAX_CREDENTIAL_BYTES + 1)
    headers = {
        "bearer": {"Authorization": f"Bearer {value}"},
        "api-key": {"X-API-Key": value},
        "unknown-scheme": {"Authorization": value},
    }[where]
    response = change(client, VALID_ID, "Old-Passw0rd!", NEW, headers=headers)
    assert_error(response, 401, 4001, "Unauthorized")
    log = passgate_log(all_logs)
    assert "QQQQ" not in log
    assert "credentials over" in log


@pytest.mark.parametrize("name", ["access_token", "access%5Ftoken"])
def test_workspace_oversized_access_token_is_refused(
    client: TestClient, name: str, all_logs: pytest.LogCaptureFixture
) -> None:
    value = "Q" * (MAX_CREDENTIAL_BYTES + 1)
    response = client.post(f"{WORKSPACE}?{name}={value}", json={})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "QQQQ" not in passgate_log(all_logs)
    response = client.post(WORKSPACE, json={}, headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer {mine}"), ("Authorization", "Bearer not-a-token")],
        [("Authorization", "Bearer not-a-token"), ("Authorization", "Bearer {mine}")],
        [("X-API-Key", "some-key"), ("X-API-Key", "other-key")],
    ],
)
def test_a_credential_header_given_twice_is_refused(
    client: TestClient, directory: Directory, issuer: DevIssuer, headers: list[tuple[str, str]]
) -> None:
    """Before, the first one won, whichever it was."""
    user = directory.add_user()
    mine = user_token(issuer, user.user_id)
    sent = [(name, value.format(mine=mine)) for name, value in headers]
    response = client.post(
        f"/v1/users/{user.user_id}/change-password",
        json={"oldPassword": user.password, "newPassword": NEW},
        headers=sent,
    )
    assert_error(response, 401, 4001, "Unauthorized")
    assert directory.can_bind(user.dn, user.password)


def test_a_workspace_access_token_given_twice_is_refused(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    mine = user_token(issuer, user.user_id)
    body = {"CurrentPassword": user.password, "NewPassword": NEW}
    response = client.post(f"{WORKSPACE}?access_token=x&access_token={mine}", json=body)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert directory.can_bind(user.dn, user.password)


def test_credentials_at_the_limit_are_read(client: TestClient) -> None:
    value = "Q" * (MAX_CREDENTIAL_BYTES - len("Bearer "))
    response = change(
        client, VALID_ID, "Old-Passw0rd!", NEW, headers={"Authorization": f"Bearer {value}"}
    )
    assert_error(response, 401, 4001, "Unauthorized")  # read, and refused as a bad token


# -- pathological JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"oldPassword": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "nested too deeply"),
        (b"[" * 5_000 + b"]" * 5_000, "nested too deeply"),
        (b'{"oldPassword": 1' + b"0" * 5_000 + b"}", "number too large"),
        (b'{"oldPassword": 1.' + b"5" * 5_000 + b"}", "number too large"),
        (b'{"oldPassword": NaN, "newPassword": "Brand-N3w-Passw0rd!"}', "malformed JSON"),
        (
            b'{"oldPassword": "Old-Passw0rd!", "oldPassword": "Other-Passw0rd!", '
            b'"newPassword": "Brand-N3w-Passw0rd!"}',
            "duplicate member names",
        ),
        ('{"oldPassword": "Old-Passw0rd!"}'.encode("utf-16"), "not UTF-8"),
        (b'{"oldPassword": "\xc3\x28bad-utf8"}', "not UTF-8"),
        (codecs.BOM_UTF8 * 2 + b'{"oldPassword": "Old-Passw0rd!"}', "malformed JSON"),
        (b'{"oldPassword": "Old-Passw0rd!"} {}', "malformed JSON"),
    ],
)
def test_pathological_json_is_a_validation_failure(
    client: TestClient, issuer: DevIssuer, content: bytes, reason: str
) -> None:
    token = user_token(issuer, VALID_ID)
    response = change(client, VALID_ID, None, None, token=token, content=content, headers=JSON)
    assert v1_details(response) == [{"field": "body", "reason": reason}]
    response = client.post(
        WORKSPACE, content=content, headers={**JSON, "Authorization": f"Bearer {token}"}
    )
    assert [e["Target"] for e in workspace_errors(response)] == ["body"]


def test_a_utf8_bom_is_ignored_as_rfc_8259_allows(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    content = b'\xef\xbb\xbf{"oldPassword": "%s", "newPassword": "%s"}' % (
        user.password.encode(),
        NEW.encode(),
    )
    response = change(
        client,
        user.user_id,
        None,
        None,
        token=user_token(issuer, user.user_id),
        content=content,
        headers=JSON,
    )
    assert response.status_code == 200, response.text


def test_workspace_names_differing_only_in_case_are_duplicates(
    client: TestClient, issuer: DevIssuer
) -> None:
    token = user_token(issuer, VALID_ID)
    response = client.post(
        WORKSPACE,
        json={"CurrentPassword": "Old-Passw0rd!", "currentpassword": "x", "NewPassword": NEW},
        headers={"Authorization": f"Bearer {token}"},
    )
    errors = workspace_errors(response)
    assert [(e["Field"], e["Code"]) for e in errors] == [("CurrentPassword", "InvalidType")]


def test_repeated_form_fields_are_duplicates(client: TestClient, issuer: DevIssuer) -> None:
    response = change(
        client,
        VALID_ID,
        None,
        None,
        token=user_token(issuer, VALID_ID),
        content=b"oldPassword=Old-Passw0rd!&oldPassword=Other-Passw0rd!&newPassword=Brand-N3w-Passw0rd!",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert v1_details(response) == [{"field": "body", "reason": "duplicate form fields"}]


def test_a_body_over_the_limit_without_a_length_is_refused(
    client: TestClient, issuer: DevIssuer
) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"oldPassword": "'
        for _ in range(4):
            yield b"x" * (MAX_BODY_BYTES // 2)

    response = change(
        client,
        VALID_ID,
        None,
        None,
        token=user_token(issuer, VALID_ID),
        content=chunks(),
        headers=JSON,
    )
    assert v1_details(response) == [
        {"field": "body", "reason": f"larger than {MAX_BODY_BYTES} bytes"}
    ]


# -- control characters in passwords --------------------------------------------------------

CONTROL = ["\x00", "\x01", "\t", "\n", "\x1b", "\x1f", "\x7f"]
REASON = "must not contain control characters"


@pytest.mark.parametrize("char", CONTROL)
def test_control_characters_in_v1_passwords(
    client: TestClient, issuer: DevIssuer, char: str
) -> None:
    odd = f"Odd{char}Passw0rd!"
    response = change(client, VALID_ID, odd, odd, token=user_token(issuer, VALID_ID))
    assert v1_details(response) == [
        {"field": "oldPassword", "reason": REASON},
        {"field": "newPassword", "reason": REASON},
    ]


@pytest.mark.parametrize("char", CONTROL)
def test_control_characters_in_workspace_passwords(
    client: TestClient, issuer: DevIssuer, char: str
) -> None:
    odd = f"Odd{char}Passw0rd!"
    response = client.post(
        WORKSPACE,
        json={"CurrentPassword": odd, "NewPassword": odd},
        headers={"Authorization": f"Bearer {user_token(issuer, VALID_ID)}"},
    )
    errors = workspace_errors(response)
    assert [(e["Field"], e["Code"]) for e in errors] == [
        ("CurrentPassword", "InvalidType"),
        ("NewPassword", "InvalidType"),
    ]
    assert all(odd not in str(e) for e in errors)


# -- headers on every answer ------------------------------------------------------------------

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/no-such-page", "/metrics"])
def test_security_headers_on_operator_answers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == STRICT_CSP


def test_security_headers_on_api_answers(client: TestClient, issuer: DevIssuer) -> None:
    for response in (
        change(client, VALID_ID, "Old-Passw0rd!", NEW),  # 401
        change(client, "bad", "Old-Passw0rd!", NEW, token=user_token(issuer, "bad" * 8)),  # 400
        client.post(WORKSPACE, json={}),  # problem details
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == STRICT_CSP


def test_the_docs_page_gets_a_policy_that_lets_it_load(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy  # swagger-ui's script and CSS
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
