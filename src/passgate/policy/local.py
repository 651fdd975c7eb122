"""passgate's own password rules, checked after the old password is proven and
before the directory is asked to set the new one. They never weaken the
directory's: both apply."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from passgate.config import PolicySettings, env_name
from passgate.errors import ConfigurationError, PasswordPolicyRejected, PolicyReason
from passgate.policy.model import LocalPolicy

log = logging.getLogger(__name__)

FORBIDDEN_FILE = env_name("policy_forbidden_file")


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
        folded = unicodedata.normalize("NFC", password.strip()).casefold()
        raw = hashlib.blake2b(folded.encode("utf-8"), digest_size=8)
        return int.from_bytes(raw.digest(), "big")

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> ForbiddenPasswords:
        digests = array("Q", sorted({cls.digest(line) for line in lines if line.strip()}))
        return cls(digests)

    @classmethod
    def load(cls, path: Path) -> ForbiddenPasswords:
        """Read the list: UTF-8 (a byte-order mark is fine), one password a line.

        A file that cannot be read, is not UTF-8 (UTF-16, Latin-1 ...) or holds
        no password is a ConfigurationError: a list that silently refuses less
        than it says is worse than none. Lines with control characters (a NUL,
        as UTF-16 read as UTF-8 gives) are skipped with a warning. No message
        quotes a line: the file is full of passwords.
        """
        started = time.monotonic()
        skipped, first_skipped = 0, 0

        def usable(lines: Iterable[str]) -> Iterable[str]:
            nonlocal skipped, first_skipped
            for number, line in enumerate(lines, 1):
                line = line.strip()
                if line and not line.isprintable() and _has_control(line):
                    skipped += 1
                    first_skipped = first_skipped or number
                    continue
                yield line

        try:
            with path.open(encoding="utf-8-sig", errors="strict", newline=None) as lines:
                made = cls.from_lines(usable(lines))
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"{FORBIDDEN_FILE}: {path} is not UTF-8 text; save it as UTF-8"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigurationError(f"{FORBIDDEN_FILE}: cannot read {path}: {reason}") from None
        if skipped:
            log.warning(
                "forbidden passwords: skipped %d line(s) of %s with control characters "
                "(first: line %d)",
                skipped,
                path,
                first_skipped,
            )
        if not len(made):
            why = f" ({skipped} line(s) with control characters skipped)" if skipped else ""
            raise ConfigurationError(f"{FORBIDDEN_FILE}: {path} holds no password{why}")
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


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def fold(text: str) -> str:
    """Text as the name rule compares it: NFKC (a fullwidth letter is the plain one),
    without format characters (a zero-width joiner, a direction mark), case-folded."""
    if text.isascii():  # the common case, and each step is the identity but the case
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text.casefold())


def bare(folded: str) -> str:
    """A folded text without its combining marks: "müller" -> "muller", "i̇rem" -> "irem"."""
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not _is_mark(c)))


def _is_mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


ASCII_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def _split(text: str) -> list[str]:
    """Parts between anything that is no letter, digit or mark (punctuation, spaces, "_")."""
    if text.isascii():
        return [part for part in ASCII_SEPARATORS.split(text) if part]
    parts, current = [], []
    for c in text:
        if unicodedata.category(c)[0] in "LNM":
            current.append(c)
        elif current:
            parts.append("".join(current))
            current = []
    if current:
        parts.append("".join(current))
    return parts


def name_tokens(values: Iterable[str], min_length: int) -> set[str]:
    """Each value whole and split at punctuation, folded; a mail address by its local part."""
    tokens: set[str] = set()
    for value in values:
        value = value.split("@", 1)[0] if "@" in value else value
        value = fold(value)
        for token in [value, *_split(value)]:
            if len(token) >= min_length:
                tokens.add(token)
    return tokens


def contains_a_name(password: str, tokens: Iterable[str], min_length: int) -> bool:
    """Whether a name token is in the password, compared folded and again without marks."""
    folded = fold(password)
    plain = bare(folded)
    for token in tokens:
        if token in folded:
            return True
        stripped = bare(token)
        if len(stripped) >= min_length and stripped in plain:
            return True
    return False


def is_symbol(c: str) -> bool:
    """Not a letter, digit, mark (a combining accent), control or format character."""
    category = unicodedata.category(c)
    return category[0] not in "LNM" and category not in ("Cc", "Cf")


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
            tokens = name_tokens(name_list, p.min_token_length)
            if contains_a_name(new, tokens, p.min_token_length):
                raise _refusal(PolicyReason.CONTAINS_USERNAME, "contains the user's name")
        counts = {
            "min_lowercase": sum(c.islower() for c in new),
            "min_uppercase": sum(c.isupper() for c in new),
            "min_digits": sum(c.isdigit() for c in new),
            "min_symbols": sum(is_symbol(c) for c in new)
            if not new.isascii()
            else sum(not c.isalnum() and c.isprintable() for c in new),
        }
        if any(counts[name] < getattr(p, name) for name in counts):
            raise _refusal(PolicyReason.QUALITY, "character classes")
        if self._forbidden is not None and new in self._forbidden:
            raise _refusal(PolicyReason.TOO_WEAK, "forbidden list")
        if p.min_strength and strength(new, name_list) < p.min_strength:
            raise _refusal(PolicyReason.TOO_WEAK, "strength")
