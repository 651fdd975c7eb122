from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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


class Proxied(Protocol):
    url: str

    def close(self) -> None: ...


def change_through(
    proxy: Proxied,
    make_client: Callable[..., TestClient],
    issuer: DevIssuer,
    user: Any,
    new: str,
) -> httpx.Response:
    """One change of ``user``'s password, passgate's directory reached through ``proxy``
    (closed afterwards)."""
    try:
        client = make_client(ldap_connection_url=proxy.url)
        return change(
            client, user.user_id, user.password, new, token=user_token(issuer, user.user_id)
        )
    finally:
        proxy.close()
