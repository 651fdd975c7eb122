"""The 389-DS and Active Directory readers of an entry's lockout counter, on fixed entries.

The values are the ones the real servers wrote (measured on 389-DS 2.3 and
Samba 4.17, see tests/scenarios/test_last_straw.py); ``now`` is fixed.
"""

from __future__ import annotations

from passgate.directory.dialects.ad import ActiveDirectoryDialect
from passgate.directory.dialects.ds389 import Ds389Dialect
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.policy.read import filetime_seconds, generalized_time

NOW = generalized_time("20261201004500Z") or 0.0
USER = "uid=ann,ou=people,dc=example,dc=test"
AD_USER = "CN=Ann,CN=Users,DC=corp,DC=example"
AD_DOMAIN = "DC=corp,DC=example"
PSO = "CN=strict,CN=Password Settings Container,CN=System,DC=corp,DC=example"


class Entries:
    """An EntryReader over fixed entries that, like a server, returns only what was asked."""

    def __init__(self, entries: dict[str, dict[str, list[str]]]) -> None:
        self.entries = entries
        self.asked: list[tuple[str, list[str]]] = []

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        self.asked.append((dn, attributes))
        entry = self.entries.get(dn)
        if entry is None:
            return None
        wanted = {a.lower() for a in attributes}
        return {k: v for k, v in entry.items() if k.lower() in wanted}


GLOBAL_389 = {
    "passwordLockout": ["on"],
    "passwordMaxFailure": ["5"],
    "passwordUnlock": ["on"],
    "passwordResetFailureCount": ["600"],
    "passwordLockoutDuration": ["3600"],
}


def ds389(user: dict[str, list[str]], config: dict[str, list[str]] | None = None) -> Entries:
    return Entries({USER: user, "cn=config": GLOBAL_389 if config is None else config})


def state_389(entries: Entries) -> FailureState | None:
    return Ds389Dialect().read_failure_state(entries, USER, None, NOW)


def test_generalized_time_and_filetime() -> None:
    assert generalized_time("19700101000000Z") == 0.0
    assert generalized_time("20261201004954Z") == NOW + 294
    assert generalized_time("garbage") is None
    assert filetime_seconds("0") is None
    assert filetime_seconds("116444736000000000") == 0.0
    assert filetime_seconds("116444736010000000") == 1.0


def test_389_counts_until_retry_count_reset_time() -> None:
    entries = ds389({"passwordRetryCount": ["4"], "retryCountResetTime": ["20261201004954Z"]})
    state = state_389(entries)
    assert state is not None
    assert (state.failures, state.max_failures, state.locked) == (4, 5, False)
    assert state.resets_in == 294
    assert state.one_more_locks
    # The counters are operational: asked for by name, with the policy pointer.
    assert {"passwordRetryCount", "retryCountResetTime", "accountUnlockTime"} <= set(
        entries.asked[0][1]
    )


def test_389_count_past_its_reset_time_is_zero() -> None:
    state = state_389(
        ds389({"passwordRetryCount": ["4"], "retryCountResetTime": ["20261201004000Z"]})
    )
    assert state is not None
    assert state.failures == 0
    assert not state.one_more_locks


def test_389_no_failures_yet() -> None:
    state = state_389(ds389({}))
    assert state is not None
    assert (state.failures, state.max_failures, state.locked) == (0, 5, False)


def test_389_locked_until_unlock_time() -> None:
    locked = state_389(
        ds389(
            {
                "passwordRetryCount": ["5"],
                "retryCountResetTime": ["20261201004954Z"],
                "accountUnlockTime": ["20261201013955Z"],
            }
        )
    )
    assert locked is not None
    assert locked.locked
    # After the unlock time the count still stands until retryCountResetTime.
    later = state_389(
        ds389(
            {
                "passwordRetryCount": ["5"],
                "retryCountResetTime": ["20261201005954Z"],
                "accountUnlockTime": ["20261201004000Z"],
            }
        )
    )
    assert later is not None
    assert not later.locked
    assert later.one_more_locks


def test_389_no_time_means_until_an_administrator_resets() -> None:
    config = {**GLOBAL_389, "passwordUnlock": ["off"]}
    state = state_389(
        ds389(
            {"passwordRetryCount": ["5"], "accountUnlockTime": ["19700101000000Z"]},
            config,
        )
    )
    assert state is not None
    assert state.locked


def test_389_lockout_off_never_locks() -> None:
    state = state_389(
        ds389({"passwordRetryCount": ["4"]}, {**GLOBAL_389, "passwordLockout": ["off"]})
    )
    assert state is not None
    assert state.max_failures == 0
    assert not state.one_more_locks


def test_389_user_policy_wins_and_unreadable_policy_is_unknown() -> None:
    local = "cn=strict,cn=nsPwPolicyContainer,dc=example,dc=test"
    entries = Entries(
        {
            USER: {"pwdpolicysubentry": [local], "passwordRetryCount": ["2"]},
            local: {"passwordLockout": ["on"], "passwordMaxFailure": ["3"]},
            "cn=config": GLOBAL_389,
        }
    )
    state = state_389(entries)
    assert state is not None
    assert (state.failures, state.max_failures) == (2, 3)
    assert state.one_more_locks
    # A policy the service account cannot read: unknown, never the global one instead.
    del entries.entries[local]
    assert state_389(entries) is None
    # cn=config without the lockout attributes readable: unknown.
    assert state_389(ds389({}, {"passwordMinLength": ["10"]})) is None
    assert state_389(Entries({})) is None


# -- Active Directory ---------------------------------------------------------------------

MINUTES_30 = str(-30 * 60 * 10_000_000)


def filetime(seconds_since_epoch: float) -> str:
    return str(int((seconds_since_epoch + 11_644_473_600) * 10_000_000))


DOMAIN = {
    "lockoutThreshold": ["5"],
    "lockOutObservationWindow": [MINUTES_30],
    "lockoutDuration": [MINUTES_30],
}


def ad(user: dict[str, list[str]], extra: dict[str, dict[str, list[str]]] | None = None) -> Entries:
    return Entries({AD_USER: user, AD_DOMAIN: DOMAIN, **(extra or {})})


def state_ad(entries: Entries) -> FailureState | None:
    return ActiveDirectoryDialect().read_failure_state(entries, AD_USER, None, NOW)


def test_ad_bad_password_count_within_the_observation_window() -> None:
    entries = ad(
        {
            "badPwdCount": ["4"],
            "badPasswordTime": [filetime(NOW - 60)],
            "msDS-User-Account-Control-Computed": ["0"],
        }
    )
    state = state_ad(entries)
    assert state is not None
    assert (state.failures, state.max_failures, state.locked) == (4, 5, False)
    assert state.resets_in == 1800 - 60
    assert state.one_more_locks
    asked = {a.lower() for a in entries.asked[0][1]}
    assert {"badpwdcount", "badpasswordtime", "lockouttime", "msds-resultantpso"} <= asked


def test_ad_count_outside_the_window_is_zero() -> None:
    state = state_ad(ad({"badPwdCount": ["4"], "badPasswordTime": [filetime(NOW - 1801)]}))
    assert state is not None
    assert state.failures == 0
    assert not state.one_more_locks


def test_ad_locked_by_the_computed_flag_or_lockout_time() -> None:
    by_flag = state_ad(ad({"badPwdCount": ["5"], "msDS-User-Account-Control-Computed": ["16"]}))
    assert by_flag is not None
    assert by_flag.locked
    by_time = state_ad(ad({"badPwdCount": ["5"], "lockoutTime": [filetime(NOW - 60)]}))
    assert by_time is not None
    assert by_time.locked
    expired = state_ad(ad({"badPwdCount": ["0"], "lockoutTime": [filetime(NOW - 1801)]}))
    assert expired is not None
    assert not expired.locked


def test_ad_resultant_pso_decides_the_threshold() -> None:
    pso = {
        "msDS-LockoutThreshold": ["3"],
        "msDS-LockoutObservationWindow": [str(-3600 * 10_000_000)],
        "msDS-LockoutDuration": [str(-3600 * 10_000_000)],
    }
    entries = ad(
        {
            "badPwdCount": ["2"],
            "badPasswordTime": [filetime(NOW - 1900)],
            "msDS-ResultantPSO": [PSO],
        },
        {PSO: pso},
    )
    state = state_ad(entries)
    assert state is not None
    # The PSO's window (1 h) keeps a failure 1900 s old counting; the domain's would not.
    assert (state.failures, state.max_failures) == (2, 3)
    assert state.one_more_locks
    assert state.resets_in == 3600 - 1900
    # The PSO unreadable (AD's default: only administrators read PSOs): unknown.
    del entries.entries[PSO]
    assert state_ad(entries) is None


def test_ad_unreadable_counter_is_unknown() -> None:
    assert state_ad(ad({})) is None
    assert state_ad(Entries({AD_USER: {"badPwdCount": ["1"]}})) is None  # domain unreadable


def test_ad_policy_endpoint_reads_the_resultant_pso() -> None:
    pso = {
        "msDS-MinimumPasswordLength": ["14"],
        "msDS-PasswordHistoryLength": ["5"],
        "msDS-MinimumPasswordAge": [str(-86400 * 10_000_000)],
        "msDS-MaximumPasswordAge": ["-9223372036854775808"],
        "msDS-PasswordComplexityEnabled": ["TRUE"],
        "msDS-LockoutThreshold": ["3"],
        "msDS-LockoutObservationWindow": [str(-3600 * 10_000_000)],
    }
    domain = {**DOMAIN, "minPwdLength": ["10"], "pwdHistoryLength": ["3"], "pwdProperties": ["1"]}
    entries = Entries(
        {
            AD_USER: {"msDS-ResultantPSO": [PSO]},
            PSO: pso,
            AD_DOMAIN: domain,
            "CN=Bob,CN=Users,DC=corp,DC=example": {},
        }
    )
    dialect = ActiveDirectoryDialect()
    assert dialect.read_policy(entries, AD_USER, None) == DirectoryPolicy(
        PSO,
        min_length=14,
        history=5,
        min_age_seconds=86400,
        max_age_seconds=None,
        quality_check=True,
        max_failures=3,
        failure_window_seconds=3600,
    )
    plain = dialect.read_policy(entries, "CN=Bob,CN=Users,DC=corp,DC=example", None)
    assert plain is not None
    assert plain.source == AD_DOMAIN
    assert plain.min_length == 10
    del entries.entries[PSO]
    assert dialect.read_policy(entries, AD_USER, None) is None
