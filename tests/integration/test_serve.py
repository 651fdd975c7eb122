"""``passgate serve`` as operators run it: one process, or several workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from passgate.testing import passgate_serve
from tests.conftest import Directory
from tests.servers.redis_server import RedisServer


@pytest.mark.parametrize("workers", ["2", "auto"])
def test_serve_with_workers_and_a_shared_limiter(
    slapd: Slapd,
    directory: Directory,
    issuer: DevIssuer,
    public_key_file: Path,
    redis_server: RedisServer,
    tmp_path: Path,
    workers: str,
) -> None:
    log = tmp_path / "serve.log"
    settings = {
        **seed.passgate_settings(slapd.url, issuer.issuer, public_key_file),
        "limiter_url": redis_server.url,
    }
    users = [directory.add_user() for _ in range(6)]
    with (
        passgate_serve(["--workers", workers], settings, tmp_path, log) as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        for user in users:
            response = http.post(
                f"/v1/users/{user.user_id}/change-password",
                json={"oldPassword": user.password, "newPassword": "Worker-N3w-Passw0rd"},
                headers={"Authorization": f"Bearer {issuer.token(user.user_id)}"},
            )
            assert response.status_code == 200, response.text
    assert all(directory.can_bind(u.dn, "Worker-N3w-Passw0rd") for u in users)
    expected = len(os.sched_getaffinity(0)) if workers == "auto" else int(workers)
    assert log.read_text().count("Started server process") == max(expected, 1)


def serve_with_workers(
    tmp_path: Path, public_key_file: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``passgate serve --workers 2`` in front of nothing, expected to refuse at start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSGATE_")}
    settings = seed.passgate_settings(
        "ldap://127.0.0.1:1", "https://sso.example.test", public_key_file
    )
    env.update({f"PASSGATE_{k.upper()}": str(v) for k, v in {**settings, **extra}.items()})
    return subprocess.run(
        [sys.executable, "-m", "passgate", "serve", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_workers_without_a_shared_limiter_are_refused(
    tmp_path: Path, public_key_file: Path
) -> None:
    """Each process would serialise attempts on its own: the lockout guard could be raced."""
    result = serve_with_workers(tmp_path, public_key_file)
    assert result.returncode == 2
    assert "PASSGATE_LIMITER_URL=redis://" in result.stderr


def test_bad_configuration_stops_serve_with_the_variable_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSGATE_")}
    env["PASSGATE_LDAP_CONNECTION_URL"] = "ldap://ldap.example.org"
    result = subprocess.run(
        [sys.executable, "-m", "passgate", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "PASSGATE_LDAP_BIND_DN" in result.stderr


def test_passgate_serve_that_cannot_start_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("PASSGATE_")]:
        monkeypatch.delenv(name)
    settings = {"ldap_connection_url": "ldap://ldap.example.org"}
    with (
        pytest.raises(RuntimeError, match=r"(?s)did not start.*PASSGATE_LDAP_BIND_DN"),
        passgate_serve([], settings, tmp_path, tmp_path / "serve.log"),
    ):
        pass


def test_metrics_port_is_refused_with_workers(tmp_path: Path, public_key_file: Path) -> None:
    result = serve_with_workers(
        tmp_path, public_key_file, metrics_port="9100", limiter_url="redis://127.0.0.1:1/0"
    )
    assert result.returncode == 2
    assert "PASSGATE_METRICS_PORT" in result.stderr
