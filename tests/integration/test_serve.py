"""``passgate serve`` as operators run it: one process, or several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from passgate.dev import seed
from passgate.dev.process import free_port
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory


def serve_env(slapd: Slapd, issuer: DevIssuer, public_key_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PASSGATE_LDAP_CONNECTION_URL": slapd.url,
        "PASSGATE_LDAP_BIND_DN": seed.SERVICE_DN,
        "PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD,
        "PASSGATE_LDAP_USERS_DN": seed.PEOPLE_DN,
        "PASSGATE_AUTH_PUBLIC_KEY_FILE": str(public_key_file),
        "PASSGATE_AUTH_ISSUER": issuer.issuer,
    }


def wait_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/docs", timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)


@pytest.mark.parametrize("workers", [2])
def test_serve_with_workers(
    slapd: Slapd,
    directory: Directory,
    issuer: DevIssuer,
    public_key_file: Path,
    tmp_path: Path,
    workers: int,
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "passgate",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=serve_env(slapd, issuer, public_key_file),
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base, process, log)
        users = [directory.add_user() for _ in range(6)]
        with httpx.Client(base_url=base) as http:
            for user in users:
                response = http.post(
                    f"/v1/users/{user.user_id}/change-password",
                    json={"oldPassword": user.password, "newPassword": "Worker-N3w-Passw0rd"},
                    headers={"Authorization": f"Bearer {issuer.token(user.user_id)}"},
                )
                assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert all(directory.can_bind(u.dn, "Worker-N3w-Passw0rd") for u in users)
    assert log.read_text().count("Started server process") == workers


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
