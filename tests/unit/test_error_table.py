"""Every error's answer, checked against the contract's table itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from passgate import errors as e
from passgate.api.error_table import INTERNAL, TABLE, spec_for

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"

EXPECTED = {
    e.ValidationFailed: (400, 1001, "Validation failed"),
    e.NoCredentials: (401, 4002, "No auth token"),
    e.InvalidCredentials: (401, 4001, "Unauthorized"),
    e.Forbidden: (403, 4003, "Forbidden"),
    e.UserNotFound: (404, 3001, "Entity not found"),
    e.IncorrectOldPassword: (400, 5023, "Incorrect old password"),
    e.PasswordPolicyRejected: (400, 5024, "New password rejected by password policy"),
    e.AccountLocked: (400, 5026, "Account locked"),
    e.PasswordExpired: (400, 5025, "Password expired"),
    e.TooManyAttempts: (429, 4029, "Too many attempts"),
    e.DirectoryUnavailable: (503, 5030, "Directory unavailable"),
}


@pytest.mark.parametrize("error_type", list(EXPECTED))
def test_rows(error_type: type[e.PassgateError]) -> None:
    spec = TABLE[error_type]
    assert (spec.status, spec.code, spec.message) == EXPECTED[error_type]


def test_everything_else_is_internal() -> None:
    assert (INTERNAL.status, INTERNAL.code, INTERNAL.message) == (500, 5000, "Internal error")
    for error in (
        e.PassgateError("x"),
        e.AmbiguousUser("x"),
        e.DirectoryMisconfigured("x"),
        ValueError(),
    ):
        assert spec_for(error) is INTERNAL


def test_matches_the_contract_text() -> None:
    if not CONTRACT.exists():
        pytest.skip("shared/CONTRACT.md is not beside this checkout")
    rows = set(re.findall(r"^\| (\d{3}) \| (\d{4}) \| `([^`]+)` \|", CONTRACT.read_text(), re.M))
    ours = {(str(s), str(c), m) for s, c, m in EXPECTED.values()} | {
        ("500", "5000", "Internal error")
    }
    assert rows == ours
