"""HTTP's own refusals (no such path, wrong method) in the shape of the endpoint family.

Before, FastAPI answered them with ``{"detail": ...}``, a shape neither
family has, and a trailing slash was a 307 whose Location was built from the
Host header (and, on the workspace endpoint, repeated an ``access_token``
query parameter).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.config import load_settings
from tests.unit.test_settings import BASE

V1 = "/v1/users/" + "a" * 24 + "/change-password"
WORKSPACE = "/api/workspace/account/change-password"
PORTAL: dict[str, Any] = {
    "portal_enabled": True,
    "portal_issuer_url": "http://127.0.0.1:9/realms/passgate",
    "portal_client_id": "password-portal",
    "portal_redirect_url": "http://127.0.0.1:8080/portal/callback",
    "portal_cookie_secret": "c" * 40,
}


def client(**overrides: Any) -> TestClient:
    keys = {"auth_public_key_file": None, "auth_jwks_url": "http://127.0.0.1:9/certs"}
    app = create_app(load_settings(**{**BASE, **keys, **overrides}))
    return TestClient(app, follow_redirects=False)


V1_NOT_FOUND = {"status": False, "error": {"code": 4004, "message": "Not found"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/users//change-password"),
        ("POST", V1 + "/"),
        ("POST", "/v1/users/" + "a" * 24),
        ("GET", "/nothing-here"),
    ],
)
def test_no_such_path_is_a_v1_404(method: str, path: str) -> None:
    response = client().request(method, path, headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert response.json() == V1_NOT_FOUND
    assert "location" not in response.headers


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_wrong_method_on_v1_is_a_405_envelope(method: str) -> None:
    response = client().request(method, V1)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "status": False,
        "error": {"code": 4005, "message": "Method not allowed"},
    }


def test_a_wrong_method_on_the_workspace_is_a_405_problem() -> None:
    response = client().get(WORKSPACE)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "This method is not allowed on this resource.",
        "instance": WORKSPACE,
    }


def test_no_such_workspace_path_is_a_404_envelope_without_a_redirect() -> None:
    response = client().post(WORKSPACE + "/?access_token=eyJ.secret.token")
    assert response.status_code == 404
    assert "location" not in response.headers
    assert "eyJ" not in response.text
    body = response.json()
    assert body["Success"] is False
    assert [item["Code"] for item in body["Errors"]] == ["NotFound"]


def test_the_portal_without_its_slash_is_a_relative_redirect() -> None:
    response = client(**PORTAL).get("/portal", headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == "portal/"


def test_metrics_moved_to_their_own_port_are_a_404_here() -> None:
    response = client(metrics_port=19999).get("/metrics")
    assert response.status_code == 404
    assert response.json() == V1_NOT_FOUND


@pytest.mark.parametrize("slash", ["%2F", "%2f"])
def test_an_encoded_slash_is_no_path_of_ours(slash: str) -> None:
    """Routing reads the decoded path: '<id>%2Fchange-password' was the change endpoint,
    where a proxy in front sees one path segment."""
    path = "/v1/users/" + "a" * 24 + slash + "change-password"
    response = client().post(path, json={})
    assert response.status_code == 404
    assert response.json() == V1_NOT_FOUND
    workspace = client().post("/api/workspace/account" + slash + "change-password", json={})
    assert workspace.status_code == 404
    assert workspace.json()["Errors"][0]["Code"] == "NotFound"
