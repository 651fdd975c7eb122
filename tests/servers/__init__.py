"""Throwaway directory and store servers for the test suite (no pytest in here)."""

from __future__ import annotations

import secrets


def random_password() -> str:
    """Upper, lower, digit and special, 21 characters: meets 389's and AD's complexity rules."""
    return f"Pg-{secrets.token_hex(8)}-X9"
