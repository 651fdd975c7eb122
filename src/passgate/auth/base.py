"""The caller model and the authenticator seam.

An authentication method is a :class:`CredentialVerifier` (a module of this
package: ``jwt.py`` bearer tokens, ``api_keys.py`` API keys) registered in
:func:`passgate.auth.authenticator.authenticator_from_settings`; the request's
credential for it is a field of :class:`Credentials`, read from the request
by one dependency of the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# Checked with fullmatch: $ alone also matches before a final line feed, and the
# directory ignores that line feed when it compares (the entry would be found).
OBJECT_ID = re.compile(r"^[a-fA-F0-9]{24}$")


class CallerKind(StrEnum):
    USER = "user"  # a person's token
    SERVICE = "service"  # a client-credentials (service-account) token
    API_KEY = "api_key"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. Holds no credential."""

    kind: CallerKind
    name: str
    user_id: str | None = None
    username: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def is_user(self, user_id: str) -> bool:
        """Whether this caller is the person with this userId (ids compare case-insensitively)."""
        return (
            self.kind is CallerKind.USER
            and self.user_id is not None
            and self.user_id.lower() == user_id.lower()
        )


@dataclass(frozen=True)
class Credentials:
    """What the request presented. ``repr`` never shows the values."""

    bearer_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)


class Authenticator(Protocol):
    def authenticate(self, credentials: Credentials) -> Caller:
        """Return the caller, or raise NoCredentials / InvalidCredentials."""
        ...

    def needs_io(self, credentials: Credentials) -> bool:
        """Whether authenticating these credentials may wait on the network (a JWKS fetch)."""
        ...


class CredentialVerifier(Protocol):
    """One authentication method: the credentials it handles, and how it checks them."""

    def handles(self, credentials: Credentials) -> bool:
        """Whether the request presented this method's kind of credential."""
        ...

    def needs_io(self, credentials: Credentials) -> bool:
        """Whether checking these credentials may wait on the network."""
        ...

    def authenticate(self, credentials: Credentials) -> Caller:
        """The caller, or InvalidCredentials."""
        ...
