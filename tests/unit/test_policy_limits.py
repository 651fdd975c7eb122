"""Directory policy numbers as the servers apply them, and sentences that stay true."""

from __future__ import annotations

import pytest

from passgate.directory.dialects.ad import ActiveDirectoryDialect
from passgate.directory.dialects.ds389 import Ds389Dialect
from passgate.directory.dialects.openldap import OpenLdapDialect
from passgate.errors import PolicyReason
from passgate.policy.model import DirectoryPolicy, EffectivePolicy, LocalPolicy

BYTES = " (a letter such as é or Ж counts as 2, some characters as 3 or 4)."


class Entries:
    def __init__(self, entries: dict[str, dict[str, list[str]]]) -> None:
        self.entries = entries

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        return self.entries.get(dn)


def openldap(**attributes: str) -> DirectoryPolicy | None:
    values = {"pwdCheckQuality": ["2"], **{k: [v] for k, v in attributes.items()}}
    entries = Entries({"uid=a": {"pwdPolicySubentry": ["cn=p"]}, "cn=p": values})
    return OpenLdapDialect().read_policy(entries, "uid=a", None)


def messages(policy: EffectivePolicy) -> list[str]:
    return [r.message for r in policy.rules]


# -- 1. values of 0 or less are no limit ---------------------------------------------


def test_negative_openldap_values_are_unknown_and_never_a_rule() -> None:
    found = openldap(pwdMinLength="-5", pwdMaxLength="-1", pwdInHistory="-1", pwdMinAge="-60")
    assert found is not None
    assert (found.min_length, found.max_length, found.history, found.min_age_seconds) == (
        None,
        None,
        None,
        None,
    )
    policy = EffectivePolicy.of(LocalPolicy(), found)
    assert (policy.min_length, policy.max_length) == (8, 128)
    reasons = {r.reason for r in policy.rules}
    assert PolicyReason.IN_HISTORY not in reasons
    assert PolicyReason.TOO_YOUNG not in reasons
    assert not any("-" + digit in m for m in messages(policy) for digit in "0123456789")
    # slapd refuses every password as too short then: the limit is not guessed.
    assert policy.message(PolicyReason.TOO_SHORT, by_passgate=False) == (
        "The new password is shorter than the directory allows."
    )
    assert policy.message(PolicyReason.TOO_LONG, by_passgate=False) == (
        "The new password is longer than the directory allows."
    )


def test_a_policy_built_with_values_of_zero_or_less_shows_no_such_limit() -> None:
    """Whatever reader built it: a length, history or age <= 0 never binds."""
    d = DirectoryPolicy("cn=p", min_length=-5, max_length=-1, history=-1, min_age_seconds=-60)
    policy = EffectivePolicy.of(LocalPolicy(), d)
    assert (policy.min_length, policy.max_length) == (8, 128)
    assert [(r.reason, r.source, r.value) for r in policy.rules[:2]] == [
        (PolicyReason.TOO_SHORT, "local", 8),
        (PolicyReason.TOO_LONG, "local", 128),
    ]
    assert {r.reason for r in policy.rules}.isdisjoint(
        {PolicyReason.IN_HISTORY, PolicyReason.TOO_YOUNG}
    )
    assert policy.message(PolicyReason.TOO_SHORT, by_passgate=False) == (
        "The new password is shorter than the directory allows."
    )
    assert policy.message(PolicyReason.IN_HISTORY) == (
        "The new password must not be one you used before."
    )
    assert policy.message(PolicyReason.TOO_YOUNG) == (
        "Your password was changed too recently to be changed again yet."
    )


# -- 2. numbers slapd cannot read, and pwdCheckQuality ---------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {"pwdMinLength": "99999999999999999999"},
        {"pwdInHistory": "4294967296"},
        {"pwdMinAge": "99999999999"},
        {"pwdMaxLength": "-2147483649"},
        {"pwdCheckQuality": "2147483648"},
    ],
)
def test_a_number_slapd_cannot_read_voids_the_whole_policy(
    attributes: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """slapd's lutil_atoi fails beyond a C int, and slapd then applies none of the entry."""
    found = openldap(**{"pwdInHistory": "3", "pwdMinLength": "12", **attributes})
    assert found == DirectoryPolicy("cn=p")
    policy = EffectivePolicy.of(LocalPolicy(), found)
    assert (policy.min_length, policy.max_length) == (8, 128)
    assert {r.source for r in policy.rules} == {"local"}
    assert any("cannot read" in r.getMessage() for r in caplog.records)


def test_the_largest_c_int_is_read() -> None:
    found = openldap(pwdMinAge="2147483647")
    assert found is not None
    assert found.min_age_seconds == 2147483647


@pytest.mark.parametrize(("value", "checks"), [("-1", False), ("0", False), ("1", True)])
def test_quality_check_means_above_zero(value: str, checks: bool) -> None:
    found = openldap(pwdCheckQuality=value, pwdMinLength="30")
    assert found is not None
    assert found.quality_check is checks
    # Without a quality check slapd ignores pwdMinLength.
    assert found.min_length == (30 if checks else None)


def test_389_and_ad_readers_hold_numbers_to_32_bits_and_drop_negative_limits() -> None:
    ds = Entries(
        {
            "uid=a": {},
            "cn=config": {
                "passwordminlength": ["99999999999"],
                "passwordinhistory": ["-1"],
                "passwordhistory": ["on"],
                "passwordchecksyntax": ["on"],
                "passwordminage": ["-60"],
            },
        }
    )
    found = Ds389Dialect().read_policy(ds, "uid=a", None)
    assert found is not None
    assert (found.min_length, found.history, found.min_age_seconds) == (None, None, None)
    assert found.lengths_in_bytes is False  # not measured on 389-DS: left as characters
    ad = Entries({"DC=a": {"minPwdLength": ["4294967296"], "pwdHistoryLength": ["-3"]}})
    found = ActiveDirectoryDialect().read_policy(ad, "CN=x,DC=a", None)
    assert found is not None
    assert (found.min_length, found.history) == (None, None)
    # AD intervals are 64-bit ticks: not held to 32 bits.
    ad = Entries({"DC=a": {"minPwdAge": ["-8640000000000"]}})
    found = ActiveDirectoryDialect().read_policy(ad, "CN=x,DC=a", None)
    assert found is not None
    assert found.min_age_seconds == 864000


# -- 3. OpenLDAP counts lengths in bytes ------------------------------------------------


def test_openldap_lengths_are_bytes_and_a_refusal_of_a_non_ascii_password_says_so() -> None:
    found = openldap(pwdMinLength="10", pwdMaxLength="20")
    assert found is not None
    assert found.lengths_in_bytes
    policy = EffectivePolicy.of(LocalPolicy(), found)
    # The published rules count as people do: exact for ASCII.
    assert [(r.reason, r.source, r.value, r.message) for r in policy.rules[:2]] == [
        (
            PolicyReason.TOO_SHORT,
            "directory",
            10,
            "The new password must be at least 10 characters.",
        ),
        (PolicyReason.TOO_LONG, "directory", 20, "The new password must be at most 20 characters."),
    ]
    # The directory refused an ASCII password: characters and bytes are the same count.
    assert policy.message(PolicyReason.TOO_LONG, by_passgate=False) == (
        "The new password must be at most 20 characters."
    )
    # ... a password with letters beyond ASCII: the limit is in bytes, and it says so.
    assert policy.message(PolicyReason.TOO_SHORT, by_passgate=False, ascii_only=False) == (
        "The new password must be at least 10 bytes long" + BYTES
    )
    assert policy.message(PolicyReason.TOO_LONG, by_passgate=False, ascii_only=False) == (
        "The new password must be at most 20 bytes long" + BYTES
    )
    # passgate refused (its own limits count characters): never bytes.
    assert policy.message(PolicyReason.TOO_SHORT, ascii_only=False) == (
        "The new password must be at least 10 characters."
    )


def test_character_limits_keep_their_wording() -> None:
    """389-DS and AD are not measured here: their limits stay characters."""
    policy = EffectivePolicy.of(LocalPolicy(), DirectoryPolicy("cn=p", min_length=12))
    assert policy.message(PolicyReason.TOO_SHORT, by_passgate=False) == (
        "The new password must be at least 12 characters."
    )
    assert [r.message for r in policy.rules if r.reason is PolicyReason.TOO_SHORT] == [
        "The new password must be at least 12 characters."
    ]


# -- 7. durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (90, "1 minute and 30 seconds"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (90000, "1 day and 1 hour"),
        (90061, "1 day, 1 hour, 1 minute and 1 second"),
        (2 * 86400 + 120, "2 days and 2 minutes"),
    ],
)
def test_minimum_age_in_words(seconds: int, words: str) -> None:
    policy = EffectivePolicy.of(LocalPolicy(), DirectoryPolicy("cn=p", min_age_seconds=seconds))
    expected = (
        f"Your password was changed too recently: it can be changed again {words} "
        "after the last change."
    )
    assert policy.message(PolicyReason.TOO_YOUNG) == expected
    (rule,) = [r for r in policy.rules if r.reason is PolicyReason.TOO_YOUNG]
    assert rule.message == expected
