"""The change routes are answered by ResponseGuard directly, exactly as the router would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change, user_token

NEW = "Direct-New-Passw0rd!"


@pytest.fixture
def no_router(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's router refuses every HTTP request: only the direct path can answer."""
    real = Router.__call__

    async def refuse(self: Router, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise RuntimeError("the router was asked")
        await real(self, scope, receive, send)  # the lifespan

    monkeypatch.setattr(Router, "__call__", refuse)


def test_the_change_routes_do_not_walk_the_router(
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
    no_router: None,
) -> None:
    user = directory.add_user()
    with make_client() as client:
        answer = change(
            client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"  # ResponseGuard's headers
        assert answer.headers["x-request-id"]
        # A refusal is presented in the route's shape on this path too.
        refused = change(
            client, user.user_id, "Wrong-Passw0rd!", NEW, token=user_token(issuer, user.user_id)
        )
        assert_error(refused, 400, 5023, "Incorrect old password")
        # Anything else still goes through the router (here: refused, as a 500).
        assert client.get("/healthz").status_code == 500
        assert client.get(f"/v1/users/{user.user_id}/change-password").status_code == 500
    assert directory.can_bind(user.dn, NEW)
