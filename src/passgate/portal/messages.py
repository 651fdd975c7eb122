"""The page's words: one JSON catalogue per language in ``messages/``, picked by Accept-Language.

Adding a language is adding ``messages/<tag>.json`` with the keys of
``en.json`` (a missing key falls back to English, so a partial catalogue
still works).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

CATALOGUES = Path(__file__).parent / "messages"
DEFAULT = "en"


@functools.cache
def catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue, by language tag (the file's name), read once."""
    found = {}
    for path in sorted(CATALOGUES.glob("*.json")):
        found[path.stem.lower()] = json.loads(path.read_text(encoding="utf-8"))
    return found


QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")  # RFC 9110 12.4.2


def _quality(params: list[str]) -> float | None:
    """The ``q`` parameter (any case, wherever it stands), 1 without one; None if malformed."""
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if QVALUE.fullmatch(value) else None
    return 1.0


def negotiate(accept_language: str | None) -> str:
    """The best catalogue for an ``Accept-Language`` header (RFC 9110 12.5.4), else English."""
    known = catalogues()
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, *params = item.strip().split(";")
        quality = _quality(params)
        if tag and quality is not None and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in known:
                return candidate
    return DEFAULT


@dataclass(frozen=True)
class Messages:
    """One language's catalogue: ``messages("key", n=3)`` is the text with its values filled in."""

    language: str

    def __call__(self, key: str, **values: object) -> str:
        table = catalogues()
        text = table.get(self.language, {}).get(key) or table[DEFAULT].get(key, key)
        return text.format(**values) if values else text

    def duration(self, seconds: int) -> str:
        """``90`` -> "2 minutes": the largest unit that fits, rounded up (a wait, never shorter)."""
        units = (("day", 86400), ("hour", 3600), ("minute", 60))
        unit, size = next(((u, s) for u, s in units if seconds >= s), ("second", 1))
        count = max(-(-seconds // size), 1)
        return self(f"duration.{unit}") if count == 1 else self(f"duration.{unit}s", n=count)


def messages_for(accept_language: str | None) -> Messages:
    return Messages(negotiate(accept_language))
