"""The use case: change a user's password, old password required.

Knows nothing of HTTP. The directory decides every password rule; this
layer only sequences the steps (lookup, verify-and-set) and records the
outcome for operators, never a password.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from passgate.directory.base import Directory

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

    def _change(self, dn: str, old: SecretStr, new: SecretStr) -> None:
        self._directory.change_password(dn, old.get_secret_value(), new.get_secret_value())
        log.info("password changed for %s", dn)
