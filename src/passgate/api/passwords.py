"""Validation of the two password fields, shared by both endpoints."""

from __future__ import annotations

import re
from typing import Any

from pydantic import SecretStr

from passgate.errors import FieldProblem, ProblemKind

MIN_LENGTH = 8
MAX_LENGTH = 128
# C0 controls (NUL, TAB, CR, LF, ESC ...), DEL and the C1 controls (U+0080 to U+009F):
# nothing a person types as a password (C1 ones are what a Windows-1252 byte read as
# Latin-1 becomes), and NUL in particular is cut short by C-string APIs in some plug-ins.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def password_field(
    value: Any,
    name: str,
    problems: list[FieldProblem],
    *,
    min_length: int = MIN_LENGTH,
    max_length: int = MAX_LENGTH,
) -> SecretStr | None:
    """The value as a SecretStr, or None with a problem recorded (never the value)."""
    if value is None or value == "":
        problems.append(FieldProblem(name, "required", ProblemKind.REQUIRED))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string", ProblemKind.INVALID_TYPE))
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. "\ud800" in JSON: no LDAP string
        problems.append(FieldProblem(name, "must be valid Unicode text", ProblemKind.INVALID_TYPE))
        return None
    if CONTROL_CHARACTERS.search(value):
        problems.append(
            FieldProblem(name, "must not contain control characters", ProblemKind.INVALID_TYPE)
        )
        return None
    if len(value) < min_length:
        problems.append(
            FieldProblem(
                name, f"must be at least {min_length} characters", ProblemKind.INVALID_LENGTH
            )
        )
        return None
    if len(value) > max_length:
        problems.append(
            FieldProblem(
                name, f"must be at most {max_length} characters", ProblemKind.INVALID_LENGTH
            )
        )
        return None
    return SecretStr(value)
