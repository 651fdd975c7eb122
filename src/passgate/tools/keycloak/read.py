"""Reading Keycloak's data: which LDAP user federation provider, and its config.

One function per input shape, each returning an :class:`LdapFederation`
(the provider's name, its config as lists of strings, the realm around it):

- :func:`read_realm_export`: ``kc.sh export`` or the admin console's
  *Partial export*, a realm object whose
  ``components["org.keycloak.storage.UserStorageProvider"]`` lists providers,
  each ``config`` value a list of strings;
- :func:`read_components`: the bare components the admin REST API
  (``GET /admin/realms/R/components?type=org.keycloak.storage.UserStorageProvider``)
  and ``kcadm.sh get components`` return, one object or a list;
- :func:`read_keycloak_json`: whichever of the two the data is.

Pure: no network, no files (:mod:`.live` fetches components from a server).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "KeycloakImportError",
    "LdapFederation",
    "read_components",
    "read_keycloak_json",
    "read_realm_export",
]

USER_STORAGE = "org.keycloak.storage.UserStorageProvider"
LDAP_PROVIDER_ID = "ldap"


class KeycloakImportError(Exception):
    """The data cannot be imported; the message says what is wrong and what is there."""


@dataclass(frozen=True)
class LdapFederation:
    """One LDAP provider as Keycloak holds it, whatever shape it was read from.

    ``config`` maps Keycloak's config keys to their values, strings only, with
    the keys Keycloak writes as "not set" (``[]``, ``[""]``) left out; it may
    hold the bind credential, so ``repr`` leaves it out.
    """

    name: str
    config: dict[str, list[str]] = field(repr=False)
    realm: str | None = None  # the realm's name
    frontend_url: str | None = None  # the realm's frontendUrl attribute, without a final /


def read_realm_export(data: object, provider: str | None = None) -> LdapFederation:
    """The LDAP provider of a realm export (parsed JSON, or its text).

    ``provider`` is the provider's name (or id); it may be left out when the
    realm has exactly one LDAP provider. Raises ``KeycloakImportError`` saying
    what is wrong.
    """
    realm = _realm(data)
    name_value = realm.get("realm")
    realm_name = name_value if isinstance(name_value, str) and name_value else None
    where = f'realm "{realm_name}"' if realm_name else "the export"
    providers = _user_storage(realm)
    name, component = _choose(providers, provider, where)
    return LdapFederation(name, _config(component, name), realm_name, _frontend_url(realm))


def read_components(
    data: object,
    provider: str | None = None,
    realm: str | None = None,
    frontend_url: str | None = None,
) -> LdapFederation:
    """The LDAP provider among bare components (one object or a list; parsed JSON or text).

    The admin API knows nothing of the realm around them: ``realm`` and
    ``frontend_url`` say it when the caller knows (for the token hints).
    """
    data = _parsed(data, "Keycloak components")
    items: list[object] = list(data) if isinstance(data, list) else [data]
    components = [_str_keys(c) for c in items if isinstance(c, dict) and "providerId" in c]
    if not items or len(components) != len(items):
        raise KeycloakImportError(
            'not Keycloak components: expected an object with a "providerId" (or a list of '
            "them), as GET /admin/realms/R/components or kcadm.sh get components return"
        )
    # A list of every kind of component (no ?type=): keep the user federation ones.
    providers: list[Mapping[str, object]] = [
        c for c in components if c.get("providerType", USER_STORAGE) == USER_STORAGE
    ]
    # The subject of "... has no LDAP provider": one noun, whatever the shape.
    where = (
        f'realm "{realm}"'
        if realm
        else ("the component list" if isinstance(data, list) else "the component")
    )
    name, component = _choose(providers, provider, where)
    return LdapFederation(name, _config(component, name), realm, frontend_url)


def read_keycloak_json(data: object, provider: str | None = None) -> LdapFederation:
    """A realm export or bare components, told apart by their shape."""
    data = _parsed(data, "Keycloak JSON")
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and "providerId" in first and "realm" not in first:
        return read_components(data, provider)
    return read_realm_export(data, provider)


def _parsed(data: object, what: str) -> object:
    if isinstance(data, str | bytes | bytearray):
        try:
            return json.loads(data)
        except ValueError as exc:
            raise KeycloakImportError(f"not {what}: not JSON ({exc})") from None
        except RecursionError:
            raise KeycloakImportError(f"not {what}: JSON nested too deeply") from None
    return data


def _realm(data: object) -> Mapping[str, object]:
    data = _parsed(data, "a Keycloak realm export")
    if isinstance(data, list):
        realms = [r for r in data if isinstance(r, dict) and isinstance(r.get("realm"), str)]
        if realms and len(realms) == len(data):
            # Keycloak 16 and older wrote every realm to one file as a list.
            if len(realms) == 1:
                return _str_keys(realms[0])
            names = ", ".join(f'"{r["realm"]}"' for r in realms)
            raise KeycloakImportError(
                f"the export holds {len(realms)} realms ({names}); export the one realm "
                "whose LDAP settings passgate should use"
            )
        raise KeycloakImportError(
            "not a Keycloak realm export: a JSON list, not a realm object "
            '(expected {"realm": ..., "components": {...}})'
        )
    if not isinstance(data, dict):
        raise KeycloakImportError(
            f"not a Keycloak realm export: a JSON {_json_type(data)}, not a realm object"
        )
    realm = _str_keys(data)
    if "components" not in realm:
        if "realm" in realm:
            name = realm["realm"]
            if not isinstance(name, str):
                raise KeycloakImportError(
                    f'not a Keycloak realm export: "realm" is a JSON {_json_type(name)}, '
                    "not the realm's name"
                )
            raise KeycloakImportError(
                f'realm "{name}" has no "components": export it with its components '
                "(the admin console's Partial export includes them; so does kc.sh export)"
            )
        raise KeycloakImportError(
            'not a Keycloak realm export: no "realm" and no "components" '
            '(expected {"realm": ..., "components": {...}})'
        )
    return realm


def _user_storage(realm: Mapping[str, object]) -> list[Mapping[str, object]]:
    components = realm["components"]
    if not isinstance(components, dict):
        raise KeycloakImportError(
            f'not a Keycloak realm export: "components" is a JSON {_json_type(components)}, '
            "not an object"
        )
    providers = components.get(USER_STORAGE, [])
    if not isinstance(providers, list) or not all(isinstance(p, dict) for p in providers):
        raise KeycloakImportError(
            f'not a Keycloak realm export: "components"."{USER_STORAGE}" is not a list of objects'
        )
    return [_str_keys(p) for p in providers]


def _choose(
    providers: list[Mapping[str, object]], wanted: str | None, where: str
) -> tuple[str, Mapping[str, object]]:
    named = [(_label(p, i), p) for i, p in enumerate(providers, 1)]
    ldap = [(n, p) for n, p in named if p.get("providerId") == LDAP_PROVIDER_ID]
    others = [(n, p) for n, p in named if p.get("providerId") != LDAP_PROVIDER_ID]
    if not ldap:
        found = f" (user federation: {_describe(others)})" if others else ""
        raise KeycloakImportError(f"{where} has no LDAP user federation provider{found}")
    if wanted is None:
        if len(ldap) > 1:
            raise KeycloakImportError(
                f"{where} has {len(ldap)} LDAP providers: {_names(ldap)}; "
                "choose one (--provider NAME)"
            )
        return ldap[0]
    matches = [(n, p) for n, p in ldap if wanted in (p.get("name"), p.get("id"))]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(f'"{p.get("id")}"' for _, p in matches if isinstance(p.get("id"), str))
        raise KeycloakImportError(
            f'{where} has {len(matches)} LDAP providers named "{wanted}"; give its id instead'
            + (f" ({ids})" if ids else "")
        )
    not_ldap = [(n, p) for n, p in others if wanted in (p.get("name"), p.get("id"))]
    if not_ldap:
        raise KeycloakImportError(
            f'provider "{wanted}" in {where} is not an LDAP provider '
            f"({_describe(not_ldap)}); LDAP providers: {_names(ldap)}"
        )
    raise KeycloakImportError(
        f'{where} has no LDAP provider "{wanted}"; LDAP providers: {_names(ldap)}'
    )


def _label(provider: Mapping[str, object], index: int) -> str:
    for key in ("name", "id"):
        value = provider.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return f"(unnamed provider #{index})"


def _names(providers: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    return ", ".join(f'"{n}"' for n, _ in providers)


def _describe(providers: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    return ", ".join(f'"{n}" ({p.get("providerId", "no providerId")})' for n, p in providers)


def _config(component: Mapping[str, object], name: str) -> dict[str, list[str]]:
    raw = component.get("config", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise KeycloakImportError(
            f'provider "{name}": "config" is a JSON {_json_type(raw)}, not an object'
        )
    config: dict[str, list[str]] = {}
    for key, value in _str_keys(raw).items():
        items = value if isinstance(value, list) else [value]
        strings: list[str] = []
        for item in items:
            if isinstance(item, bool):
                strings.append("true" if item else "false")
            elif isinstance(item, str | int | float):
                strings.append(str(item))
            elif item is not None:
                raise KeycloakImportError(
                    f'provider "{name}": config "{key}" holds a JSON {_json_type(item)}; '
                    "Keycloak writes lists of strings"
                )
        strings = [s for s in strings if s.strip()]
        if strings:  # [] and [""] are how Keycloak writes "not set"
            config[key] = strings
    return config


def _frontend_url(realm: Mapping[str, object]) -> str | None:
    attributes = realm.get("attributes")
    if not isinstance(attributes, dict):
        return None
    url = attributes.get("frontendUrl")
    if isinstance(url, str) and urlsplit(url.strip()).scheme in ("http", "https"):
        return url.strip().rstrip("/")
    return None


def _str_keys(value: Mapping[object, object]) -> dict[str, object]:
    return {str(k): v for k, v in value.items()}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
