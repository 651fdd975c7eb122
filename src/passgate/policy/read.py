"""Reading a directory's password policy entries into a :class:`DirectoryPolicy`.

Each vendor keeps its rules in other attributes; the tables here say which,
and the dialects say where the entry is.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from dataclasses import dataclass

from passgate.policy.model import DirectoryPolicy


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


# slapd reads a policy number with lutil_atoi(): a C int. A value outside it
# fails, and slapd then applies no policy from that entry at all
# (slapo-ppolicy, ppolicy_get: "goto defaultpol").
C_INT_MIN, C_INT_MAX = -(2**31), 2**31 - 1


def _c_int(value: str) -> int | None:
    """A number the way the servers hold it (a 32-bit int); None: one they cannot read."""
    number = _int(value)
    return number if number is not None and C_INT_MIN <= number <= C_INT_MAX else None


def _positive_switch(value: str) -> bool | None:
    """``pwdCheckQuality``: only 1 and 2 check (slapd tests ``> 0``); -1 and 0 do not."""
    number = _c_int(value)
    return None if number is None else number > 0


def _on(value: str) -> bool:
    return value.strip().lower() in ("on", "true", "1", "2")


def _ad_interval(value: str) -> int | None:
    """AD ages: negative 100-nanosecond intervals; the minimum int64 means 'never'."""
    number = _int(value)
    if number is None or number <= -(2**63) + 1 or number == 0:
        return 0 if number == 0 else None
    return abs(number) // 10_000_000


FILETIME_UNIX_EPOCH = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01
TICKS_PER_SECOND = 10_000_000


def filetime_seconds(value: str | None) -> float | None:
    """An AD FILETIME (100 ns ticks since 1601, UTC) as seconds since the epoch; 0: never."""
    ticks = _int(value) if value else None
    if not ticks or ticks <= 0:
        return None
    return ticks / TICKS_PER_SECOND - FILETIME_UNIX_EPOCH


def generalized_time(value: str | None) -> float | None:
    """``20261201004954Z`` (GeneralizedTime, UTC, as 389-DS writes it) in epoch seconds."""
    if not value:
        return None
    digits = value.strip().rstrip("Zz").split(".")[0]
    try:
        return float(calendar.timegm(time.strptime(digits[:14], "%Y%m%d%H%M%S")))
    except ValueError:
        return None


def ad_interval(value: str | None) -> int | None:
    """An AD duration (negative 100 ns ticks) in seconds; None: 'never' or unreadable."""
    return _ad_interval(value) if value else None


@dataclass(frozen=True)
class Field:
    name: str  # DirectoryPolicy field
    attribute: str
    parse: Callable[[str], object] = _c_int


OPENLDAP_FIELDS = (
    Field("min_length", "pwdMinLength"),
    Field("max_length", "pwdMaxLength"),
    Field("history", "pwdInHistory"),
    Field("min_age_seconds", "pwdMinAge"),
    Field("max_age_seconds", "pwdMaxAge"),
    Field("quality_check", "pwdCheckQuality", _positive_switch),
    Field("max_failures", "pwdMaxFailure"),
    Field("failure_window_seconds", "pwdFailureCountInterval"),
    Field("grace_logins", "pwdGraceAuthNLimit"),
)
DS389_FIELDS = (
    Field("min_length", "passwordMinLength"),
    Field("history", "passwordInHistory"),
    Field("min_age_seconds", "passwordMinAge"),
    Field("max_age_seconds", "passwordMaxAge"),
    Field("quality_check", "passwordCheckSyntax", _on),
    Field("max_failures", "passwordMaxFailure"),
    Field("failure_window_seconds", "passwordResetFailureCount"),
    Field("grace_logins", "passwordGraceLimit"),
)
DS389_SWITCHES = {  # a value counts only when its switch is on
    "history": "passwordHistory",
    "max_age_seconds": "passwordExp",
    "max_failures": "passwordLockout",
    "min_length": "passwordCheckSyntax",
}
AD_FIELDS = (
    Field("min_length", "minPwdLength"),
    Field("history", "pwdHistoryLength"),
    Field("min_age_seconds", "minPwdAge", _ad_interval),
    Field("max_age_seconds", "maxPwdAge", _ad_interval),
    Field("quality_check", "pwdProperties", lambda v: bool((_c_int(v) or 0) & 1)),
    Field("max_failures", "lockoutThreshold"),
    Field("failure_window_seconds", "lockOutObservationWindow", _ad_interval),
)
# A fine-grained password policy (PSO, msDS-PasswordSettings): the same rules, other names.
AD_PSO_FIELDS = (
    Field("min_length", "msDS-MinimumPasswordLength"),
    Field("history", "msDS-PasswordHistoryLength"),
    Field("min_age_seconds", "msDS-MinimumPasswordAge", _ad_interval),
    Field("max_age_seconds", "msDS-MaximumPasswordAge", _ad_interval),
    Field("quality_check", "msDS-PasswordComplexityEnabled", _on),
    Field("max_failures", "msDS-LockoutThreshold"),
    Field("failure_window_seconds", "msDS-LockoutObservationWindow", _ad_interval),
)


# A limit below 0 is none the server applies (slapd: a negative pwdMaxLength, history
# or age never binds; a negative pwdMinLength refuses every password): unknown, not shown.
LIMITS = frozenset({"min_length", "max_length", "history", "min_age_seconds", "max_age_seconds"})


def attributes_of(fields: tuple[Field, ...], extra: tuple[str, ...] = ()) -> list[str]:
    return [f.attribute for f in fields] + list(extra)


def first_values(entry: dict[str, list[str]]) -> dict[str, str]:
    """Attribute names folded to lower case (servers differ), first value each."""
    return {k.lower(): v[0] for k, v in entry.items() if v}


def policy_from(
    source: str,
    entry: dict[str, list[str]],
    fields: tuple[Field, ...],
    switches: dict[str, str] | None = None,
) -> DirectoryPolicy:
    values = first_values(entry)
    found: dict[str, object] = {}
    for f in fields:
        raw = values.get(f.attribute.lower())
        if raw is None:
            continue
        switch = (switches or {}).get(f.name, "").lower()
        # A switch that is present and off voids the number; an absent one is unknown.
        if switch and f.name != "quality_check" and not _on(values.get(switch, "on")):
            found[f.name] = 0 if f.name != "min_length" else None
            continue
        value = f.parse(raw)
        if f.name in LIMITS and isinstance(value, int) and value < 0:
            value = None
        found[f.name] = value
    return DirectoryPolicy(source=source, **found)  # type: ignore[arg-type]


def unreadable(entry: dict[str, list[str]], fields: tuple[Field, ...]) -> list[str]:
    """The attributes among ``fields`` whose first value is no number a server can hold."""
    values = first_values(entry)
    return [
        f.attribute
        for f in fields
        if f.parse in (_c_int, _positive_switch)
        and f.attribute.lower() in values
        and _c_int(values[f.attribute.lower()]) is None
    ]
