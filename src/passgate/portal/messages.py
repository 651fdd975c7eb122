"""The page's words: one JSON catalogue per language in ``messages/``, picked by Accept-Language.

Adding a language is adding ``messages/<tag>.json`` with the keys of
``en.json`` (a missing key falls back to English, so a partial catalogue
still works).
"""

from __future__ import annotations

import functools
import json
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


def negotiate(accept_language: str | None) -> str:
    """The best catalogue for an ``Accept-Language`` header (RFC 9110 12.5.4), else English."""
    known = catalogues()
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
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
