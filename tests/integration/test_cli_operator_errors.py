"""``passgate serve`` and ``passgate check`` on bad operator input: one line, exit 2.

Each value here used to end in a Python traceback at ``serve`` (or a server
that started and answered 500), and ``check`` said "all good" or crashed.
Now the settings refuse them, naming the variable, the same way for both.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from passgate.dev import seed

BIND_SECRET = "s3cret-bind-never-shown"


def environment(public_key_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSGATE_")}
    settings = seed.passgate_settings(
        "ldap://127.0.0.1:1", "https://sso.example.test", public_key_file
    )
    settings["ldap_bind_credential"] = BIND_SECRET
    env.update({f"PASSGATE_{k.upper()}": str(v) for k, v in settings.items()})
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def passgate(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Exit status and output; a server that keeps running counts as a failure to refuse."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "passgate", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"passgate {' '.join(args)} started instead of refusing the settings")
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


BAD_SETTINGS = [
    ("PASSGATE_LDAP_CA_FILE", "/nonexistent"),
    ("PASSGATE_LDAP_CA_FILE", "/tmp"),
    ("PASSGATE_AUDIT_LOG", "/nonexistent/dir/audit.log"),
    ("PASSGATE_AUDIT_LOG", "/tmp"),
    ("PASSGATE_LDAP_CONNECTION_URL", "ldap://127.0.0.1:99999"),
    ("PASSGATE_LDAP_CONNECTION_URL", "ldap://127.0.0.1:abc"),
    ("PASSGATE_LIMITER_URL", "redis://127.0.0.1:abc/0"),
    ("PASSGATE_LIMITER_URL", "redis://127.0.0.1:99999/0"),
    ("PASSGATE_LDAP_USERS_DN", ""),
    ("PASSGATE_LDAP_BIND_DN", ""),
    ("PASSGATE_LDAP_USER_ID_ATTRIBUTE", ""),
    ("PASSGATE_AUTH_ISSUER", "   "),
    ("PASSGATE_AUTH_USER_ID_CLAIM", ""),
    ("PASSGATE_AUTH_JWKS_URL", "https://[::1"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
@pytest.mark.parametrize("command", ["serve", "check"])
def test_bad_settings_are_one_line_and_exit_2(
    command: str, variable: str, value: str, public_key_file: Path, tmp_path: Path
) -> None:
    env = environment(public_key_file, **{variable: value})
    if variable == "PASSGATE_AUTH_JWKS_URL":
        env.pop("PASSGATE_AUTH_PUBLIC_KEY_FILE")
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["check"]
    code, output = passgate(args, env, tmp_path)
    assert code == 2, output
    assert "Traceback" not in output
    assert f"{variable}: " in output
    assert "all good" not in output
    assert BIND_SECRET not in output


def test_serve_takes_a_log_level_in_any_case(public_key_file: Path, tmp_path: Path) -> None:
    env = environment(public_key_file, PASSGATE_LDAP_CA_FILE="/nonexistent")
    code, output = passgate(["serve", "--log-level", "debug"], env, tmp_path)
    assert code == 2, output  # got as far as the settings
    assert "Traceback" not in output


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_serve_refuses_a_port_out_of_range(
    port: str, public_key_file: Path, tmp_path: Path
) -> None:
    code, output = passgate(["serve", "--port", port], environment(public_key_file), tmp_path)
    assert code == 2
    assert f"argument --port: {port} is not a port from 1 to 65535" in output


def test_serve_refuses_a_metrics_port_in_use(
    taken_port: int, public_key_file: Path, tmp_path: Path
) -> None:
    env = environment(public_key_file, PASSGATE_METRICS_PORT=str(taken_port))
    code, output = passgate(["serve", "--port", str(free_port())], env, tmp_path)
    assert code == 2, output
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1] == (
        f"passgate: PASSGATE_METRICS_HOST=127.0.0.1, PASSGATE_METRICS_PORT={taken_port}: "
        "cannot listen for /metrics (Address already in use)"
    )


def test_serve_refuses_a_metrics_host_that_is_not_one(
    public_key_file: Path, tmp_path: Path
) -> None:
    env = environment(
        public_key_file, PASSGATE_METRICS_PORT=str(free_port()), PASSGATE_METRICS_HOST="not a host"
    )
    code, output = passgate(["serve", "--port", str(free_port())], env, tmp_path)
    assert code == 2, output
    assert "Traceback" not in output
    assert "PASSGATE_METRICS_HOST: 'not a host' is neither an IP address" in output
