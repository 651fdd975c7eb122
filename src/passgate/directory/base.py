"""The seams between the use case and a directory, and between a dialect and the directory.

The use case reads top to bottom::

    dn = directory.user_dn_for(user_id)
    with directory.bound_as(dn, old) as bound:   # the old password proven here
        rules.check(old, new, bound.names())     # passgate's own rules
        bound.set_password(new)                  # the directory's rules, then the change

Implementations raise only :mod:`passgate.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy


class BoundUser(Protocol):
    """A user's entry once the old password is proven (the bind succeeded).

    Lives only inside :meth:`Directory.bound_as`; it holds the old password
    for the change and forgets it when the block ends.
    """

    @property
    def dn(self) -> str: ...

    def names(self) -> list[str]:
        """Names of the person (username, and configured attributes such as cn, mail).

        Read when asked, so a change whose rules need no names reads nothing.
        """
        ...

    def set_password(self, new_password: str) -> None:
        """Set the new password as this user (the directory's own policy applies).

        Raises PasswordPolicyRejected with the directory's reason; a change
        whose answer was lost is settled before this returns or raises.
        """
        ...


class PoolStats(Protocol):
    """What the metrics read of a connection pool."""

    @property
    def idle(self) -> int: ...

    created: int
    discarded: int


class Directory(Protocol):
    """A user directory that can find users and change their password as them."""

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        """The DN of the one entry with this userId (UserNotFound, AmbiguousUser).

        May come from a short-lived cache; ``refresh`` asks the directory again.
        """
        ...

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        """The DN of the one entry with this username (UserNotFound, AmbiguousUser)."""
        ...

    def bound_as(self, dn: str, old_password: str) -> AbstractContextManager[BoundUser]:
        """Bind as ``dn`` with the old password; the block runs only if it is proven.

        Raises IncorrectOldPassword, AccountLocked, PasswordExpired, ... on entry.
        """
        ...

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        """The directory's password rules for this entry (``None``: its default ones)."""
        ...

    def failure_state(self, dn: str) -> FailureState | None:
        """The directory's lockout counter for this entry, read as the service account.

        ``None`` when it cannot be read (no right to the attributes, no policy
        found): the attempt limiter is then the only guard.
        """
        ...

    def ping(self) -> None:
        """Raise (DirectoryUnavailable, ...) unless the directory answers the service account."""
        ...

    def instrument(self, observe: Callable[[str, float], None]) -> Mapping[str, PoolStats]:
        """Report each LDAP operation's duration to ``observe(operation, seconds)``;
        return the connection pools by name, for their gauges (none for a fake)."""
        ...

    def close(self) -> None:
        """Release open connections; the directory opens new ones on next use."""
        ...


class EntryReader(Protocol):
    """Reads an entry's attributes as the service account (what a dialect may ask)."""

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        """The entry's values, or None when it cannot be read."""
        ...
