"""Settings that pass validation but fail where serve uses them: still one line naming them.

The settings check what they can (:mod:`tests.unit.test_settings`); what can
change between the check and the use (a file removed, a port taken by then)
or what settings built by hand skip is reported at the place of use as a
``ConfigurationError`` naming the setting, never a library's traceback.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passgate import cli
from passgate.app import create_app
from passgate.config import LimiterSettings, load_settings
from passgate.directory.connection import Connector
from passgate.errors import ConfigurationError
from passgate.limiter import AttemptLimiter, MemoryAttemptStore
from passgate.observability import Auditor
from passgate.policy.local import LocalRules
from passgate.tools.check import run_check
from tests.unit.test_settings import BASE

API_KEYS: dict[str, Any] = {"auth_public_key_file": None, "auth_jwks_url": "http://127.0.0.1:9/c"}


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_an_audit_log_that_cannot_be_opened_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^PASSGATE_AUDIT_LOG: cannot open .*missing"):
        Auditor(str(tmp_path / "missing" / "audit.log"))
    with pytest.raises(ConfigurationError, match=r"PASSGATE_AUDIT_LOG: .*Is a directory"):
        Auditor(str(tmp_path))


def test_a_ca_file_gone_since_the_settings_names_the_setting(tmp_path: Path) -> None:
    ldap = load_settings(**BASE).ldap.model_copy(update={"ca_file": tmp_path / "gone.pem"})
    with pytest.raises(ConfigurationError, match=r"^PASSGATE_LDAP_CA_FILE: .*gone\.pem"):
        Connector(ldap)


def test_a_limiter_url_the_client_refuses_names_the_setting() -> None:
    unchecked = LimiterSettings.model_construct(
        url="redis://:s3cret-store@127.0.0.1:abc/0", user_failures=3, address_failures=20
    )
    with pytest.raises(ConfigurationError, match="PASSGATE_LIMITER_URL") as caught:
        AttemptLimiter.from_settings(unchecked)
    assert "s3cret-store" not in str(caught.value)


def test_memory_limiter_in_any_case() -> None:
    limiter = AttemptLimiter.from_settings(load_settings(**BASE, limiter_url="Memory://").limiter)
    assert isinstance(limiter._store, MemoryAttemptStore)


def test_a_metrics_port_in_use_stops_the_start_with_one_line(
    taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(load_settings(**{**BASE, **API_KEYS, "metrics_port": taken_port}))
    with (
        pytest.raises(ConfigurationError, match=f"PASSGATE_METRICS_PORT={taken_port}: cannot"),
        TestClient(app),
    ):
        pass
    (line,) = [r.getMessage() for r in caplog.records if r.name == "passgate"]
    assert line.startswith(f"PASSGATE_METRICS_HOST=127.0.0.1, PASSGATE_METRICS_PORT={taken_port}")


def test_serve_tries_the_metrics_port_before_uvicorn_starts(taken_port: int) -> None:
    refused = cli.metrics_listener_refused("127.0.0.1", taken_port)
    assert refused is not None
    assert f"PASSGATE_METRICS_PORT={taken_port}: cannot listen" in refused
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert cli.metrics_listener_refused("127.0.0.1", port) is None


def traceback_record(last: str) -> logging.LogRecord:
    text = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "    start()\n"
        f"{last}\n"
    )
    return logging.LogRecord("uvicorn.error", logging.ERROR, "x", 1, text, (), None)


def test_uvicorn_does_not_repeat_an_explained_start_failure_as_a_traceback() -> None:
    from passgate.logging_setup import DropExplainedStartupFailure

    drop = DropExplainedStartupFailure()
    assert not drop.filter(traceback_record("passgate.errors.ConfigurationError: PASSGATE_X: y"))
    assert drop.filter(traceback_record("ValueError: something else"))  # a bug stays visible
    assert drop.filter(
        logging.LogRecord("uvicorn.error", logging.ERROR, "x", 1, "startup failed", (), None)
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "99999"], "argument --port: 99999 is not a port from 1 to 65535"),
        (["serve", "--port", "-1"], "argument --port: -1 is not a port from 1 to 65535"),
        (["serve", "--port", "0"], "argument --port: 0 is not a port"),
        (["dev", "--port", "70000"], "argument --port: 70000 is not a port"),
        (["dev", "--port", "http"], "argument --port: 'http' is not a port number"),
        (["serve", "--log-level", "verbose"], "argument --log-level: invalid choice: 'VERBOSE'"),
    ],
)
def test_bad_options_are_argument_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("level", ["debug", "Warning", "INFO"])
def test_log_levels_in_any_case(level: str) -> None:
    assert cli.log_level_option(level) in cli.LOG_LEVELS


def test_check_reports_local_rules_serve_could_not_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(settings: object) -> LocalRules:
        raise ConfigurationError("PASSGATE_POLICY_FORBIDDEN_FILE: /x cannot be read")

    monkeypatch.setattr(LocalRules, "from_settings", refuse)
    settings = load_settings(**{**BASE, "ldap_connection_url": "ldap://127.0.0.1:1"})
    out = io.StringIO()
    assert run_check(settings, out) == 1
    assert "[FAIL] local password rules: PASSGATE_POLICY_FORBIDDEN_FILE: /x" in out.getvalue()


def test_check_says_the_local_rules_were_built(tmp_path: Path) -> None:
    forbidden = tmp_path / "forbidden.txt"
    forbidden.write_text("Summer2024!\n")
    settings = load_settings(
        **{**BASE, "ldap_connection_url": "ldap://127.0.0.1:1"},
        policy_forbidden_file=str(forbidden),
    )
    out = io.StringIO()
    run_check(settings, out)
    assert f"[  OK] local password rules: forbidden list {forbidden}" in out.getvalue()
