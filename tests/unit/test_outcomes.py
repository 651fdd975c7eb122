"""What each directory answer means (results as ldap3 reports them)."""

from __future__ import annotations

from typing import Any

import pytest
from ldap3.core.exceptions import (
    LDAPOperationResult,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
)
from ldap3.utils.asn1 import decode_message_fast

from passgate import errors
from passgate.directory import ppolicy, results
from passgate.directory.ppolicy import PolicyError, PolicyResponse
from passgate.errors import PolicyReason
from tests.faultproxy import GARBLED


def result(
    code: int, message: str = "", error: PolicyError | None = None, raw: bytes | None = None
) -> dict[str, Any]:
    value = (
        raw
        if raw is not None
        else (ppolicy.encode(PolicyResponse(error=error)) if error is not None else None)
    )
    controls = {ppolicy.OID: {"value": value, "criticality": False}} if value is not None else {}
    return {"result": code, "description": "", "message": message, "controls": controls}


def test_bind_success_returns_the_policy_response() -> None:
    response = results.check_bind(result(0, error=PolicyError.CHANGE_AFTER_RESET))
    assert response == PolicyResponse(error=PolicyError.CHANGE_AFTER_RESET)
    assert results.check_bind(result(0)) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (result(49), errors.IncorrectOldPassword),
        (result(49, raw=b"0\x00"), errors.IncorrectOldPassword),
        (result(49, error=PolicyError.ACCOUNT_LOCKED), errors.AccountLocked),
        (result(49, error=PolicyError.PASSWORD_EXPIRED), errors.PasswordExpired),
        (result(53, "Account inactivated. Contact system administrator."), errors.AccountLocked),
        (result(51), errors.DirectoryUnavailable),
        (result(52), errors.DirectoryUnavailable),
        (result(13, "confidentiality required"), errors.DirectoryMisconfigured),
        (result(8, "BindSimple: Transport encryption required."), errors.DirectoryMisconfigured),
        (result(80), errors.PassgateError),
        (result(49, raw=b"\xff\x00"), errors.IncorrectOldPassword),  # undecodable control ignored
    ],
)
def test_bind_failures(answer: dict[str, Any], expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        results.check_bind(answer)
    assert type(caught.value) is expected


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            result(19, "Password fails quality checking policy", PolicyError.PASSWORD_TOO_SHORT),
            PolicyReason.TOO_SHORT,
        ),
        (result(19, "", PolicyError.PASSWORD_TOO_LONG), PolicyReason.TOO_LONG),
        (result(19, "", PolicyError.PASSWORD_IN_HISTORY), PolicyReason.IN_HISTORY),
        (result(19, "", PolicyError.PASSWORD_TOO_YOUNG), PolicyReason.TOO_YOUNG),
        (result(19, "", PolicyError.INSUFFICIENT_PASSWORD_QUALITY), PolicyReason.QUALITY),
        (
            result(
                19,
                "Password is not being changed from existing value",
                PolicyError.PASSWORD_IN_HISTORY,
            ),
            PolicyReason.SAME_AS_OLD,
        ),
        # No control: the diagnostic text is all there is.
        (result(19, "Password is in history of old passwords"), PolicyReason.IN_HISTORY),
        (result(19, "Password is too young to change"), PolicyReason.TOO_YOUNG),
        (result(19, "password is too short"), PolicyReason.TOO_SHORT),
        (result(19, "Failed to update password"), PolicyReason.DIRECTORY_REJECTED),
        (result(50, "insufficient access"), PolicyReason.DIRECTORY_REJECTED),
        (result(53, "", PolicyError.PASSWORD_MOD_NOT_ALLOWED), PolicyReason.DIRECTORY_REJECTED),
    ],
)
def test_password_modify_policy_reasons(answer: dict[str, Any], reason: PolicyReason) -> None:
    with pytest.raises(errors.PasswordPolicyRejected) as caught:
        results.check_password_modify(answer, same_as_old=False)
    assert caught.value.reason is reason


def test_same_as_old_wins_when_the_directory_refuses_the_same_password() -> None:
    with pytest.raises(errors.PasswordPolicyRejected) as caught:
        results.check_password_modify(
            result(19, "", PolicyError.PASSWORD_IN_HISTORY), same_as_old=True
        )
    assert caught.value.reason is PolicyReason.SAME_AS_OLD


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (result(53, "unwilling to verify old password"), errors.IncorrectOldPassword),
        (result(49, "Invalid oldPasswd value."), errors.IncorrectOldPassword),
        (result(51), errors.DirectoryUnavailable),
        (result(13, "Operation requires a secure connection."), errors.DirectoryMisconfigured),
        (
            result(2, "Extended Operation(1.3.6.1.4.1.4203.1.11.1) not supported"),
            errors.DirectoryMisconfigured,
        ),
        (result(1, "operations error"), errors.PassgateError),
    ],
)
def test_password_modify_other_failures(answer: dict[str, Any], expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        results.check_password_modify(answer, same_as_old=False)
    assert type(caught.value) is expected


def test_password_modify_success() -> None:
    results.check_password_modify(result(0), same_as_old=False)


def test_an_answer_ldap3_cannot_decode_is_the_directory_unavailable() -> None:
    with (
        pytest.raises(errors.DirectoryUnavailable) as caught,
        results.translated_ldap_errors("bind"),
    ):
        decode_message_fast(GARBLED)
    assert caught.value.lost
    assert "could not be read as LDAP (KeyError)" in str(caught.value)


def test_a_key_error_of_passgates_own_is_not_taken_for_a_garbled_answer() -> None:
    """Only what ldap3's or pyasn1's code raised is the directory's; a bug stays a bug."""
    with pytest.raises(KeyError), results.translated_ldap_errors("bind"):
        {}["missing"]


@pytest.mark.parametrize(
    ("raised", "expected", "timed_out"),
    [
        (TimeoutError("timed out"), errors.DirectoryUnavailable, True),
        (ConnectionResetError("reset by peer"), errors.DirectoryUnavailable, False),
        (LDAPSocketReceiveError("socket timed out"), errors.DirectoryUnavailable, True),
        (LDAPSocketOpenError("unable to open socket"), errors.DirectoryUnavailable, False),
        (LDAPOperationResult(), errors.PassgateError, None),
    ],
)
def test_ldap3s_exceptions_become_passgates(
    raised: Exception, expected: type[Exception], timed_out: bool | None
) -> None:
    with pytest.raises(expected) as caught, results.translated_ldap_errors("modify"):
        raise raised
    assert type(caught.value) is expected
    assert str(caught.value).startswith(f"modify: {type(raised).__name__}")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__  # "from None": ldap3's trace is not shown
    if timed_out is not None:
        assert caught.value.timed_out is timed_out  # type: ignore[attr-defined]
        assert caught.value.lost  # type: ignore[attr-defined]


def test_passgates_own_errors_and_success_pass_through_the_translation() -> None:
    own = errors.IncorrectOldPassword()
    with pytest.raises(errors.IncorrectOldPassword) as caught, results.translated_ldap_errors("x"):
        raise own
    assert caught.value is own
    with results.translated_ldap_errors("x"):
        pass
