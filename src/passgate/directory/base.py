"""The seam between the use case and a directory."""

from __future__ import annotations

from typing import Protocol


class Directory(Protocol):
    """A user directory that can find users and change their password as them.

    Implementations raise only :mod:`passgate.errors` exceptions.
    """

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        """The DN of the one entry with this userId (UserNotFound, AmbiguousUser).

        May come from a short-lived cache; ``refresh`` asks the directory again.
        """
        ...

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        """The DN of the one entry with this username (UserNotFound, AmbiguousUser)."""
        ...

    def change_password(self, dn: str, old_password: str, new_password: str) -> None:
        """Verify the old password by binding as ``dn``, then set the new one as that user."""
        ...
