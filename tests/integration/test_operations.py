"""Health, readiness, metrics and the audit log, against the real slapd."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory, start_slapd
from tests.integration.helpers import change, user_token

NEW = "Brand-New-Passw0rd!"
WRONG = "Wrong-Passw0rd!"
Client = Callable[..., TestClient]


@pytest.fixture
def paused_slapd() -> Iterator[Slapd]:
    server = start_slapd()
    yield server
    server.stop()


def test_healthz_says_nothing_of_the_directory(make_client: Client) -> None:
    client = make_client(ldap_connection_url="ldap://127.0.0.1:1")
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_follows_the_directory_with_a_short_cache(
    make_client: Client, paused_slapd: Slapd
) -> None:
    cached = make_client(ldap_connection_url=paused_slapd.url, ready_cache_seconds=60)
    fresh = make_client(
        ldap_connection_url=paused_slapd.url, ready_cache_seconds=0, ldap_operation_timeout=1
    )
    assert cached.get("/readyz").json() == {"status": "ready", "detail": "directory reachable"}
    assert fresh.get("/readyz").status_code == 200
    paused_slapd.pause()
    try:
        assert cached.get("/readyz").status_code == 200  # within its cache window
        response = fresh.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "detail": "DirectoryUnavailable"}
    finally:
        paused_slapd.resume()
    assert fresh.get("/readyz").status_code == 200  # recovers by itself


def test_readyz_when_nothing_listens(make_client: Client) -> None:
    client = make_client(ldap_connection_url="ldap://127.0.0.1:1", ready_cache_seconds=0)
    assert client.get("/readyz").status_code == 503


def test_metrics(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    change(client, user.user_id, WRONG, NEW, token=token)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
    for _ in range(4):
        change(client, user.user_id, WRONG, user.password, token=token)
    change(client, user.user_id, NEW, NEW)  # no token
    client.get("/v1/password-policy", headers={"Authorization": f"Bearer {token}"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in [
        'passgate_requests_total{endpoint="v1_change_password",outcome="200"} 1.0',
        'passgate_requests_total{endpoint="v1_change_password",outcome="5023"} 4.0',
        'passgate_requests_total{endpoint="v1_change_password",outcome="4029"} 1.0',
        'passgate_requests_total{endpoint="v1_change_password",outcome="4002"} 1.0',
        'passgate_requests_total{endpoint="v1_password_policy",outcome="200"} 1.0',
        'passgate_limiter_trips_total{scope="user"} 1.0',
        'passgate_ldap_pool_opened_connections{pool="service"}',
        'passgate_ldap_pool_idle_connections{pool="user"}',
    ]:
        assert line in text, line
    for operation in ("search", "bind", "password_modify", "read"):
        assert f'passgate_ldap_operation_seconds_count{{operation="{operation}"}}' in text
    # Bounded labels only: no user id, DN, address or password.
    for secret in (user.user_id, user.dn, user.uid, user.password, NEW, WRONG):
        assert secret not in text


def audit_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_audit_log_one_line_per_attempt(
    make_client: Client, directory: Directory, issuer: DevIssuer, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    client = make_client(audit_log=str(path))
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    ok = change(
        client, user.user_id, user.password, NEW, token=token, headers={"X-Request-ID": "portal-42"}
    )
    assert ok.headers["x-request-id"] == "portal-42"
    refused = change(client, user.user_id, NEW, "Sh0rt-pw!", token=token)
    generated = refused.headers["x-request-id"]
    assert len(generated) == 32
    assert set(generated) <= set("0123456789abcdef")
    odd = change(client, user.user_id, NEW, NEW, headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"] != "bad id\twith spaces"
    assert odd.headers["x-request-id"] != generated  # a new one each time
    client.post(
        "/api/workspace/account/change-password",
        json={"CurrentPassword": WRONG, "NewPassword": "Another-Passw0rd!"},
        headers={"Authorization": f"Bearer {issuer.token(user.user_id, username=user.uid)}"},
    )
    client.get("/v1/password-policy", headers={"Authorization": f"Bearer {token}"})  # not audited
    lines = audit_lines(path)
    assert [line["outcome"] for line in lines] == [200, 5024, 4002, 5023]
    first, second, third, fourth = lines
    assert first["request_id"] == "portal-42"
    assert first["endpoint"] == "v1_change_password"
    assert (first["caller_kind"], first["caller"]) == ("user", "someone")
    assert first["target_user_id"] == user.user_id
    assert first["client_address"] == "testclient"
    assert isinstance(first["duration_ms"], float)
    assert str(first["time"]).endswith("+00:00")
    assert (second["reason"], second["request_id"]) == ("passwordTooShort", generated)
    assert third["caller"] is None
    assert fourth["endpoint"] == "workspace_change_password"
    assert fourth["caller"] == user.uid
    text = path.read_text()
    for secret in (user.password, NEW, "Sh0rt-pw!", WRONG, "Another-Passw0rd!", token):
        assert secret not in text, "a password or token reached the audit log"


def test_audit_off(
    make_client: Client, directory: Directory, issuer: DevIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(audit_log="off")
    user = directory.add_user()
    change(client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id))
    assert '"endpoint"' not in capsys.readouterr().out


def test_audit_to_stdout_by_default(
    client: TestClient, directory: Directory, issuer: DevIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    user = directory.add_user()
    change(client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id))
    out = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert out[-1]["target_user_id"] == user.user_id
    assert out[-1]["outcome"] == 200


def test_shutdown_releases_and_a_restarted_app_still_works(
    make_client: Client, directory: Directory, issuer: DevIssuer, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    client = make_client(audit_log=str(path))
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    parts = client.app.state.components  # type: ignore[attr-defined]
    with client:  # runs the lifespan: start, then shutdown on exit
        assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
        assert parts.service.directory.user_pool.idle + parts.service.directory.service_pool.idle
    assert parts.service.directory.user_pool.idle == 0  # pools closed at shutdown
    assert parts.service.directory.service_pool.idle == 0
    with client:  # started again: threads, pools and the audit file come back on use
        assert change(client, user.user_id, NEW, "Third-Passw0rd!", token=token).status_code == 200
    assert [line["outcome"] for line in audit_lines(path)] == [200, 200]


def test_an_audit_line_that_cannot_be_written_is_said_and_the_change_stands(
    make_client: Client,
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    client = make_client(audit_log="/dev/full")  # opens fine; every write fails with ENOSPC
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
    assert directory.can_bind(user.dn, NEW)
    assert "audit line not written: OSError" in all_logs.text
    for secret in (user.password, NEW, token):
        assert secret not in all_logs.text
