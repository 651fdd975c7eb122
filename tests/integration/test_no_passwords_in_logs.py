"""No password ever reaches a log line: in-process at DEBUG, and from a real ``passgate serve``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from passgate.testing import passgate_serve
from tests.conftest import Directory
from tests.faultproxy import Cut, FaultProxy
from tests.integration.helpers import change, user_token

SECRETS = [
    "Initial-Passw0rd!",
    "Brand-N3w-Passw0rd!",
    "Wrong-Passw0rd-XYZ",
    "Sh0rt-pw!",
    "{SSHA}abcdefghijkl",
    "x" * 129,
    "Unlucky-Passw0rd-Q",
]


def exercise(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user(password=SECRETS[0])
    token = user_token(issuer, user.user_id)
    other = user_token(issuer, "f" * 24)
    for old, new in [
        (SECRETS[2], SECRETS[1]),  # wrong old password
        (SECRETS[0], SECRETS[3]),  # too short
        (SECRETS[0], SECRETS[4]),  # quality
        (SECRETS[0], SECRETS[5]),  # validation: too long
        (SECRETS[0], SECRETS[1]),  # success
        (SECRETS[1], SECRETS[0]),  # history
    ]:
        change(client, user.user_id, old, new, token=token)
    change(client, user.user_id, SECRETS[1], SECRETS[6], token=other)  # forbidden
    change(client, "e" * 24, SECRETS[1], SECRETS[6], token=user_token(issuer, "e" * 24))  # 404
    workspace = "/api/workspace/account/change-password"
    for current, new in [
        (SECRETS[2], SECRETS[6]),
        (SECRETS[1], SECRETS[3]),
        (SECRETS[1], SECRETS[6]),
    ]:
        client.post(
            workspace,
            params={"access_token": token},
            json={"CurrentPassword": current, "NewPassword": new},
        )
    client.post(workspace, headers={"X-API-Key": SECRETS[5]}, json={})


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a password leaked into the logs: {secret[:3]}..."


def test_in_process_logs_at_debug(
    client: TestClient, directory: Directory, issuer: DevIssuer, all_logs: pytest.LogCaptureFixture
) -> None:
    exercise(client, directory, issuer)
    assert all_logs.records, "the exercise should have logged something"
    assert_no_secret(all_logs.text)
    for record in all_logs.records:
        assert_no_secret(record.getMessage())
        assert_no_secret(repr(record.args))


def test_logs_of_lost_connections(
    make_client,
    slapd: Slapd,
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    for cut in Cut:
        user = directory.add_user(password=SECRETS[0])
        proxy = FaultProxy(slapd.port, cut)
        try:
            client = make_client(ldap_connection_url=proxy.url)
            change(
                client, user.user_id, SECRETS[0], SECRETS[1], token=user_token(issuer, user.user_id)
            )
        finally:
            proxy.close()
    assert "connection lost during password modify" in all_logs.text
    assert_no_secret(all_logs.text)


def test_logs_of_the_limiter_and_its_storage_going_away(
    make_client,
    directory: Directory,
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
    refusing_port: int,
) -> None:
    # Redis that is not there: no attempt begins (503), then, with the limiter in
    # memory, the limit is reached.
    client = make_client(limiter_url=f"redis://127.0.0.1:{refusing_port}/0")
    user = directory.add_user(password=SECRETS[0])
    token = user_token(issuer, user.user_id)
    codes = [
        change(client, user.user_id, SECRETS[2], SECRETS[1], token=token).status_code
        for _ in range(2)
    ]
    assert codes == [503, 503]
    assert "limiter storage unreachable" in all_logs.text
    client = make_client(limiter_user_failures=1)
    codes = [
        change(client, user.user_id, SECRETS[2], SECRETS[1], token=token).status_code
        for _ in range(2)
    ]
    assert codes == [400, 429]
    assert "attempt limit reached" in all_logs.text
    assert_no_secret(all_logs.text)


def test_serve_process_output(
    slapd: Slapd, directory: Directory, issuer: DevIssuer, public_key_file: Path, tmp_path: Path
) -> None:
    log_path = tmp_path / "serve.log"
    settings = seed.passgate_settings(slapd.url, issuer.issuer, public_key_file)
    with (
        passgate_serve(["--log-level", "DEBUG"], settings, tmp_path, log_path) as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        exercise(http, directory, issuer)  # type: ignore[arg-type]
    output = log_path.read_text()
    assert "change-password" in output  # the access log did record the requests
    assert "access_token=[REDACTED]" in output
    assert "eyJ" not in output  # no bearer token either
    assert " 200" in output
    assert " 400" in output
    assert_no_secret(output)
