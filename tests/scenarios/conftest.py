"""Targets for the scenario suite, and the compatibility-matrix recorder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passgate.dev.slapd import Slapd
from tests.conftest import started
from tests.scenarios.targets import Target, ds389_target, openldap_target, samba_target

MATRIX_ENV = "PASSGATE_MATRIX_JSON"
TARGETS = ["openldap", "ds389", "samba"]


class Matrix:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **row: Any) -> None:
        self.rows.append(row)


@pytest.fixture(scope="session")
def matrix() -> Iterator[Matrix]:
    recorder = Matrix()
    yield recorder
    out = os.environ.get(MATRIX_ENV)
    if out:
        Path(out).write_text(json.dumps(recorder.rows, indent=1))


@pytest.fixture(scope="session")
def openldap(slapd: Slapd) -> Target:
    return openldap_target(slapd)


@pytest.fixture(scope="session")
def ds389() -> Iterator[Target]:
    from tests.servers.ds389 import DS389, DS389Unavailable

    server = started(DS389().start, DS389Unavailable, "389-DS")
    yield ds389_target(server)
    server.stop()


@pytest.fixture(scope="session")
def samba() -> Iterator[Target]:
    from tests.servers.samba_ad import SambaAD, SambaUnavailable

    server = started(SambaAD().start, SambaUnavailable, "Samba AD")
    yield samba_target(server)
    server.stop()


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> Target:
    found: Target = request.getfixturevalue(request.param)
    return found
