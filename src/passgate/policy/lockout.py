"""The directory's own lockout counter for one entry, and when one more failure locks it.

passgate must never be the reason an account is locked. Before it binds
with an old password it reads, as the service account, how many failures
the directory already counts for the entry (whoever made them: Keycloak
logins, other applications, passgate) and the threshold of the policy that
applies; when one more failure could lock the account, it refuses (429 /
4029) without binding. Each dialect knows where its directory keeps these
(OpenLDAP ``pwdFailureTime``, 389's ``passwordRetryCount``, AD's
``badPwdCount``); this module only decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class FailureState:
    """What the directory counts for one entry now."""

    failures: int  # failed binds the directory counts towards the lockout now
    max_failures: int  # the lockout threshold that applies (0: the directory never locks)
    # Seconds until one more failure could no longer lock (enough counted failures
    # have aged out), or when none could lock yet until the oldest ages out; None: only
    # a successful bind or an administrator resets it (or, pwdMaxFailure 1, nothing).
    resets_in: float | None = None
    locked: bool = False  # already locked (the bind would be refused anyway)
    source: str = ""  # where the numbers were read, for the log

    @property
    def one_more_locks(self) -> bool:
        """Whether a single further failure could reach the threshold."""
        return self.max_failures > 0 and self.failures + 1 >= self.max_failures

    def has_room(self, failures: int) -> bool:
        """Whether this many more failures, and one after them, stay below the threshold."""
        if self.locked:
            return False
        return self.max_failures <= 0 or self.failures + failures + 1 < self.max_failures

    def retry_after(self, fallback: float) -> int:
        """Whole seconds to wait before a failure could no longer lock (at least 1)."""
        wait = self.resets_in if self.resets_in is not None else fallback
        return max(1, math.ceil(wait))


# -- OpenLDAP and RFC servers: draft-behera ppolicy, as slapo-ppolicy implements it ------

# Operational attributes: a search returns them only when asked for by name.
PPOLICY_STATE_ATTRIBUTES = ("pwdFailureTime", "pwdAccountLockedTime", "pwdPolicySubentry")
PPOLICY_LOCKOUT_ATTRIBUTES = (
    "pwdMaxFailure",
    "pwdLockout",
    "pwdFailureCountInterval",
    "pwdLockoutDuration",
)
# pwdAccountLockedTime with this value: locked until an administrator unlocks it
# (draft-behera-ldap-password-policy-11, section 5.3.3; slapo-ppolicy(5)).
ADMINISTRATIVE_LOCK = "000001010000Z"

_GENERALIZED_TIME = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})$"
)


def generalized_time(value: str) -> float | None:
    """A GeneralizedTime (RFC 4517 section 3.3.13) as seconds since the epoch; None if not one.

    slapd writes ``pwdFailureTime`` with microseconds (``20261201001500.123456Z``).
    """
    match = _GENERALIZED_TIME.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError:  # month 13, year 0 (the administrative lock), ...
        return None
    seconds = moment.timestamp() + (float("0." + fraction) if fraction else 0.0)
    if zone != "Z":  # local time with an offset: UTC is that much earlier or later
        offset = int(zone[1:3]) * 3600 + int(zone[3:5]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds


def folded(values: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Attribute names folded to lower case (servers differ in the case they return)."""
    return {name.lower(): list(found) for name, found in values.items() if found}


def _number(values: dict[str, list[str]], name: str) -> int:
    try:
        return int(values.get(name.lower(), ["0"])[0])
    except ValueError:
        return 0


def ppolicy_failure_state(
    entry: Mapping[str, list[str]],
    policy: Mapping[str, list[str]],
    now: float,
    source: str = "",
) -> FailureState:
    """The failure state of an entry under a draft-behera policy, as slapo-ppolicy counts.

    - ``pwdLockout`` FALSE (its default), or no ``pwdMaxFailure``: never locks;
    - failures count when younger than ``pwdFailureCountInterval``, all of
      them when it is 0 (until the next successful bind);
    - ``pwdAccountLockedTime`` locks for ``pwdLockoutDuration`` seconds (0:
      until an administrator unlocks; ``000001010000Z``: likewise, always).

    A value that is not a time counts against the account (as a failure now,
    as a lock): the guard errs on the side of not binding.
    """
    values, rules = folded(entry), folded(policy)
    lockout_on = rules.get("pwdlockout", ["FALSE"])[0].strip().upper() == "TRUE"
    max_failures = max(0, _number(rules, "pwdMaxFailure")) if lockout_on else 0
    interval = max(0, _number(rules, "pwdFailureCountInterval"))
    duration = max(0, _number(rules, "pwdLockoutDuration"))

    times = [generalized_time(v) for v in values.get("pwdfailuretime", [])]
    counted = [now if t is None else t for t in times]
    if interval:
        counted = [t for t in counted if t > now - interval]
    resets_in = None
    if interval and counted:
        # Until one more failure could no longer lock: as many must age out as bring
        # the count below the threshold less one (more than the oldest alone when the
        # count is at or past the threshold, as after a lock that expired); else the
        # oldest.
        leaving = len(counted) - max_failures + 2 if max_failures else 1
        if leaving <= len(counted):
            resets_in = max(0.0, sorted(counted)[max(leaving, 1) - 1] + interval - now)

    locked = any(_locks(value, duration, now) for value in values.get("pwdaccountlockedtime", []))
    return FailureState(len(counted), max_failures, resets_in, locked, source)


def _locks(locked_time: str, duration: int, now: float) -> bool:
    """Whether a ``pwdAccountLockedTime`` value still locks the account."""
    since = generalized_time(locked_time)
    if locked_time.strip() == ADMINISTRATIVE_LOCK or since is None or duration == 0:
        return True
    return since + duration > now
