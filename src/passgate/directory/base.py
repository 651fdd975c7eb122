"""The seam between the use case and a directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from passgate.policy.model import DirectoryPolicy


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

    def change_password(
        self,
        dn: str,
        old_password: str,
        new_password: str,
        check_new: Callable[[], None] | None = None,
    ) -> None:
        """Verify the old password by binding as ``dn``, then set the new one as that user.

        ``check_new`` runs once the old password is proven and before the directory
        is asked to set the new one (passgate's own rules); it raises to stop.
        """
        ...

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        """The directory's password rules for this entry (``None``: its default ones)."""
        ...

    def ping(self) -> None:
        """Raise (DirectoryUnavailable, ...) unless the directory answers the service account."""
        ...

    def names_of(self, dn: str) -> list[str]:
        """Names of the person (username, and configured attributes such as cn, mail)."""
        ...
