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
    # The directory counts min_length/max_length in UTF-8 bytes, not characters
    # (OpenLDAP's ppolicy compares the value's length, bv_len: "é" counts 2).
    lengths_in_bytes: bool = False


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


DURATION_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _duration(seconds: int) -> str:
    """``90061`` -> "1 day, 1 hour, 1 minute and 1 second": exact, in whole units."""
    parts: list[str] = []
    for unit, size in DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(_plural(count, unit))
    if len(parts) < 2:
        return parts[0] if parts else _plural(0, "second")
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _positive(value: int | None) -> int | None:
    """A directory limit that binds: a length, count or age of 0 or less is none (or unknown)."""
    return value if value is not None and value > 0 else None


# The same sentence for either unit; a byte limit says why "é" counts more than "e".
BYTES_NOTE = " (a letter such as é or Ж counts as 2, some characters as 3 or 4)"


def _at_least(n: int, in_bytes: bool = False) -> str:
    if in_bytes:
        return f"The new password must be at least {_plural(n, 'byte')} long{BYTES_NOTE}."
    return f"The new password must be at least {_plural(n, 'character')}."


def _at_most(n: int, in_bytes: bool = False) -> str:
    if in_bytes:
        return f"The new password must be at most {_plural(n, 'byte')} long{BYTES_NOTE}."
    return f"The new password must be at most {_plural(n, 'character')}."


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
    def _directory_min(self) -> int | None:
        return _positive(self.directory.min_length) if self.directory else None

    @property
    def _directory_max(self) -> int | None:
        return _positive(self.directory.max_length) if self.directory else None

    @property
    def _in_bytes(self) -> bool:
        return bool(self.directory and self.directory.lengths_in_bytes)

    @property
    def min_length(self) -> int:
        """The larger number; a directory's may count bytes (see ``lengths_in_bytes``)."""
        return max(self.local.min_length, self._directory_min or 0)

    @property
    def max_length(self) -> int:
        """The smaller number; a directory's may count bytes (see ``lengths_in_bytes``)."""
        found = self._directory_max
        return min(self.local.max_length, found) if found else self.local.max_length

    def _length_rules(self) -> list[Rule]:
        """The stricter of passgate's and the directory's limits, each way.

        Worded in characters, as people count: exact for ASCII. A directory
        that counts bytes (``lengths_in_bytes``) says so in the refusal of a
        password that is not ASCII, where the two differ (:meth:`message`).
        """
        local = self.local
        d_min, d_max = self._directory_min, self._directory_max
        short = "directory" if d_min is not None and d_min > local.min_length else "local"
        long = "directory" if d_max is not None and d_max < local.max_length else "local"
        return [
            Rule(TOO_SHORT, short, self.min_length, _at_least(self.min_length)),
            Rule(TOO_LONG, long, self.max_length, _at_most(self.max_length)),
        ]

    def _rules(self) -> list[Rule]:
        local, d = self.local, self.directory
        d = d or DirectoryPolicy(source="")
        history, min_age = _positive(d.history), _positive(d.min_age_seconds)
        found: list[tuple[PolicyReason, str, int | None, bool]] = [
            # (reason, source, value, applies)
            (IN_HISTORY, "directory", history, history is not None),
            (TOO_YOUNG, "directory", min_age, min_age is not None),
            (QUALITY, "directory", None, bool(d.quality_check)),
            (SAME_AS_OLD, "local", None, local.same_as_old),
            (CONTAINS_USERNAME, "local", local.min_token_length, local.contains_username),
            (TOO_WEAK, "local", local.min_strength, bool(local.min_strength)),
        ]
        directory_quality = "The directory checks the password's quality."
        rules = self._length_rules()
        rules.extend(
            Rule(r, src, v, directory_quality if r is QUALITY else self.message(r))
            for r, src, v, on in found
            if on
        )
        for name, label in CLASS_NAMES.items():
            count = getattr(local, name)
            if count:
                message = f"At least {_plural(count, label)}."
                rules.append(Rule(QUALITY, "local", count, message))
        if local.forbidden_list:
            message = "Not a commonly used or forbidden password."
            rules.append(Rule(TOO_WEAK, "local", None, message))
        return rules

    def message(
        self, reason: PolicyReason, *, by_passgate: bool = True, ascii_only: bool = True
    ) -> str:
        """A sentence that names the rule and, where known, its limit.

        ``by_passgate``: a local rule refused; else the directory did, and a limit
        passgate could not read is not guessed from its own. ``ascii_only``: the
        refused password was ASCII, so characters and bytes are the same count;
        else a directory that counts bytes has its limit said in bytes.
        """
        d = self.directory
        in_bytes = self._in_bytes and not ascii_only and not by_passgate
        if reason is PolicyReason.TOO_SHORT:
            if not by_passgate and self._directory_min is None:
                return "The new password is shorter than the directory allows."
            if in_bytes and self._directory_min is not None:
                return _at_least(self._directory_min, in_bytes=True)
            return _at_least(self.min_length)
        if reason is PolicyReason.TOO_LONG:
            if not by_passgate and self._directory_max is None:
                return "The new password is longer than the directory allows."
            if in_bytes and self._directory_max is not None:
                return _at_most(self._directory_max, in_bytes=True)
            return _at_most(self.max_length)
        history = _positive(d.history) if d else None
        min_age = _positive(d.min_age_seconds) if d else None
        if reason is PolicyReason.IN_HISTORY:
            if history is not None:
                last = _plural(history, "password")
                return f"The new password must not be one of your last {last}."
            return "The new password must not be one you used before."
        if reason is PolicyReason.TOO_YOUNG:
            if min_age is not None:
                return (
                    "Your password was changed too recently: it can be changed again "
                    f"{_duration(min_age)} after the last change."
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
