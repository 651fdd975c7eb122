"""Reading OpenLDAP's (draft-behera ppolicy) failure state: pure parsing, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from passgate.directory.dialects.base import Dialect
from passgate.policy.lockout import FailureState, generalized_time, ppolicy_failure_state


def at(text: str) -> float:
    """Seconds since the epoch of an ISO time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-12-01T00:30:00")
POLICY = {
    "objectClass": ["device", "pwdPolicy"],
    "pwdMaxFailure": ["5"],
    "pwdLockout": ["TRUE"],
    "pwdFailureCountInterval": ["900"],
    "pwdLockoutDuration": ["900"],
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261201001500Z", at("2026-12-01T00:15:00")),
        ("20261201001500.123456Z", at("2026-12-01T00:15:00") + 0.123456),
        ("20261201001500,5Z", at("2026-12-01T00:15:00.5")),
        ("202612010015Z", at("2026-12-01T00:15:00")),  # minutes only
        ("20261201011500+0100", at("2026-12-01T00:15:00")),
        ("20261201001500-0030", at("2026-12-01T00:45:00")),
    ],
)
def test_generalized_time(value: str, expected: float) -> None:
    assert generalized_time(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value", ["", "yesterday", "2026120100Z1", "20261301001500Z", "000001010000Z"]
)
def test_generalized_time_refuses_what_is_not_a_time(value: str) -> None:
    assert generalized_time(value) is None


def state(entry: dict[str, list[str]], policy: dict[str, list[str]] | None = None) -> FailureState:
    return ppolicy_failure_state(entry, POLICY if policy is None else policy, NOW, "test")


def test_no_failures() -> None:
    assert state({}) == FailureState(0, 5, None, False, "test")


def test_failures_within_the_interval_count_and_reset_from_the_oldest() -> None:
    result = state(
        {
            "pwdFailureTime": [
                "20261201000000Z",  # 30 minutes ago: outside the 900 s interval
                "20261201001700.250000Z",  # 13 minutes ago
                "20261201002500Z",
            ]
        }
    )
    assert result.failures == 2
    assert result.max_failures == 5
    assert result.resets_in == pytest.approx(900 - 780 + 0.25)
    assert not result.locked
    assert not result.one_more_locks


def test_four_of_five_is_the_last_straw() -> None:
    result = state({"pwdfailuretime": [f"2026120100290{n}Z" for n in range(4)]})  # any case
    assert result.failures == 4
    assert result.one_more_locks
    assert result.retry_after(900) == 900 - 60 + 0  # the oldest (00:29:00) leaves at 00:44:00


def test_at_or_past_the_threshold_the_wait_is_until_enough_failures_leave() -> None:
    """After a lock expired, failures may still count: the oldest leaving is not enough.

    Before, Retry-After said when the oldest left; a client that waited that long
    was refused again.
    """
    times = ["20261201002000Z", "20261201002300Z", "20261201002600Z"]  # 10, 7, 4 min ago
    result = state({"pwdFailureTime": times}, policy={**POLICY, "pwdMaxFailure": ["3"]})
    assert result.failures == 3
    assert result.one_more_locks
    # Down to 1 (one more makes 2 < 3): two must leave; the second leaves at 00:38:00.
    assert result.resets_in == pytest.approx(8 * 60)
    five = state({"pwdFailureTime": [*times, "20261201002900Z"]})  # 4 of 5
    assert five.resets_in == pytest.approx(5 * 60)  # the oldest alone


def test_a_threshold_of_one_never_lets_a_bind_through_by_waiting() -> None:
    result = state({"pwdFailureTime": []}, policy={**POLICY, "pwdMaxFailure": ["1"]})
    assert result.one_more_locks
    assert result.resets_in is None  # no failure to wait for: the limiter's window says


def test_interval_zero_counts_every_failure_until_a_good_bind() -> None:
    result = state(
        {"pwdFailureTime": ["20200101000000Z", "20261201002900Z"]},
        {**POLICY, "pwdFailureCountInterval": ["0"]},
    )
    assert result.failures == 2
    assert result.resets_in is None
    assert result.retry_after(123) == 123


def test_interval_absent_means_zero() -> None:
    policy = {k: v for k, v in POLICY.items() if k != "pwdFailureCountInterval"}
    assert state({"pwdFailureTime": ["20200101000000Z"]}, policy).failures == 1


def test_lockout_off_never_locks() -> None:
    result = state({"pwdFailureTime": ["20261201002900Z"] * 9}, {**POLICY, "pwdLockout": ["FALSE"]})
    assert result.max_failures == 0
    assert not result.one_more_locks


@pytest.mark.parametrize(
    "policy", [{"objectClass": ["pwdPolicy"]}, {"pwdLockout": ["TRUE"]}, {"pwdMaxFailure": ["5"]}]
)
def test_no_threshold_or_lockout_absent_never_locks(policy: dict[str, list[str]]) -> None:
    assert state({"pwdFailureTime": ["20261201002900Z"] * 9}, policy).max_failures == 0


def test_locked_until_an_administrator_unlocks() -> None:
    assert state({"pwdAccountLockedTime": ["000001010000Z"]}).locked


def test_locked_for_the_duration() -> None:
    locked = {"pwdAccountLockedTime": ["20261201002000Z"]}  # 10 minutes ago
    assert state(locked).locked  # 900 s: 5 minutes to go
    assert not state(locked, {**POLICY, "pwdLockoutDuration": ["300"]}).locked
    assert state(locked, {**POLICY, "pwdLockoutDuration": ["0"]}).locked  # until unlocked


def test_unparsable_values_count_against_the_account() -> None:
    result = state(
        {"pwdFailureTime": ["garbage", "20261201002900Z"], "pwdAccountLockedTime": ["?"]}
    )
    assert result.failures == 2
    assert result.locked


class Reader:
    """A fake EntryReader: entries by DN, reads recorded."""

    def __init__(self, entries: dict[str, dict[str, list[str]]]) -> None:
        self.entries = entries
        self.asked: list[tuple[str, list[str]]] = []

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        self.asked.append((dn, attributes))
        entry = self.entries.get(dn)
        return None if entry is None else {k: v for k, v in entry.items() if k in attributes}


USER = "uid=u,ou=people,dc=example,dc=org"
DEFAULT = "cn=default,ou=policies,dc=example,dc=org"
OWN = "cn=own,ou=policies,dc=example,dc=org"


def test_the_reader_asks_for_operational_attributes_by_name_and_the_default_policy() -> None:
    reader = Reader({USER: {"pwdFailureTime": ["20261201002900Z"]}, DEFAULT: POLICY})
    result = Dialect().read_failure_state(reader, USER, DEFAULT, NOW)
    assert result is not None
    assert (result.failures, result.max_failures) == (1, 5)
    assert DEFAULT in result.source
    assert {"pwdFailureTime", "pwdAccountLockedTime", "pwdPolicySubentry"} <= set(
        reader.asked[0][1]
    )
    assert set(POLICY) <= set(reader.asked[1][1])


def test_the_reader_follows_the_entrys_own_policy() -> None:
    reader = Reader(
        {
            USER: {"pwdPolicySubentry": [OWN], "pwdFailureTime": ["20261201002900Z"]},
            DEFAULT: POLICY,
            OWN: {**POLICY, "pwdMaxFailure": ["2"]},
        }
    )
    result = Dialect().read_failure_state(reader, USER, DEFAULT, NOW)
    assert result is not None
    assert result.one_more_locks


@pytest.mark.parametrize(
    ("entries", "default"),
    [
        ({}, DEFAULT),  # the entry cannot be read
        ({USER: {}}, None),  # no policy named anywhere
        ({USER: {}}, DEFAULT),  # the policy cannot be read
        ({USER: {}, DEFAULT: {"objectClass": ["top", "domain"]}}, DEFAULT),  # not a pwdPolicy
    ],
)
def test_unreadable_is_none(entries: dict[str, dict[str, list[str]]], default: str | None) -> None:
    assert Dialect().read_failure_state(Reader(entries), USER, default, NOW) is None
