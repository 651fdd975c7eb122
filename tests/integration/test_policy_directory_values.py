"""Odd directory policy values, byte lengths, Unicode names and the forbidden file,
against the real slapd (OpenLDAP ppolicy): passgate says only what is true."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from passgate.errors import ConfigurationError
from passgate.policy.model import BYTES_NOTE
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change, user_token
from tests.integration.test_policy import POLICY, WORKSPACE, add_policy, get_policy

BYTES = BYTES_NOTE + "."

NEW = "Brand-New-Passw0rd!"  # 19 characters


def policy_of(client: TestClient, issuer: DevIssuer, user: Any) -> dict[str, Any]:
    response = get_policy(client, user_token(issuer, user.user_id))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def refusal(
    client: TestClient, issuer: DevIssuer, user: Any, new: str, reason: str
) -> dict[str, Any]:
    response = change(
        client, user.user_id, user.password, new, token=user_token(issuer, user.user_id)
    )
    body = assert_error(response, 400, 5024, POLICY)
    (detail,) = body["error"]["details"]
    assert detail["reason"] == reason
    assert new not in response.text
    assert user.password not in response.text
    result: dict[str, Any] = detail
    return result


def no_password_logged(caplog: pytest.LogCaptureFixture, *passwords: str) -> None:
    for record in caplog.records:
        text = record.getMessage()
        for password in passwords:
            assert password not in text, record.name


# -- 1. values of 0 or less --------------------------------------------------------------


def test_negative_values_are_no_rule_and_a_refusal_names_no_false_limit(
    client: TestClient, directory: Directory, issuer: DevIssuer, all_logs: pytest.LogCaptureFixture
) -> None:
    dn = add_policy(
        directory, pwdMinLength="-5", pwdMaxLength="-1", pwdInHistory="-1", pwdMinAge="-60"
    )
    user = directory.add_user(policy_dn=dn)
    data = policy_of(client, issuer, user)
    assert (data["minLength"], data["maxLength"]) == (8, 128)
    assert (data["history"], data["minAgeSeconds"]) == (None, None)
    assert all(r["value"] is None or r["value"] >= 0 for r in data["rules"])
    reasons = [r["reason"] for r in data["rules"]]
    assert "passwordInHistory" not in reasons
    assert "passwordTooYoung" not in reasons
    # slapd compares the negative minimum unsigned: it refuses every password as too short.
    detail = refusal(client, issuer, user, NEW, "passwordTooShort")
    assert detail["message"] == "The new password is shorter than the directory allows."
    assert directory.can_bind(user.dn, user.password)
    no_password_logged(all_logs, NEW, user.password)


# -- 2. numbers slapd cannot read; pwdCheckQuality -1 ------------------------------------


def test_a_number_slapd_cannot_read_is_unknown_and_slapd_applies_no_policy(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    dn = add_policy(
        directory,
        pwdMinLength="99999999999999999999",
        pwdInHistory="4294967296",
        pwdMinAge="99999999999",
    )
    user = directory.add_user(policy_dn=dn)
    data = policy_of(client, issuer, user)
    assert (data["minLength"], data["maxLength"]) == (8, 128)
    assert (data["history"], data["minAgeSeconds"], data["directoryQualityCheck"]) == (
        None,
        None,
        None,
    )
    assert {r["source"] for r in data["rules"]} == {"local"}
    # Measured: slapd applies none of the entry, not even the default policy's 10.
    short = "Sh0rt-pw!"
    assert (
        change(
            client, user.user_id, user.password, short, token=user_token(issuer, user.user_id)
        ).status_code
        == 200
    )
    assert directory.can_bind(user.dn, short)


@pytest.mark.parametrize("quality", ["-1", "0"])
def test_quality_check_below_one_is_no_quality_check(
    client: TestClient, directory: Directory, issuer: DevIssuer, quality: str
) -> None:
    user = directory.add_user(
        policy_dn=add_policy(directory, pwdCheckQuality=quality, pwdMinLength="30")
    )
    data = policy_of(client, issuer, user)
    assert (data["directoryQualityCheck"], data["minLength"]) == (False, 8)
    token = user_token(issuer, user.user_id)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200


# -- 3. OpenLDAP counts lengths in UTF-8 bytes ------------------------------------------


def test_slapd_counts_bytes_and_passgate_says_bytes_for_a_non_ascii_password(
    client: TestClient, directory: Directory, issuer: DevIssuer, all_logs: pytest.LogCaptureFixture
) -> None:
    # pwdMaxLength 20: 17 characters, 29 bytes are too long for slapd.
    long_user = directory.add_user(policy_dn=seed.MAX_LENGTH_POLICY_DN)
    cyrillic = "Пароль-Пароль-12!"
    assert (len(cyrillic), len(cyrillic.encode())) == (17, 29)
    detail = refusal(client, issuer, long_user, cyrillic, "passwordTooLong")
    assert detail["message"] == "The new password must be at most 20 bytes long" + BYTES
    rules = policy_of(client, issuer, long_user)["rules"]
    assert {
        "reason": "passwordTooLong",
        "source": "directory",
        "value": 20,
        "message": "The new password must be at most 20 characters.",
    } in rules  # as people count: exact for ASCII
    # The workspace says the same.
    token = issuer.token(long_user.user_id, username=long_user.uid)
    response = client.post(
        WORKSPACE,
        json={"CurrentPassword": long_user.password, "NewPassword": cyrillic},
        headers={"Authorization": f"Bearer {token}"},
    )
    (item,) = response.json()["Errors"]
    assert (item["Metadata"], item["Message"]) == (
        {"Reason": "passwordTooLong"},
        "The new password must be at most 20 bytes long" + BYTES,
    )
    assert directory.can_bind(long_user.dn, long_user.password)
    # pwdMinLength 10 (the default policy): 9 characters, 16 bytes are long enough.
    user = directory.add_user()
    greek = "Ωμέγα-9ÄÖ"
    assert (len(greek), len(greek.encode())) == (9, 16)
    token = user_token(issuer, user.user_id)
    assert change(client, user.user_id, user.password, greek, token=token).status_code == 200
    assert directory.can_bind(user.dn, greek)
    # An ASCII password: characters and bytes are one count, the sentence as ever.
    other = directory.add_user()
    detail = refusal(client, issuer, other, "Sh0rt-pw!", "passwordTooShort")
    assert detail["message"] == "The new password must be at least 10 characters."
    no_password_logged(all_logs, cyrillic, greek, "Sh0rt-pw!", user.password)


def test_passgates_own_limits_stay_characters(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(policy_min_length=12)
    user = directory.add_user()
    detail = refusal(client, issuer, user, "Ωμέγα-9ÄÖxy", "passwordTooShort")  # 11 characters
    assert detail["message"] == "The new password must be at least 12 characters."
    data = policy_of(client, issuer, user)
    too_short = [r for r in data["rules"] if r["reason"] == "passwordTooShort"]
    assert too_short == [
        {
            "reason": "passwordTooShort",
            "source": "local",
            "value": 12,
            "message": "The new password must be at least 12 characters.",
        }
    ]


# -- 7. durations in words -------------------------------------------------------------------


def test_a_minimum_age_in_words(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(policy_dn=add_policy(directory, pwdMinAge="90061"))
    words = (
        "Your password was changed too recently: it can be changed again "
        "1 day, 1 hour, 1 minute and 1 second after the last change."
    )
    data = policy_of(client, issuer, user)
    assert data["minAgeSeconds"] == 90061
    assert [r["message"] for r in data["rules"] if r["reason"] == "passwordTooYoung"] == [words]
    assert refusal(client, issuer, user, NEW, "passwordTooYoung")["message"] == words


# -- 4. the forbidden file ---------------------------------------------------------------------


def test_a_forbidden_file_with_a_bom_refuses_its_first_password(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer, tmp_path: Path
) -> None:
    path = tmp_path / "forbidden.txt"
    path.write_bytes(b"\xef\xbb\xbfSummer-Holiday-2024!\nWinter-Holiday-2024!\n")
    client = make_client(policy_forbidden_file=path)
    user = directory.add_user()
    refusal(client, issuer, user, "Summer-Holiday-2024!", "tooWeak")


@pytest.mark.parametrize(
    "data",
    [
        "Passwört-Sommer-1\n".encode("latin-1"),
        "Summer-Holiday-2024!\n".encode("utf-16"),
        b"",
    ],
)
def test_a_forbidden_file_passgate_cannot_use_stops_the_start(
    make_client: Callable[..., TestClient], tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "forbidden.txt"
    path.write_bytes(data)
    with pytest.raises(ConfigurationError) as caught:
        make_client(policy_forbidden_file=path)
    assert "PASSGATE_POLICY_FORBIDDEN_FILE" in str(caught.value)
    assert "Sommer" not in str(caught.value)
    assert "Summer" not in str(caught.value)


# -- 5., 6. Unicode names and symbols ------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "new"),
    [
        ({"cn": "José Müller", "sn": "Müller"}, unicodedata.normalize("NFD", "MÜLLER-Garten-42!")),
        ({"cn": "Anna Smith", "sn": "Smith"}, "\uff33\uff2d\uff29\uff34\uff28-garten-42!"),
        ({"cn": "Anna Smith", "sn": "Smith"}, "Smi\u200dth-garten-42!"),
        ({"cn": "İrem Y\u0131lmaz", "sn": "Y\u0131lmaz"}, "IREM-garten-42!"),
    ],
)
def test_the_name_rule_sees_through_unicode_spellings(
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
    extra: dict[str, str],
    new: str,
) -> None:
    client = make_client(policy_name_attributes="cn, sn, givenName")
    user = directory.add_user(extra=extra)
    refusal(client, issuer, user, new, "containsUsername")
    assert directory.can_bind(user.dn, user.password)


def test_combining_marks_are_no_symbols(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(policy_min_symbols=2, policy_min_digits=2, policy_min_uppercase=1)
    user = directory.add_user()
    detail = refusal(
        client, issuer, user, "Cafe\u0301\u0301Abc12xyz", "insufficientPasswordQuality"
    )
    assert detail["message"] == (
        "The new password must contain at least 1 uppercase letter, 2 digits, 2 symbols."
    )
