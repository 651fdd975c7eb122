"""The effective password policy: what applies to one person, and how to say it."""

from __future__ import annotations

from dataclasses import dataclass, field

from passgate.errors import PolicyReason

TOO_SHORT, TOO_LONG = PolicyReason.TOO_SHORT, PolicyReason.TOO_LONG
IN_HISTORY, TOO_YOUNG = PolicyReason.IN_HISTORY, PolicyReason.TOO_YOUNG
QUALITY, SAME_AS_OLD = PolicyReason.QUALITY, PolicyReason.SAME_AS_OLD
CONTAINS_USERNAME, TOO_WEAK = PolicyReason.CONTAINS_USERNAME, PolicyReason.TOO_WEAK


@dataclass(frozen=True)
class DirectoryPolicy:
    """The directory's own rules for one entry, as far as they can be read (None: unknown)."""

    source: str  # where they were read: a policy DN, "cn=config", the domain
    min_length: int | None = None
    max_length: int | None = None
    history: int | None = None  # how many previous passwords are refused
    min_age_seconds: int | None = None
    max_age_seconds: int | None = None
    quality_check: bool | None = None  # the server checks syntax/complexity
    max_failures: int | None = None  # binds before lockout (0: no lockout)
    # How long the directory counts a failure towards the lockout, in seconds
    # (OpenLDAP pwdFailureCountInterval, 0: until a good bind; 389
    # passwordResetFailureCount; AD the lockout observation window).
    failure_window_seconds: int | None = None
    grace_logins: int | None = None  # binds allowed with an expired password (ppolicy grace)


@dataclass(frozen=True)
class LocalPolicy:
    """passgate's own rules (settings)."""

    min_length: int = 8
    max_length: int = 128
    same_as_old: bool = True
    contains_username: bool = True
    username_attributes: tuple[str, ...] = ()
    min_token_length: int = 3
    min_strength: int = 0  # zxcvbn score 0..4; 0: not checked
    min_lowercase: int = 0
    min_uppercase: int = 0
    min_digits: int = 0
    min_symbols: int = 0
    forbidden_list: bool = False


@dataclass(frozen=True)
class Rule:
    reason: PolicyReason
    source: str  # "local" or "directory"
    value: int | None
    message: str


CLASS_NAMES = {
    "min_lowercase": "lowercase letter",
    "min_uppercase": "uppercase letter",
    "min_digits": "digit",
    "min_symbols": "symbol",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return _plural(seconds // size, unit)
    return _plural(seconds, "second")


@dataclass(frozen=True)
class EffectivePolicy:
    """Both rule sets; where both bound the same thing, the stricter wins."""

    local: LocalPolicy
    directory: DirectoryPolicy | None = None
    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def of(cls, local: LocalPolicy, directory: DirectoryPolicy | None) -> EffectivePolicy:
        made = cls(local, directory)
        made.rules.extend(made._rules())
        return made

    @property
    def min_length(self) -> int:
        found = self.directory.min_length if self.directory else None
        return max(self.local.min_length, found or 0)

    @property
    def max_length(self) -> int:
        found = self.directory.max_length if self.directory else None
        return min(self.local.max_length, found) if found else self.local.max_length

    def _rules(self) -> list[Rule]:
        local, d = self.local, self.directory
        d = d or DirectoryPolicy(source="")
        stricter_min = bool(d.min_length and d.min_length > local.min_length)
        stricter_max = bool(d.max_length and d.max_length < local.max_length)
        found: list[tuple[PolicyReason, str, int | None, bool]] = [
            # (reason, source, value, applies)
            (TOO_SHORT, "directory" if stricter_min else "local", self.min_length, True),
            (TOO_LONG, "directory" if stricter_max else "local", self.max_length, True),
            (IN_HISTORY, "directory", d.history, bool(d.history)),
            (TOO_YOUNG, "directory", d.min_age_seconds, bool(d.min_age_seconds)),
            (QUALITY, "directory", None, bool(d.quality_check)),
            (SAME_AS_OLD, "local", None, local.same_as_old),
            (CONTAINS_USERNAME, "local", local.min_token_length, local.contains_username),
            (TOO_WEAK, "local", local.min_strength, bool(local.min_strength)),
        ]
        directory_quality = "The directory checks the password's quality."
        rules = [
            Rule(r, src, v, directory_quality if r is QUALITY else self.message(r))
            for r, src, v, on in found
            if on
        ]
        for name, label in CLASS_NAMES.items():
            count = getattr(local, name)
            if count:
                message = f"At least {_plural(count, label)}."
                rules.append(Rule(QUALITY, "local", count, message))
        if local.forbidden_list:
            message = "Not a commonly used or forbidden password."
            rules.append(Rule(TOO_WEAK, "local", None, message))
        return rules

    def message(self, reason: PolicyReason, *, by_passgate: bool = True) -> str:
        """A sentence that names the rule and, where known, its limit.

        ``by_passgate``: a local rule refused; else the directory did, and a limit
        passgate could not read is not guessed from its own.
        """
        d = self.directory
        if reason is PolicyReason.TOO_SHORT:
            if not by_passgate and (d is None or d.min_length is None):
                return "The new password is shorter than the directory allows."
            return f"The new password must be at least {_plural(self.min_length, 'character')}."
        if reason is PolicyReason.TOO_LONG:
            if not by_passgate and (d is None or d.max_length is None):
                return "The new password is longer than the directory allows."
            return f"The new password must be at most {_plural(self.max_length, 'character')}."
        if reason is PolicyReason.IN_HISTORY:
            if d is not None and d.history:
                last = _plural(d.history, "password")
                return f"The new password must not be one of your last {last}."
            return "The new password must not be one you used before."
        if reason is PolicyReason.TOO_YOUNG:
            if d is not None and d.min_age_seconds:
                return (
                    "Your password was changed too recently: it can be changed again "
                    f"{_duration(d.min_age_seconds)} after the last change."
                )
            return "Your password was changed too recently to be changed again yet."
        if reason is PolicyReason.QUALITY:
            wanted = [
                _plural(getattr(self.local, name), label)
                for name, label in CLASS_NAMES.items()
                if getattr(self.local, name)
            ]
            if wanted:
                return "The new password must contain at least " + ", ".join(wanted) + "."
            return "The new password does not meet the directory's quality rules."
        if reason is PolicyReason.SAME_AS_OLD:
            return "The new password must differ from the current one."
        if reason is PolicyReason.CONTAINS_USERNAME:
            return "The new password must not contain your user name or your name."
        if reason is PolicyReason.TOO_WEAK:
            if self.local.min_strength:
                return (
                    "The new password is too easy to guess (strength at least "
                    f"{self.local.min_strength} of 4 is required); a longer passphrase helps."
                )
            return "The new password is too easy to guess."
        return "The directory refused the new password."
