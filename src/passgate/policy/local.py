"""passgate's own password rules, checked after the old password is proven and
before the directory is asked to set the new one. They never weaken the
directory's: both apply."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from passgate.config import PolicySettings
from passgate.errors import PasswordPolicyRejected, PolicyReason
from passgate.policy.model import LocalPolicy

log = logging.getLogger(__name__)

TOKEN_SPLIT = re.compile(r"[\W_]+")


class ForbiddenPasswords:
    """A list of refused passwords, compared case-insensitively.

    Kept as a sorted array of 64-bit digests (8 bytes a password, however
    long the file), searched by bisection: a 10-million-line list costs
    80 MB, not the gigabytes a set of strings would.
    """

    def __init__(self, digests: array[int]) -> None:
        self._digests = digests

    @staticmethod
    def digest(password: str) -> int:
        raw = hashlib.blake2b(password.strip().casefold().encode("utf-8"), digest_size=8)
        return int.from_bytes(raw.digest(), "big")

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> ForbiddenPasswords:
        digests = array("Q", sorted({cls.digest(line) for line in lines if line.strip()}))
        return cls(digests)

    @classmethod
    def load(cls, path: Path) -> ForbiddenPasswords:
        started = time.monotonic()
        with path.open(encoding="utf-8", errors="replace") as lines:
            made = cls.from_lines(lines)
        log.info(
            "forbidden passwords: %d from %s in %.1f s", len(made), path, time.monotonic() - started
        )
        return made

    def __contains__(self, password: object) -> bool:
        if not isinstance(password, str):
            return False
        wanted = self.digest(password)
        at = bisect_left(self._digests, wanted)
        return at < len(self._digests) and self._digests[at] == wanted

    def __len__(self) -> int:
        return len(self._digests)


def name_tokens(values: Iterable[str], min_length: int) -> set[str]:
    """Each value whole and split at punctuation; a mail address by its local part."""
    tokens: set[str] = set()
    for value in values:
        value = value.split("@", 1)[0] if "@" in value else value
        for token in [value, *TOKEN_SPLIT.split(value)]:
            token = token.casefold()
            if len(token) >= min_length:
                tokens.add(token)
    return tokens


# zxcvbn 4.5 raises ValueError past 72 characters (its matching grows with the square of
# the length); 4.4 took any length. A new password may have up to 128.
ZXCVBN_MAX_LENGTH = 72


def strength(password: str, user_inputs: list[str]) -> int:
    """zxcvbn's score, 0 (guessable) to 4 (very unguessable), of the first 72 characters.

    What follows them can only make a password harder to guess, never easier.
    """
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs)
    return int(result["score"])


def _refusal(reason: PolicyReason, rule: str) -> PasswordPolicyRejected:
    return PasswordPolicyRejected(reason, f"local rule: {rule}", by_passgate=True)


class LocalRules:
    def __init__(self, policy: LocalPolicy, forbidden: ForbiddenPasswords | None = None) -> None:
        self.policy = policy
        self._forbidden = forbidden

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> LocalRules:
        forbidden = None
        if settings.forbidden_file is not None:
            forbidden = ForbiddenPasswords.load(settings.forbidden_file)
        same = settings.model_dump(exclude={"name_attributes", "forbidden_file"})
        policy = LocalPolicy(
            **same,
            username_attributes=settings.name_attribute_list,
            forbidden_list=forbidden is not None,
        )
        return cls(policy, forbidden)

    @property
    def needs_names(self) -> bool:
        return self.policy.contains_username or self.policy.min_strength > 0

    def check(self, old: str, new: str, names: Iterable[str] = ()) -> None:
        """Raise PasswordPolicyRejected with the first rule ``new`` breaks."""
        p = self.policy
        if len(new) < p.min_length:
            raise _refusal(PolicyReason.TOO_SHORT, "too short")
        if len(new) > p.max_length:
            raise _refusal(PolicyReason.TOO_LONG, "too long")
        if p.same_as_old and new == old:
            raise _refusal(PolicyReason.SAME_AS_OLD, "same as old")
        name_list = [n for n in names if n]
        if p.contains_username:
            folded = new.casefold()
            if any(t in folded for t in name_tokens(name_list, p.min_token_length)):
                raise _refusal(PolicyReason.CONTAINS_USERNAME, "contains the user's name")
        counts = {
            "min_lowercase": sum(c.islower() for c in new),
            "min_uppercase": sum(c.isupper() for c in new),
            "min_digits": sum(c.isdigit() for c in new),
            "min_symbols": sum(not c.isalnum() for c in new),
        }
        if any(counts[name] < getattr(p, name) for name in counts):
            raise _refusal(PolicyReason.QUALITY, "character classes")
        if self._forbidden is not None and new in self._forbidden:
            raise _refusal(PolicyReason.TOO_WEAK, "forbidden list")
        if p.min_strength and strength(new, name_list) < p.min_strength:
            raise _refusal(PolicyReason.TOO_WEAK, "strength")
