"""From a userId or a username to the LDAP query that finds the user's entry.

Mappers are pure: they build queries and run nothing, so they are tested
without a directory. Every value is escaped (RFC 4515 for filters, RFC 4514
for DNs) even though the API has validated it already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal, Protocol

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from passgate.config import LdapSettings
from passgate.errors import ConfigurationError

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


def _entry_filter(object_classes: list[str], custom: str | None) -> str:
    """Who counts as a user: the object classes and the operator's own filter (not escaped:
    it is a whole filter, validated by the settings)."""
    return _object_class_filter(object_classes) + (custom or "")


@dataclass(frozen=True)
class SearchMapper:
    """Search ``users_dn`` for ``(&(objectClass=...)<custom filter>(<attribute>=<value>))``."""

    users_dn: str
    object_classes: list[str]
    user_id_attribute: str
    username_attribute: str
    scope: Scope = "sub"
    custom_filter: str | None = None  # PASSGATE_LDAP_CUSTOM_USER_FILTER

    @property
    def entry_filter(self) -> str:
        """The conditions every user entry meets, without the ``(&...)`` around them."""
        return _entry_filter(self.object_classes, self.custom_filter)

    def _query(self, attribute: str, value: str) -> UserQuery:
        flt = f"(&{self.entry_filter}({attribute}={escape_filter_chars(value)}))"
        return UserQuery(self.users_dn, self.scope, flt)

    def query_for_user_id(self, user_id: str) -> UserQuery:
        return self._query(self.user_id_attribute, user_id)

    def query_for_username(self, username: str) -> UserQuery:
        return self._query(self.username_attribute, username)


@dataclass(frozen=True)
class TemplateMapper:
    """The DN is the template with ``{userId}`` replaced, e.g. ``uid={userId},ou=people,...``.

    The entry is still read (a base-scope search) so that a missing entry is
    a 404 and not a failed bind; the base search carries the object classes
    and the custom filter, so an entry outside them is a 404 too. Usernames are searched as with
    :class:`SearchMapper`, since a template names only the userId.
    """

    template: str
    by_username: SearchMapper

    @property
    def username_attribute(self) -> str:
        return self.by_username.username_attribute

    def query_for_user_id(self, user_id: str) -> UserQuery:
        dn = self.template.replace("{userId}", escape_rdn(user_id))
        return UserQuery(dn, "base", f"(&{self.by_username.entry_filter})")

    def query_for_username(self, username: str) -> UserQuery:
        return self.by_username.query_for_username(username)


# -- factories, registered as entry points (group ``passgate.mappers``) -----------------


def search_mapper(settings: LdapSettings) -> UserMapper:
    """The default: search the users DN for the user-id attribute (contract section 5)."""
    return SearchMapper(
        users_dn=settings.users_dn,
        object_classes=settings.object_classes,
        user_id_attribute=settings.user_id_attribute,
        username_attribute=settings.username_attribute,
        scope=settings.search_scope,
        custom_filter=settings.custom_user_filter,
    )


def template_mapper(settings: LdapSettings) -> UserMapper:
    """``PASSGATE_LDAP_USER_DN_TEMPLATE``: the DN made from the userId."""
    if not settings.user_dn_template:
        raise ConfigurationError(
            "PASSGATE_LDAP_USER_MAPPER=template needs PASSGATE_LDAP_USER_DN_TEMPLATE"
        )
    by_username = search_mapper(settings)
    assert isinstance(by_username, SearchMapper)
    return TemplateMapper(settings.user_dn_template, by_username)


MAPPER_GROUP = "passgate.mappers"


def available_mappers() -> dict[str, Callable[[LdapSettings], UserMapper]]:
    """Mapper factories by name; built-in ones register like a plugin would."""
    found: dict[str, Callable[[LdapSettings], UserMapper]] = {}
    for entry in entry_points(group=MAPPER_GROUP):
        found[entry.name] = entry.load()
    found.setdefault("search", search_mapper)  # a source tree that was never installed
    found.setdefault("template", template_mapper)
    return found


def mapper_from_settings(settings: LdapSettings) -> UserMapper:
    name = settings.user_mapper or ("template" if settings.user_dn_template else "search")
    mappers = available_mappers()
    if name not in mappers:
        raise ConfigurationError(
            f"PASSGATE_LDAP_USER_MAPPER: unknown mapper {name!r}; known: "
            + ", ".join(sorted(mappers))
        )
    return mappers[name](settings)
