"""The use case: change a user's password, old password required.

Knows nothing of HTTP. The directory decides every password rule; this
layer only sequences the steps (lookup, verify-and-set) and records the
outcome for operators, never a password.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from passgate.auth.base import Caller
from passgate.directory.base import Directory
from passgate.errors import UserNotFound

log = logging.getLogger(__name__)


class PasswordService:
    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def change_password(self, user_id: str, old: SecretStr, new: SecretStr) -> None:
        """Change the password of the entry with this userId (404 if none)."""
        dn = self._directory.user_dn_for(user_id)
        self._change(dn, old, new)

    def change_password_by_username(self, username: str, old: SecretStr, new: SecretStr) -> None:
        """Change the password of the entry with this username (404 if none)."""
        dn = self._directory.user_dn_for_username(username)
        self._change(dn, old, new)

    def change_password_for_caller(self, caller: Caller, old: SecretStr, new: SecretStr) -> None:
        """Change the caller's own password: found by user-id claim, else by username."""
        self._change(self._dn_of(caller), old, new)

    def _dn_of(self, caller: Caller) -> str:
        if caller.user_id:
            try:
                return self._directory.user_dn_for(caller.user_id)
            except UserNotFound:
                if not caller.username:
                    raise
        if caller.username:
            return self._directory.user_dn_for_username(caller.username)
        raise UserNotFound(f"{caller.kind} {caller.name} names no directory user")

    def _change(self, dn: str, old: SecretStr, new: SecretStr) -> None:
        self._directory.change_password(dn, old.get_secret_value(), new.get_secret_value())
        log.info("password changed for %s", dn)
