"""The import's result, :class:`ImportedSettings`, and how it is written out (a ``.env`` file)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from passgate.tools.keycloak.names import BIND_CREDENTIAL

__all__ = ["ImportedSettings"]


@dataclass(frozen=True, repr=False)
class ImportedSettings:
    """The settings one Keycloak LDAP provider amounts to.

    ``settings`` maps ``PASSGATE_*`` names to values (the bind credential only
    when it was asked for); ``not_used`` maps Keycloak config keys passgate
    ignores to why; ``notes`` are things to check or set by hand (a note may
    span lines; a line like ``PASSGATE_X=...`` in one is a commented hint).
    """

    provider: str
    settings: dict[str, str]
    not_used: dict[str, str]
    notes: list[str]

    def __repr__(self) -> str:
        shown = {k: ("**********" if k == BIND_CREDENTIAL else v) for k, v in self.settings.items()}
        return (
            f"ImportedSettings(provider={self.provider!r}, settings={shown!r}, "
            f"not_used={self.not_used!r}, notes={self.notes!r})"
        )

    def to_env(self) -> str:
        """The settings as a ``.env`` file, notes and unused keys as comments."""
        lines = [
            f'# passgate settings from the Keycloak LDAP provider "{_one_line(self.provider)}"'
        ]
        for key, value in self.settings.items():
            if "${" in value:
                # .env readers (python-dotenv, so pydantic-settings) expand ${...}
                # even inside quotes, and there is no escape for it.
                shown = "" if key == BIND_CREDENTIAL else f" (the value: {_one_line(value)})"
                lines.append(
                    f'# {key} left out: its value contains "${{", which .env readers expand '
                    f"as a variable; set it in the environment instead{shown}"
                )
            else:
                lines.append(f"{key}={_env_value(value)}")
        if self.notes:
            lines.append("")
            for note in self.notes:
                lines.extend(f"# {line}".rstrip() for line in note.splitlines() or [""])
        if self.not_used:
            lines.append("")
            for key, reason in self.not_used.items():
                suffix = f" ({_one_line(reason)})" if reason else ""
                lines.append(f"# not used by passgate: {_one_line(key)}{suffix}")
        return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


_NEEDS_QUOTES = re.compile(r"""[\s#"'$\\]""")


def _env_value(value: str) -> str:
    """``value`` as a .env value: bare when safe, else double-quoted with escapes."""
    if not _NEEDS_QUOTES.search(value):
        return value
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'
