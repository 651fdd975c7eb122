from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer


def change(
    client: TestClient,
    user_id: str,
    old: str | None,
    new: str | None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {}
    if old is not None:
        body["oldPassword"] = old
    if new is not None:
        body["newPassword"] = new
    if not {"content", "data", "files", "json"} & kwargs.keys():
        kwargs["json"] = body
    return client.post(f"/v1/users/{user_id}/change-password", headers=all_headers, **kwargs)


def user_token(issuer: DevIssuer, user_id: str, **kwargs: Any) -> str:
    return issuer.token(user_id, username=kwargs.pop("username", "someone"), **kwargs)


def assert_error(response: httpx.Response, status: int, code: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"] == message
    return body
