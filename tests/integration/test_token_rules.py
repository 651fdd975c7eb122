"""Only access tokens, from allowed clients, with the admin role from the right place.

On both endpoints, against the real slapd: what Keycloak mints besides access
tokens (ID and refresh tokens) is refused 401 / 4001, whatever else the
token carries, and no token ever reaches a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory

OLD = "Initial-Passw0rd!"
NEW = "Brand-N3w-Passw0rd!"
WS_PATH = "/api/workspace/account/change-password"
ENDPOINTS = ["v1", "workspace"]
ClientFactory = Callable[..., TestClient]


def post(client: TestClient, endpoint: str, user_id: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint == "v1":
        body = {"oldPassword": OLD, "newPassword": NEW}
        return client.post(f"/v1/users/{user_id}/change-password", json=body, headers=headers)
    body = {"CurrentPassword": OLD, "NewPassword": NEW}
    return client.post(WS_PATH, json=body, headers=headers)


def assert_4001(response: httpx.Response, endpoint: str) -> None:
    assert response.status_code == 401, response.text
    if endpoint == "v1":
        assert response.json()["error"] == {"code": 4001, "message": "Unauthorized"}
    else:
        assert response.headers["content-type"] == "application/problem+json"


# What Keycloak mints for a user, by typ claim (its ID and refresh tokens are JWTs too).
NOT_ACCESS = {
    "ID token": {"typ": "ID", "aud": "passgate-portal", "at_hash": "x"},
    "refresh token": {"typ": "Refresh", "aud": "https://sso.example.test/realms/demo"},
    "offline token": {"typ": "Offline"},
    "logout token": {"typ": "Logout", "events": {}},
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("kind", list(NOT_ACCESS))
def test_only_access_tokens(
    make_client: ClientFactory, directory: Directory, issuer: DevIssuer, endpoint: str, kind: str
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid, **NOT_ACCESS[kind])
    for client in (make_client(), make_client(auth_allow_untyped_tokens=True)):
        assert_4001(post(client, endpoint, user.user_id, token), endpoint)
    assert directory.can_bind(user.dn, OLD)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_untyped_tokens_only_with_the_setting(
    make_client: ClientFactory, directory: Directory, issuer: DevIssuer, endpoint: str
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid, typ=None)
    assert_4001(post(make_client(), endpoint, user.user_id, token), endpoint)
    allowed = make_client(auth_allow_untyped_tokens=True)
    assert post(allowed, endpoint, user.user_id, token).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_rfc9068_access_tokens(
    client: TestClient, directory: Directory, issuer: DevIssuer, endpoint: str
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid, typ=None, header={"typ": "at+jwt"})
    assert post(client, endpoint, user.user_id, token).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_azp_allow_list(
    make_client: ClientFactory, directory: Directory, issuer: DevIssuer, endpoint: str
) -> None:
    client = make_client(auth_allowed_clients="password-portal, helpdesk")
    user = directory.add_user(password=OLD)
    stranger = issuer.token(user.user_id, username=user.uid, azp="some-other-app")
    assert_4001(post(client, endpoint, user.user_id, stranger), endpoint)
    listed = issuer.token(user.user_id, username=user.uid, azp="password-portal")
    assert post(client, endpoint, user.user_id, listed).status_code == 200


def test_admin_role_pinned_to_one_client(
    make_client: ClientFactory, directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(auth_admin_client="passgate")
    user = directory.add_user(password=OLD)
    for refused in (
        issuer.token("tool", username="tool", client_roles={"some-app": ["password-admin"]}),
        issuer.token("tool", username="tool", roles=["password-admin"]),
    ):
        response = post(client, "v1", user.user_id, refused)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == {"code": 4003, "message": "Forbidden"}
    pinned = issuer.token("tool", username="tool", client_roles={"passgate": ["password-admin"]})
    assert post(client, "v1", user.user_id, pinned).status_code == 200


def test_the_missing_audience_is_warned_about_once_at_start(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = make_client()
    client.get("/healthz")
    client.get("/healthz")
    named = [r for r in caplog.records if "PASSGATE_AUTH_AUDIENCE" in r.getMessage()]
    assert len(named) == 1
    assert named[0].levelno == logging.WARNING
    caplog.clear()
    make_client(auth_audience="passgate")
    assert not [r for r in caplog.records if "PASSGATE_AUTH_AUDIENCE" in r.getMessage()]


def test_refused_tokens_never_reach_the_logs(
    make_client: ClientFactory,
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    client = make_client(auth_allowed_clients="password-portal", auth_admin_client="passgate")
    user = directory.add_user(password=OLD)
    tokens = [
        issuer.token(user.user_id, username=user.uid, **claims) for claims in NOT_ACCESS.values()
    ]
    tokens += [
        issuer.token(user.user_id, username=user.uid, typ=None),
        issuer.token(user.user_id, username=user.uid, header={"typ": "secevent+jwt"}),
        issuer.token(user.user_id, username=user.uid, azp="some-other-app"),
        issuer.token("tool", username="tool", roles=["password-admin"]),
    ]
    for token in tokens:
        for endpoint in ENDPOINTS:
            assert post(client, endpoint, user.user_id, token).status_code in (401, 403)
    text = "\n".join(r.getMessage() + str(r.exc_info or "") for r in all_logs.records)
    assert text  # refusals are logged ...
    for token in tokens:
        for part in token.split("."):
            assert part not in text  # ... without any part of the token
