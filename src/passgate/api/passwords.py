"""Validation of the two password fields, shared by both endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from passgate.errors import FieldProblem

MIN_LENGTH = 8
MAX_LENGTH = 128


def password_field(
    fields: dict[str, Any], name: str, problems: list[FieldProblem]
) -> SecretStr | None:
    """The field as a SecretStr, or None with a problem recorded (never the value)."""
    value = fields.get(name)
    if value is None or value == "":
        problems.append(FieldProblem(name, "required"))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return None
    if len(value) < MIN_LENGTH:
        problems.append(FieldProblem(name, f"must be at least {MIN_LENGTH} characters"))
        return None
    if len(value) > MAX_LENGTH:
        problems.append(FieldProblem(name, f"must be at most {MAX_LENGTH} characters"))
        return None
    return SecretStr(value)
