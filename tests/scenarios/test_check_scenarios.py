"""``passgate check`` on 389-DS and Samba AD: the guard's reads and the limiter's verdict."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from passgate.config import Settings
from passgate.tools.check import run_check
from tests.scenarios.targets import Target
from tests.scenarios.test_scenarios import OLD


def check(settings: Settings) -> str:
    out = io.StringIO()
    code = run_check(settings, out)
    text = out.getvalue()
    assert code == 0, text
    return text


def test_check_on_389(ds389: Target, make_settings: Callable[..., Any]) -> None:
    ds389.add_user(OLD)
    text = check(make_settings(**ds389.settings))
    assert "[  OK] directory failure state: 0 failure(s) of 5 on uid=" in text, text
    assert (
        "[  OK] limiter below the directory's lockout: 3 failure(s) per 900 s < 5 per 600 s "
        "(cn=config)"
    ) in text, text
    assert "[  OK] expired passwords can be changed: passwords do not expire (cn=config)" in text
    assert ds389.settings["ldap_bind_credential"] not in text
    short = check(make_settings(**ds389.settings, limiter_window=300))
    assert (
        "[WARN] limiter below the directory's lockout: PASSGATE_LIMITER_WINDOW=300 is shorter "
        "than the 600 s the directory counts a failure (passwordResetFailureCount, cn=config)"
    ) in short, short


def test_check_on_samba(samba: Target, make_settings: Callable[..., Any]) -> None:
    samba.add_user(OLD)
    text = check(make_settings(**samba.settings, limiter_window=1800))
    assert "[  OK] directory failure state: 0 failure(s) of " in text, text
    assert "[  OK] limiter below the directory's lockout: " in text, text
    assert "expired passwords can be changed" not in text  # AD: the service account sets them
    assert samba.settings["ldap_bind_credential"] not in text
