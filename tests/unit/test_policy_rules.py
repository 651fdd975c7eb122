"""passgate's local password rules, the forbidden list, the policy readers and messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from passgate.directory.dialects.ad import ActiveDirectoryDialect, domain_of
from passgate.directory.dialects.ds389 import Ds389Dialect
from passgate.directory.dialects.openldap import OpenLdapDialect
from passgate.errors import PasswordPolicyRejected, PolicyReason
from passgate.policy.local import ForbiddenPasswords, LocalRules, name_tokens
from passgate.policy.model import DirectoryPolicy, EffectivePolicy, LocalPolicy


def refused(
    rules: LocalRules, new: str, old: str = "Old-Passw0rd!", names: list[str] | None = None
) -> PolicyReason | None:
    try:
        rules.check(old, new, names or [])
    except PasswordPolicyRejected as refusal:
        caught = refusal
    else:
        return None
    assert caught.by_passgate
    return caught.reason


def test_lengths() -> None:
    rules = LocalRules(LocalPolicy(min_length=12, max_length=20))
    assert refused(rules, "Eleven-char") is PolicyReason.TOO_SHORT
    assert refused(rules, "x" * 21) is PolicyReason.TOO_LONG
    assert refused(rules, "Twelve-chars") is None


def test_same_as_old_by_setting() -> None:
    assert refused(LocalRules(LocalPolicy()), "Old-Passw0rd!") is PolicyReason.SAME_AS_OLD
    assert refused(LocalRules(LocalPolicy(same_as_old=False)), "Old-Passw0rd!") is None


@pytest.mark.parametrize(
    ("new", "names", "expected"),
    [
        ("My-ALICE-pass1", ["alice"], PolicyReason.CONTAINS_USERNAME),  # case-insensitive
        ("Liddell-2024-x", ["Alice Liddell"], PolicyReason.CONTAINS_USERNAME),  # a token of cn
        (
            "ahopper-99-zz",
            ["ahopper@example.org"],
            PolicyReason.CONTAINS_USERNAME,
        ),  # mail local part
        ("example-org-99", ["ahopper@example.org"], None),  # not the domain
        ("Jo-is-here-123", ["Jo Li"], None),  # tokens under 3 characters are ignored
        ("Straße-und-123", ["STRASSE"], PolicyReason.CONTAINS_USERNAME),  # casefold
        ("Unrelated-Passw0rd", ["alice"], None),
    ],
)
def test_contains_username(new: str, names: list[str], expected: PolicyReason | None) -> None:
    assert refused(LocalRules(LocalPolicy()), new, names=names) is expected


def test_contains_username_off() -> None:
    rules = LocalRules(LocalPolicy(contains_username=False))
    assert refused(rules, "alice-Passw0rd", names=["alice"]) is None


def test_name_tokens() -> None:
    assert name_tokens(["Mary-Jane Watson", "mj@x.org"], 3) == {
        "mary-jane watson",
        "mary",
        "jane",
        "watson",
    }


def test_character_classes() -> None:
    rules = LocalRules(LocalPolicy(min_uppercase=1, min_digits=2, min_symbols=1, min_lowercase=1))
    assert refused(rules, "nouppercase-12") is PolicyReason.QUALITY
    assert refused(rules, "One-Digit-only-1") is PolicyReason.QUALITY
    assert refused(rules, "NoSymbols12ab") is PolicyReason.QUALITY
    assert refused(rules, "Fine-Passw0rd-9") is None


def test_strength_uses_zxcvbn_with_the_names() -> None:
    rules = LocalRules(LocalPolicy(min_strength=3, contains_username=False))
    assert refused(rules, "password123") is PolicyReason.TOO_WEAK
    assert refused(rules, "correct-horse-battery-staple-42") is None


@pytest.mark.parametrize("length", [72, 73, 100, 128])
def test_strength_of_a_password_longer_than_zxcvbn_takes(length: int) -> None:
    """zxcvbn 4.5 refuses more than 72 characters (ValueError): the first 72 are scored."""
    rules = LocalRules(LocalPolicy(min_strength=3, contains_username=False))
    assert refused(rules, ("Tr0ub4dor&3-correct-horse-" * 5)[:length]) is None
    assert refused(rules, "a" * length) is PolicyReason.TOO_WEAK


def test_forbidden_list_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("Password1!\n\n  Summer2024!  \nqwertyuiop\n")
    forbidden = ForbiddenPasswords.load(path)
    assert len(forbidden) == 3
    rules = LocalRules(LocalPolicy(forbidden_list=True), forbidden)
    assert refused(rules, "PASSWORD1!") is PolicyReason.TOO_WEAK
    assert refused(rules, "summer2024!") is PolicyReason.TOO_WEAK
    assert refused(rules, "Something-else-1") is None


def test_forbidden_list_is_compact() -> None:
    forbidden = ForbiddenPasswords.from_lines(f"password-{n}" for n in range(200_000))
    assert "PASSWORD-199999" in forbidden
    assert "password-200000" not in forbidden
    # 8 bytes a password (an array of digests), not a set of strings.
    assert sys.getsizeof(forbidden._digests) < 200_000 * 8 + 1024


class Entries:
    def __init__(self, entries: dict[str, dict[str, list[str]]]) -> None:
        self.entries = entries

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        return self.entries.get(dn)


def test_openldap_policy_from_subentry_or_default() -> None:
    entries = Entries(
        {
            "uid=a": {"pwdPolicySubentry": ["cn=strict"]},
            "uid=b": {},
            "cn=strict": {"pwdMinLength": ["14"], "pwdInHistory": ["7"], "pwdCheckQuality": ["2"]},
            "cn=default": {
                "pwdMinLength": ["10"],
                "pwdCheckQuality": ["0"],
                "pwdMaxAge": ["86400"],
            },
        }
    )
    strict = OpenLdapDialect().read_policy(entries, "uid=a", "cn=default")
    assert strict == DirectoryPolicy(
        "cn=strict", min_length=14, history=7, quality_check=True, lengths_in_bytes=True
    )
    default = OpenLdapDialect().read_policy(entries, "uid=b", "cn=default")
    # pwdCheckQuality 0: slapd ignores pwdMinLength, so it is not reported.
    assert default == DirectoryPolicy(
        "cn=default", max_age_seconds=86400, quality_check=False, lengths_in_bytes=True
    )
    assert OpenLdapDialect().read_policy(entries, "uid=b", None) is None


def test_389_policy_switches() -> None:
    entries = Entries(
        {
            "uid=a": {},
            "cn=config": {
                "passwordminlength": ["12"],
                "passwordinhistory": ["6"],
                "passwordhistory": ["off"],
                "passwordchecksyntax": ["on"],
                "passwordmaxfailure": ["3"],
                "passwordlockout": ["on"],
            },
        }
    )
    found = Ds389Dialect().read_policy(entries, "uid=a", None)
    assert found == DirectoryPolicy(
        "cn=config", min_length=12, history=0, quality_check=True, max_failures=3
    )


def test_ad_domain_policy() -> None:
    entries = Entries(
        {
            "DC=corp,DC=example": {
                "minPwdLength": ["7"],
                "pwdHistoryLength": ["24"],
                "pwdProperties": ["1"],
                "minPwdAge": ["-864000000000"],
                "maxPwdAge": ["-9223372036854775808"],
                "lockoutThreshold": ["0"],
            }
        }
    )
    found = ActiveDirectoryDialect().read_policy(
        entries, "CN=Ann,OU=Staff,DC=corp,DC=example", None
    )
    assert found == DirectoryPolicy(
        "DC=corp,DC=example",
        min_length=7,
        history=24,
        min_age_seconds=86400,
        max_age_seconds=None,
        quality_check=True,
        max_failures=0,
    )
    assert domain_of("CN=x\\,y,CN=Users,DC=a,DC=b") == "DC=a,DC=b"


def test_messages_name_the_limit() -> None:
    policy = EffectivePolicy.of(
        LocalPolicy(min_length=8), DirectoryPolicy("cn=p", min_length=12, history=1)
    )
    assert (
        policy.message(PolicyReason.TOO_SHORT) == "The new password must be at least 12 characters."
    )
    assert policy.message(PolicyReason.IN_HISTORY) == (
        "The new password must not be one of your last 1 password."
    )
    unknown = EffectivePolicy.of(LocalPolicy(), None)
    assert unknown.message(PolicyReason.TOO_SHORT, by_passgate=False) == (
        "The new password is shorter than the directory allows."
    )
    assert (
        unknown.message(PolicyReason.IN_HISTORY)
        == "The new password must not be one you used before."
    )
    assert (
        unknown.message(PolicyReason.DIRECTORY_REJECTED)
        == "The directory refused the new password."
    )
