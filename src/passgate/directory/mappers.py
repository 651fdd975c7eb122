"""From a userId or a username to the LDAP query that finds the user's entry.

Mappers are pure: they build queries and run nothing, so they are tested
without a directory. Every value is escaped (RFC 4515 for filters, RFC 4514
for DNs) even though the API has validated it already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

Scope = Literal["base", "one", "sub"]


@dataclass(frozen=True)
class UserQuery:
    """A search that must return exactly one entry: the user."""

    base: str
    scope: Scope
    filter: str


class UserMapper(Protocol):
    @property
    def username_attribute(self) -> str: ...

    def query_for_user_id(self, user_id: str) -> UserQuery: ...

    def query_for_username(self, username: str) -> UserQuery: ...


def _object_class_filter(object_classes: list[str]) -> str:
    return "".join(f"(objectClass={escape_filter_chars(c)})" for c in object_classes)


@dataclass(frozen=True)
class SearchMapper:
    """Search ``users_dn`` for ``(&(objectClass=...)(<attribute>=<value>))``."""

    users_dn: str
    object_classes: list[str]
    user_id_attribute: str
    username_attribute: str
    scope: Scope = "sub"

    def _query(self, attribute: str, value: str) -> UserQuery:
        classes = _object_class_filter(self.object_classes)
        flt = f"(&{classes}({attribute}={escape_filter_chars(value)}))"
        return UserQuery(self.users_dn, self.scope, flt)

    def query_for_user_id(self, user_id: str) -> UserQuery:
        return self._query(self.user_id_attribute, user_id)

    def query_for_username(self, username: str) -> UserQuery:
        return self._query(self.username_attribute, username)


@dataclass(frozen=True)
class TemplateMapper:
    """The DN is the template with ``{userId}`` replaced, e.g. ``uid={userId},ou=people,...``.

    The entry is still read (a base-scope search) so that a missing entry is
    a 404 and not a failed bind. Usernames are searched as with
    :class:`SearchMapper`, since a template names only the userId.
    """

    template: str
    by_username: SearchMapper

    @property
    def username_attribute(self) -> str:
        return self.by_username.username_attribute

    def query_for_user_id(self, user_id: str) -> UserQuery:
        dn = self.template.replace("{userId}", escape_rdn(user_id))
        return UserQuery(dn, "base", f"(&{_object_class_filter(self.by_username.object_classes)})")

    def query_for_username(self, username: str) -> UserQuery:
        return self.by_username.query_for_username(username)
