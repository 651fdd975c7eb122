"""passgate check's lockout verdicts on a fake directory (both answers of the reader)."""

from __future__ import annotations

from typing import Any

from passgate.config import LimiterSettings
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.tools.check import lockout_verdicts

PSO = DirectoryPolicy("CN=strict,CN=Password Settings Container", max_failures=3)


class FakeDirectory:
    def __init__(self, state: FailureState | None, policy: DirectoryPolicy | None) -> None:
        self.state, self.policy = state, policy
        self.asked: list[str | None] = []

    def failure_state(self, dn: str) -> FailureState | None:
        return self.state

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        self.asked.append(dn)
        return self.policy if dn else None  # AD: no default policy without a user


def lines(directory: Any, vendor: str = "ad") -> list[str]:
    limiter = LimiterSettings()
    return [v.line() for v in lockout_verdicts(directory, vendor, "CN=Ann,DC=x", limiter)]


def test_unreadable_state_names_what_to_grant() -> None:
    found = lines(FakeDirectory(None, PSO))
    assert found[0].startswith("[WARN] directory failure state: cannot read badPwdCount")
    assert "CN=Password Settings Container,CN=System" in found[0]
    assert "falls back to its attempt limiter" in found[0]


def test_readable_state_and_the_users_policy_when_there_is_no_default() -> None:
    directory = FakeDirectory(FailureState(1, 3), PSO)
    found = lines(directory)
    assert found[0] == "[  OK] directory failure state: 1 failure(s) of 3 on CN=Ann,DC=x"
    assert directory.asked == [None, "CN=Ann,DC=x"]
    # A PSO threshold of 3 is within reach of the default limiter (3 per user).
    assert found[1].startswith(
        "[WARN] limiter below the directory's lockout: PASSGATE_LIMITER_USER_FAILURES=3 but "
        "the directory locks after 3 (CN=strict"
    )
    assert len(found) == 2  # AD: no expiry verdict (the service account sets expired ones)


def test_limiter_off_and_no_lockout() -> None:
    never = DirectoryPolicy("cn=config", max_failures=0)
    assert lines(FakeDirectory(FailureState(0, 0), never), "rhds")[1] == (
        "[  OK] limiter below the directory's lockout: the directory never locks (cn=config)"
    )
    unknown = lines(FakeDirectory(FailureState(0, 5), None), "rhds")
    assert unknown[1:] == [
        "[SKIP] limiter below the directory's lockout: the directory's lockout threshold is "
        "not readable",
        "[SKIP] expired passwords can be changed: the directory's password policy is not readable",
    ]
