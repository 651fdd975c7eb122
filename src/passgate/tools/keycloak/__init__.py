"""Keycloak realm export -> passgate settings (``passgate config from-keycloak``).

Says which ``PASSGATE_*`` settings an LDAP user federation provider amounts
to, which Keycloak keys passgate has no use for, and what to check by hand,
in three steps: :mod:`.read` finds the provider in Keycloak's data,
:mod:`.mapping` turns its config into settings, :mod:`.render` writes them
out. Pure but for :mod:`.live`, which fetches the components from a running
Keycloak's admin API; the caller reads the JSON and writes the result.
"""

from __future__ import annotations

from passgate.tools.keycloak.mapping import settings_for
from passgate.tools.keycloak.read import (
    KeycloakImportError,
    LdapFederation,
    read_components,
    read_keycloak_json,
    read_realm_export,
)
from passgate.tools.keycloak.render import ImportedSettings

__all__ = [
    "ImportedSettings",
    "KeycloakImportError",
    "LdapFederation",
    "from_keycloak_json",
    "from_realm_export",
    "read_components",
    "read_keycloak_json",
    "read_realm_export",
    "settings_for",
]


def from_realm_export(
    data: object, provider: str | None = None, include_secrets: bool = False
) -> ImportedSettings:
    """Import the LDAP provider of a realm export (parsed JSON, or its text).

    ``provider`` is the provider's name (or id); it may be left out when the
    realm has exactly one LDAP provider. The bind credential is in the result
    only with ``include_secrets`` (and never when the export holds a placeholder).
    Raises ``KeycloakImportError`` saying what is wrong.
    """
    return settings_for(read_realm_export(data, provider), include_secrets=include_secrets)


def from_keycloak_json(
    data: object, provider: str | None = None, include_secrets: bool = False
) -> ImportedSettings:
    """Import a realm export or bare components (admin API, ``kcadm.sh get components``)."""
    return settings_for(read_keycloak_json(data, provider), include_secrets=include_secrets)
