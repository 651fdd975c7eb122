"""The authentication matrix, on both endpoints, with keys from a JWKS served locally."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.forge import ALWAYS_REFUSED, AUDIENCE_REFUSED, forged_tokens
from tests.jwks_server import JwksServer

V1 = "v1"
WS = "workspace"
WS_PATH = "/api/workspace/account/change-password"
OLD = "Initial-Passw0rd!"
NEW = "Brand-N3w-Passw0rd!"


def post(
    client: TestClient,
    endpoint: str,
    user_id: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    if endpoint == V1:
        return client.post(
            f"/v1/users/{user_id}/change-password",
            json={"oldPassword": OLD, "newPassword": NEW},
            headers=headers or {},
            params=params,
        )
    return client.post(
        WS_PATH,
        json={"CurrentPassword": OLD, "NewPassword": NEW},
        headers=headers or {},
        params=params,
    )


def assert_unauthorized(response: httpx.Response, endpoint: str, code: int = 4001) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    if endpoint == V1:
        messages = {4001: "Unauthorized", 4002: "No auth token"}
        assert response.json() == {
            "status": False,
            "error": {"code": code, "message": messages[code]},
        }
    else:
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 401
        assert body["title"] == "Unauthorized"
        assert set(body) == {"type", "title", "status", "detail", "instance"}


@pytest.fixture
def jwks_client(make_client: Callable[..., TestClient], jwks: JwksServer) -> TestClient:
    return make_client(auth_public_key_file=None, auth_jwks_url=jwks.url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("endpoint", [V1, WS])
def test_valid_token_from_jwks(
    jwks_client: TestClient, directory: Directory, issuer: DevIssuer, endpoint: str
) -> None:
    user = directory.add_user(password=OLD)
    response = post(
        jwks_client,
        endpoint,
        user.user_id,
        headers=bearer(issuer.token(user.user_id, username=user.uid)),
    )
    assert response.status_code == 200, response.text
    assert directory.can_bind(user.dn, NEW)


@pytest.mark.parametrize("endpoint", [V1, WS])
def test_no_token(jwks_client: TestClient, endpoint: str) -> None:
    assert_unauthorized(post(jwks_client, endpoint, "a" * 24), endpoint, 4002)


@pytest.mark.parametrize("endpoint", [V1, WS])
@pytest.mark.parametrize("kind", ALWAYS_REFUSED + AUDIENCE_REFUSED)
def test_bad_tokens(
    make_client: Callable[..., TestClient],
    jwks: JwksServer,
    issuer: DevIssuer,
    endpoint: str,
    kind: str,
) -> None:
    client = make_client(auth_public_key_file=None, auth_jwks_url=jwks.url, auth_audience="account")
    token = forged_tokens(issuer)[kind]
    assert_unauthorized(post(client, endpoint, "a" * 24, headers=bearer(token)), endpoint)


@pytest.mark.parametrize("endpoint", [V1, WS])
def test_unknown_kid_then_rotation(
    make_client: Callable[..., TestClient],
    jwks: JwksServer,
    directory: Directory,
    issuer: DevIssuer,
    endpoint: str,
) -> None:
    client = make_client(
        auth_public_key_file=None, auth_jwks_url=jwks.url, auth_jwks_min_refresh_interval=0
    )
    user = directory.add_user(password=OLD)
    rotated = DevIssuer(issuer.issuer, kid="rotated-2026")
    token = rotated.token(user.user_id, username=user.uid)
    assert_unauthorized(post(client, endpoint, user.user_id, headers=bearer(token)), endpoint)
    jwks.keys = [*jwks.keys, rotated.jwk()]  # the issuer rotates its key
    response = post(client, endpoint, user.user_id, headers=bearer(token))
    assert response.status_code == 200, response.text


def test_a_flood_of_unknown_kids_does_not_hammer_the_issuer(
    make_client: Callable[..., TestClient], jwks: JwksServer, issuer: DevIssuer
) -> None:
    client = make_client(
        auth_public_key_file=None, auth_jwks_url=jwks.url, auth_jwks_min_refresh_interval=60
    )
    for i in range(25):
        token = (
            DevIssuer(issuer.issuer, kid=f"made-up-{i}").token("a" * 24, username="x")
            if i < 2
            else None
        )
        if token is None:
            token = jwt.encode(
                {"iss": issuer.issuer, "sub": "a" * 24, "exp": int(time.time()) + 60},
                issuer.private_key,
                algorithm="RS256",
                headers={"kid": f"made-up-{i}"},
            )
        assert_unauthorized(post(client, V1, "a" * 24, headers=bearer(token)), V1)
    assert jwks.hits == 1


def test_cached_keys_survive_an_issuer_outage(
    jwks_client: TestClient, jwks: JwksServer, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid)
    assert (
        post(
            jwks_client, V1, "f" * 24, headers=bearer(issuer.token("f" * 24, username="x"))
        ).status_code
        == 404
    )
    jwks.fail = True
    assert post(jwks_client, V1, user.user_id, headers=bearer(token)).status_code == 200


def test_issuer_down_from_the_start_is_500_not_401(
    make_client: Callable[..., TestClient], jwks: JwksServer, issuer: DevIssuer
) -> None:
    jwks.fail = True
    client = make_client(auth_public_key_file=None, auth_jwks_url=jwks.url)
    response = post(client, V1, "a" * 24, headers=bearer(issuer.token("a" * 24)))
    assert response.status_code == 500
    assert response.json()["error"] == {"code": 5000, "message": "Internal error"}


def test_access_token_query_parameter_on_workspace(
    jwks_client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid)
    response = post(jwks_client, WS, user.user_id, params={"access_token": token})
    assert response.status_code == 200, response.text


def test_access_token_query_parameter_is_not_accepted_on_v1(
    jwks_client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(password=OLD)
    token = issuer.token(user.user_id, username=user.uid)
    assert_unauthorized(
        post(jwks_client, V1, user.user_id, params={"access_token": token}), V1, 4002
    )


def test_bad_access_token_query_parameter(jwks_client: TestClient) -> None:
    assert_unauthorized(post(jwks_client, WS, "a" * 24, params={"access_token": "junk"}), WS)


@pytest.fixture
def keyed_client(
    make_client: Callable[..., TestClient], jwks: JwksServer, tmp_path: Path
) -> TestClient:
    keys = [
        {
            "name": "helpdesk-tool",
            "sha256": hashlib.sha256(b"admin-key-123").hexdigest(),
            "roles": ["password-admin"],
        },
        {"name": "reporting", "sha256": hashlib.sha256(b"plain-key-456").hexdigest(), "roles": []},
    ]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    return make_client(
        auth_public_key_file=None, auth_jwks_url=jwks.url, api_keys_file=tmp_path / "keys.json"
    )


@pytest.mark.parametrize(
    "key",
    # an empty header, and one over the credential limit, are still X-API-Key callers
    ["admin-key-123", "plain-key-456", "unknown-key", "", "k" * 17_000],
)
def test_api_keys_on_workspace_are_always_403(keyed_client: TestClient, key: str) -> None:
    response = post(keyed_client, WS, "a" * 24, headers={"X-API-Key": key})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "Service accounts cannot access this endpoint via API keys",
        "instance": WS_PATH,
    }


def test_api_keys_on_v1(keyed_client: TestClient, directory: Directory) -> None:
    user = directory.add_user(password=OLD)
    response = post(keyed_client, V1, user.user_id, headers={"X-API-Key": "plain-key-456"})
    assert response.json() == {"status": False, "error": {"code": 4003, "message": "Forbidden"}}
    response = post(keyed_client, V1, user.user_id, headers={"X-API-Key": "unknown-key"})
    assert_unauthorized(response, V1)
    response = post(keyed_client, V1, user.user_id, headers={"X-API-Key": "admin-key-123"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("endpoint", [V1, WS])
@pytest.mark.parametrize("shape", ["service-account-name", "no-identity"])
def test_service_account_tokens_are_403(
    jwks_client: TestClient, directory: Directory, issuer: DevIssuer, endpoint: str, shape: str
) -> None:
    user = directory.add_user(password=OLD)
    if shape == "service-account-name":
        token = issuer.token(user.user_id, username="service-account-portal")
    else:
        token = issuer.token("4b1d0f7e-6b8a-4c1e-9f0e-client-uuid")  # no 24-hex id, no username
    response = post(jwks_client, endpoint, user.user_id, headers=bearer(token))
    assert response.status_code == 403, response.text
    if endpoint == WS:
        assert response.headers["content-type"] == "application/problem+json"
    assert directory.can_bind(user.dn, OLD)
