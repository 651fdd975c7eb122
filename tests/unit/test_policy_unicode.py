"""The name rule and the character classes on text beyond ASCII."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passgate.errors import PasswordPolicyRejected, PolicyReason
from passgate.policy.local import LocalRules, name_tokens
from passgate.policy.model import LocalPolicy


def refused(rules: LocalRules, new: str, names: list[str] | None = None) -> PolicyReason | None:
    try:
        rules.check("Old-Passw0rd!", new, names or [])
    except PasswordPolicyRejected as refusal:
        caught = refusal
    else:
        return None
    assert caught.by_passgate
    assert new not in str(caught)
    assert new not in caught.log_message
    return caught.reason


def fullwidth(text: str) -> str:
    """ASCII letters as their fullwidth forms ("A" -> U+FF21)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


DOTLESS_I = "\u0131"


NFD = unicodedata.normalize("NFD", "MÜLLER-Garten-42!")


@pytest.mark.parametrize(
    ("label", "names", "new"),
    [
        ("NFC name, NFC password", ["José Müller", "Müller"], "MÜLLER-Garten-42!"),
        ("NFC name, NFD password", ["José Müller", "Müller"], NFD),
        ("NFD name, NFC password", [unicodedata.normalize("NFD", "Müller")], "MÜLLER-x-42!"),
        ("fullwidth", ["Anna Smith", "Smith"], fullwidth("SMITH") + "-garten-42!"),
        ("zero-width joiner", ["Anna Smith", "Smith"], "Smi\u200dth-garten-42!"),
        ("zero-width joiner in the name", ["Smi\u200dth"], "SMITH-garten-42!"),
        ("soft hyphen", ["Anna Smith", "Smith"], "Smi\u00adth-garten-42!"),
        ("Turkish dotted capital I", ["İrem Y" + DOTLESS_I + "lmaz"], "IREM-garten-42!"),
        ("without the accent", ["José Müller", "Müller"], "Muller-garten-42!"),
        ("sharp s", ["Anna Strauß", "Strauß"], "STRAUSS-garten-42!"),
        ("right-to-left mark", ["محمد علي"], "محمد\u200f-garten-42!"),
    ],
)
def test_the_name_rule_compares_normalised_text(label: str, names: list[str], new: str) -> None:
    assert refused(LocalRules(LocalPolicy()), new, names) is PolicyReason.CONTAINS_USERNAME, label


@pytest.mark.parametrize(
    ("names", "new"),
    [
        (["Anna Smith"], "Smyth-garten-42!"),
        (["Jo Li"], "Jo-is-here-123"),  # tokens under 3 characters
        (["José Müller"], "Mu-ller-garten-42!"),  # split by punctuation: no name
        (["ahopper@example.org"], "example-org-99"),
    ],
)
def test_the_name_rule_still_lets_other_passwords_through(names: list[str], new: str) -> None:
    assert refused(LocalRules(LocalPolicy()), new, names) is None


def test_name_tokens_are_folded_and_keep_their_marks() -> None:
    assert name_tokens([fullwidth("SMITH-Jones")], 3) == {"smith-jones", "smith", "jones"}
    # A decomposed name is not split at its combining mark.
    assert name_tokens([unicodedata.normalize("NFD", "Müller")], 3) == {"müller"}


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("Cafe\u0301\u0301Abc12xyz", PolicyReason.QUALITY),  # marks are no symbols
        ("Cafe\u200d\u200dAbc12xyz", PolicyReason.QUALITY),  # nor format characters
        ("Cafe!\u0301Abc12xyz", PolicyReason.QUALITY),  # one symbol and a mark
        ("Cafe!?Abc12xyz", None),
        ("Café €Abc12xyz", None),  # a space and a currency sign are symbols
    ],
)
def test_only_real_symbols_count_as_symbols(new: str, expected: PolicyReason | None) -> None:
    rules = LocalRules(LocalPolicy(min_symbols=2, min_digits=2, min_uppercase=1))
    assert refused(rules, new) is expected


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_ascii_shortcuts_agree_with_the_general_path(text: str) -> None:
    """ASCII text (the common case) skips normalisation: the result must be the same."""
    from passgate.policy import local

    general_fold = unicodedata.normalize("NFKC", text.casefold())
    assert local.fold(text) == general_fold
    assert local.bare(general_fold) == general_fold
    general_split = [p for p in re.split(r"[^\w]|_", text) if p]
    assert local._split(text) == general_split
    symbols = sum(local.is_symbol(c) for c in text)
    assert symbols == sum(not c.isalnum() and c.isprintable() for c in text)
