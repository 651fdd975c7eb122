"""The use case and the HTTP layer over a fake directory (the Directory protocol)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from passgate import errors
from passgate.api.routing import V1Route, WorkspaceRoute
from passgate.app import create_app
from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.config import load_settings
from passgate.directory.base import PoolStats
from passgate.errors import (
    DirectoryUnavailable,
    IncorrectOldPassword,
    InvalidCredentials,
    PasswordPolicyRejected,
    PolicyReason,
    UserNotFound,
)
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.service import PasswordService


class FakeDirectory:
    """Implements passgate.directory.base.Directory in memory."""

    def __init__(self) -> None:
        self.passwords = {"uid=a": "Old-Passw0rd!"}
        self.ids = {"a" * 24: "uid=a"}
        self.fail_with: Exception | None = None

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        if user_id not in self.ids:
            raise UserNotFound(user_id)
        return self.ids[user_id]

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        return self.user_dn_for(username)

    @contextlib.contextmanager
    def bound_as(self, dn: str, old_password: str) -> Iterator[FakeBound]:
        if self.fail_with:
            raise self.fail_with
        if self.passwords[dn] != old_password:
            raise IncorrectOldPassword("wrong")
        yield FakeBound(self, dn)

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        return DirectoryPolicy(source="fake", min_length=10, history=5)

    def failure_state(self, dn: str) -> FailureState | None:
        return None

    def ping(self) -> None:
        if self.fail_with:
            raise self.fail_with

    def instrument(self, observe: Callable[[str, float], None]) -> Mapping[str, PoolStats]:
        return {}

    def close(self) -> None:
        pass


class FakeBound:
    """Implements passgate.directory.base.BoundUser in memory."""

    def __init__(self, fake: FakeDirectory, dn: str) -> None:
        self.fake, self.dn = fake, dn

    def names(self) -> list[str]:
        return ["alice", "Alice Liddell"]

    def set_password(self, new_password: str) -> None:
        self.fake.passwords[self.dn] = new_password


class FixedAuthenticator:
    def __init__(self) -> None:
        self.refuse = False  # as a bad token would be
        self.io = False  # as a token whose key must be fetched first would be
        self.threads: list[str] = []

    def needs_io(self, credentials: Credentials) -> bool:
        return self.io

    def authenticate(self, credentials: Credentials) -> Caller:
        if self.io:
            self.threads.append(threading.current_thread().name)
        if self.refuse:
            raise InvalidCredentials("refused")
        return Caller(CallerKind.USER, "a", user_id="a" * 24)


def test_service_changes_via_the_directory() -> None:
    fake = FakeDirectory()
    PasswordService(fake).change_password(
        "a" * 24, SecretStr("Old-Passw0rd!"), SecretStr("New-Passw0rd!")
    )
    assert fake.passwords["uid=a"] == "New-Passw0rd!"


def test_service_propagates_not_found() -> None:
    with pytest.raises(UserNotFound):
        PasswordService(FakeDirectory()).change_password("b" * 24, SecretStr("x"), SecretStr("y"))


@pytest.fixture
def fake() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def client(fake: FakeDirectory) -> TestClient:
    settings = load_settings(
        _env_file=None,
        ldap_connection_url="ldap://127.0.0.1:1",
        ldap_bind_dn="cn=x",
        ldap_bind_credential="y",
        ldap_users_dn="dc=x",
        api_keys_file="/nonexistent-but-unused.json",
    )
    return TestClient(create_app(settings, directory=fake, authenticator=FixedAuthenticator()))


def post(client: TestClient):  # type: ignore[no-untyped-def]
    return client.post(
        f"/v1/users/{'a' * 24}/change-password",
        json={"oldPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"},
        headers={"Authorization": "Bearer x"},
    )


def test_success_through_http(client: TestClient, fake: FakeDirectory) -> None:
    assert post(client).json() == {"status": True, "data": {"passwordChanged": "OK"}}
    assert fake.passwords["uid=a"] == "New-Passw0rd!"


def test_unexpected_exception_is_500_without_trace(
    client: TestClient, fake: FakeDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_with = RuntimeError("boom New-Passw0rd!")
    caplog.set_level(logging.DEBUG)
    response = post(client)
    assert response.status_code == 500
    assert response.json() == {
        "status": False,
        "error": {"code": 5000, "message": "Internal error"},
    }
    assert response.headers["cache-control"] == "no-store"
    assert "RuntimeError" in caplog.text
    assert "New-Passw0rd!" not in caplog.text  # the message is not logged, the frames are


def test_directory_unavailable_through_http(client: TestClient, fake: FakeDirectory) -> None:
    fake.fail_with = DirectoryUnavailable("down")
    response = post(client)
    assert response.status_code == 503
    assert response.json()["error"] == {"code": 5030, "message": "Directory unavailable"}


def test_caller_found_by_user_id_then_username() -> None:
    fake = FakeDirectory()
    fake.ids["alice"] = "uid=a"  # FakeDirectory looks usernames up in the same table
    service = PasswordService(fake)
    by_name = Caller(CallerKind.USER, "alice", user_id="9" * 24, username="alice")
    service.change_password_for_caller(
        by_name, SecretStr("Old-Passw0rd!"), SecretStr("N1-Passw0rd!")
    )
    assert fake.passwords["uid=a"] == "N1-Passw0rd!"
    by_id = Caller(CallerKind.USER, "x", user_id="a" * 24)
    service.change_password_for_caller(by_id, SecretStr("N1-Passw0rd!"), SecretStr("N2-Passw0rd!"))
    assert fake.passwords["uid=a"] == "N2-Passw0rd!"
    with pytest.raises(UserNotFound):
        service.change_password_for_caller(
            Caller(CallerKind.USER, "ghost", user_id="b" * 24), SecretStr("x"), SecretStr("y")
        )


def test_local_rules_run_after_the_old_password_and_carry_a_message() -> None:
    fake = FakeDirectory()
    service = PasswordService(fake)
    with pytest.raises(IncorrectOldPassword):  # the old password is checked first
        service.change_password("a" * 24, SecretStr("Wrong-Passw0rd!"), SecretStr("alice-1234567"))
    with pytest.raises(PasswordPolicyRejected) as caught:
        service.change_password("a" * 24, SecretStr("Old-Passw0rd!"), SecretStr("my-ALICE-pass"))
    assert caught.value.reason is PolicyReason.CONTAINS_USERNAME
    assert caught.value.message == "The new password must not contain your user name or your name."
    assert fake.passwords["uid=a"] == "Old-Passw0rd!"


def test_directory_refusals_are_explained_from_its_policy() -> None:
    fake = FakeDirectory()
    fake.fail_with = PasswordPolicyRejected(PolicyReason.IN_HISTORY)
    with pytest.raises(PasswordPolicyRejected) as caught:
        PasswordService(fake).change_password(
            "a" * 24, SecretStr("Old-Passw0rd!"), SecretStr("New-Passw0rd!")
        )
    assert caught.value.message == "The new password must not be one of your last 5 passwords."


def test_unexpected_exception_in_a_workspace_route_is_its_500(
    client: TestClient, fake: FakeDirectory
) -> None:
    fake.fail_with = RuntimeError("boom")
    response = client.post(
        "/api/workspace/account/change-password",
        json={"CurrentPassword": "Old-Passw0rd!", "NewPassword": "New-Passw0rd!"},
        headers={"Authorization": "Bearer x"},
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "Internal error",
        "instance": "/api/workspace/account/change-password",
    }


def test_fastapis_own_validation_is_a_1001_in_each_familys_shape(client: TestClient) -> None:
    """A route parameter FastAPI validates (passgate's routes have none yet) never sends 422."""
    v1 = APIRouter(route_class=V1Route)
    workspace = APIRouter(route_class=WorkspaceRoute)

    @v1.get("/v1/typed")
    @workspace.get("/api/workspace/typed")
    async def typed(count: int) -> dict[str, int]:
        return {"count": count}

    app = cast(FastAPI, client.app)
    app.include_router(v1)
    app.include_router(workspace)
    response = client.get("/v1/typed", params={"count": "many"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 1001
    assert response.json()["error"]["details"][0]["field"] == "count"
    response = client.get("/api/workspace/typed")
    assert response.status_code == 400
    assert [(e["Code"], e["Field"]) for e in response.json()["Errors"]] == [("Required", "count")]
    assert client.get("/v1/typed", params={"count": "3"}).json() == {"count": 3}


def test_refusals_raised_by_dependencies_are_counted_and_audited(
    fake: FakeDirectory, tmp_path: Path
) -> None:
    settings = load_settings(
        _env_file=None,
        ldap_connection_url="ldap://127.0.0.1:1",
        ldap_bind_dn="cn=x",
        ldap_bind_credential="y",
        ldap_users_dn="dc=x",
        api_keys_file="/nonexistent-but-unused.json",
        audit_log=str(tmp_path / "audit.jsonl"),
    )
    refusing = FixedAuthenticator()
    refusing.refuse = True
    app = create_app(settings, directory=fake, authenticator=refusing)
    client = TestClient(app)
    assert post(client).status_code == 401  # the caller dependency refuses
    refusing.refuse = False
    response = client.post(
        f"/v1/users/{'a' * 24}/change-password",
        json={"oldPassword": "short"},
        headers={"Authorization": "Bearer x"},
    )
    assert response.status_code == 400  # the body dependency refuses
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(d["outcome"], d["caller"], d["target_user_id"]) for d in lines] == [
        (4001, None, "a" * 24),
        (1001, "a", "a" * 24),
    ]
    metrics = client.get("/metrics").text
    for outcome in ("4001", "1001"):
        assert (
            f'passgate_requests_total{{endpoint="v1_change_password",outcome="{outcome}"}} 1.0'
            in (metrics)
        )


def test_a_jwks_fetch_runs_on_the_same_threads_as_the_directory(fake: FakeDirectory) -> None:
    settings = load_settings(
        _env_file=None,
        ldap_connection_url="ldap://127.0.0.1:1",
        ldap_bind_dn="cn=x",
        ldap_bind_credential="y",
        ldap_users_dn="dc=x",
        api_keys_file="/nonexistent-but-unused.json",
    )
    fetching = FixedAuthenticator()
    fetching.io = True
    client = TestClient(create_app(settings, directory=fake, authenticator=fetching))
    assert post(client).status_code == 200
    assert fetching.threads == ["ldap_0"]


def test_an_audit_line_is_compact_utf8_json(tmp_path: Path) -> None:
    from passgate.observability import Auditor, AuditRecord

    auditor = Auditor(str(tmp_path / "audit.jsonl"))
    record = AuditRecord(
        time="2026-12-02T15:00:00.000+00:00",
        request_id="r1",
        endpoint="workspace_change",
        caller_kind="user",
        caller="zoë",
        target_user_id=None,
        outcome=4002,
        reason="IncorrectOldPassword",
        client_address="192.0.2.7",
        duration_ms=1.5,
    )
    auditor.write(record)
    auditor.write(record)
    auditor.close()
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[0] == lines[1]
    assert '"caller":"zoë",' in lines[0]  # as written, not \u00eb; no spaces
    assert json.loads(lines[0]) == vars(record)


@pytest.mark.parametrize(
    ("raised", "outcome", "reason"),
    [
        (None, 200, None),
        (errors.IncorrectOldPassword(), 5023, None),
        (errors.PasswordPolicyRejected(errors.PolicyReason.TOO_SHORT), 5024, "passwordTooShort"),
        (RuntimeError("a bug"), 5000, None),
    ],
)
def test_an_observed_request_is_counted_and_audited_by_how_it_ended(
    raised: BaseException | None, outcome: int, reason: str | None
) -> None:
    import asyncio
    from types import SimpleNamespace

    from starlette.requests import Request

    from passgate.api.observe import observed

    counted: list[tuple[str, int]] = []
    written: list[Any] = []
    app = SimpleNamespace(
        trusted_proxies=[],
        metrics=SimpleNamespace(count_request=lambda e, o: counted.append((e, o))),
        auditor=SimpleNamespace(enabled=True, write=written.append),
    )
    scope = {"type": "http", "client": ("192.0.2.9", 5555), "headers": [], "state": {}}
    request = Request(scope)
    request.state.request_id = "r-1"

    async def run() -> None:
        async with observed(request, app, "v1_change", audit=True) as attempt:  # type: ignore[arg-type]
            attempt.target = "0123456789abcdef01234567"
            if raised is not None:
                raise raised

    if raised is None:
        asyncio.run(run())
    else:
        with pytest.raises(type(raised)):
            asyncio.run(run())
    assert counted == [("v1_change", outcome)]
    (line,) = written
    assert (line.outcome, line.reason, line.request_id) == (outcome, reason, "r-1")
    assert (line.client_address, line.target_user_id) == ("192.0.2.9", "0123456789abcdef01234567")
