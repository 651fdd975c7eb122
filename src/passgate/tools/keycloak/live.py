"""The LDAP provider read straight from a running Keycloak, over its admin REST API.

Credentials come from the environment only (never the command line, where
``ps`` and shell history would show them): ``KEYCLOAK_CLIENT_ID`` and
``KEYCLOAK_CLIENT_SECRET`` (a client-credentials grant of a client whose
service account may view the realm, role ``realm-management/view-realm``),
else ``KEYCLOAK_ADMIN`` and ``KEYCLOAK_ADMIN_PASSWORD`` (a password grant
on ``admin-cli``). Both are tried against the admin realm (``master``
unless told). The standard library's urllib does the HTTP: a tool run once
needs no HTTP client dependency at run time.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from passgate.tools.keycloak.read import (
    USER_STORAGE,
    KeycloakImportError,
    LdapFederation,
    read_components,
)

__all__ = ["AdminCredentials", "fetch_federation"]

CLIENT_ID, CLIENT_SECRET = "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET"
ADMIN, ADMIN_PASSWORD = "KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD"


@dataclass(frozen=True)
class AdminCredentials:
    """Who asks Keycloak's admin API; the secret is left out of ``repr``."""

    grant: dict[str, str] = field(repr=False)
    who: str  # for messages: the user or client id, never the secret

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> AdminCredentials:
        client_id, secret = environ.get(CLIENT_ID), environ.get(CLIENT_SECRET)
        if client_id and secret:
            grant = {"grant_type": "client_credentials", "client_id": client_id}
            return cls({**grant, "client_secret": secret}, f'client "{client_id}"')
        user, password = environ.get(ADMIN), environ.get(ADMIN_PASSWORD)
        if user and password:
            grant = {"grant_type": "password", "client_id": "admin-cli", "username": user}
            return cls({**grant, "password": password}, f'admin "{user}"')
        raise KeycloakImportError(
            f"no Keycloak admin credentials: set {CLIENT_ID} and {CLIENT_SECRET}, or "
            f"{ADMIN} and {ADMIN_PASSWORD}, in the environment"
        )


def fetch_federation(
    url: str,
    realm: str,
    credentials: AdminCredentials,
    provider: str | None = None,
    admin_realm: str = "master",
    timeout: float = 15.0,
) -> LdapFederation:
    """The realm's LDAP provider as the admin API returns it (the bind credential masked)."""
    base = url.rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise KeycloakImportError(f"{url}: not an http:// or https:// URL")
    quoted = urllib.parse.quote(realm, safe="")
    token = _admin_token(base, admin_realm, credentials, timeout)
    components = _get(
        f"{base}/admin/realms/{quoted}/components?type={USER_STORAGE}", token, timeout
    )
    frontend = _issuer_base(base, quoted, timeout)
    if frontend is None:
        realm_rep = _get(f"{base}/admin/realms/{quoted}", token, timeout)
        attributes = realm_rep.get("attributes") if isinstance(realm_rep, dict) else None
        found = attributes.get("frontendUrl") if isinstance(attributes, dict) else None
        frontend = found.strip().rstrip("/") if isinstance(found, str) and found else base
    if isinstance(components, list) and not components:
        raise KeycloakImportError(f'realm "{realm}" at {base} has no user federation provider')
    return read_components(components, provider, realm, frontend)


def _issuer_base(base: str, quoted_realm: str, timeout: float) -> str | None:
    """Where the realm says it issues tokens (its discovery document's ``issuer``), less
    ``/realms/<realm>``: what tokens carry as ``iss``, whatever ``--hostname`` or the
    realm's frontend URL make it. None when the document does not say."""
    suffix = f"/realms/{quoted_realm}"
    url = f"{base}{suffix}/.well-known/openid-configuration"
    try:
        document = _call(urllib.request.Request(url), timeout, None)  # noqa: S310 (http(s))
    except KeycloakImportError:
        return None
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if isinstance(issuer, str) and issuer.rstrip("/").endswith(suffix):
        return issuer.rstrip("/").removesuffix(suffix)
    return None


def _admin_token(base: str, realm: str, credentials: AdminCredentials, timeout: float) -> str:
    url = f"{base}/realms/{urllib.parse.quote(realm, safe='')}/protocol/openid-connect/token"
    form = urllib.parse.urlencode(credentials.grant).encode()
    request = urllib.request.Request(url, data=form, method="POST")  # noqa: S310 (http(s) only)
    body = _call(request, timeout, credentials.who)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise KeycloakImportError(f"{url}: no access token in Keycloak's answer")
    return token


def _get(url: str, token: str, timeout: float) -> object:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s) only)
    return _call(request, timeout, None)


def _call(request: urllib.request.Request, timeout: float, who: str | None) -> object:
    """Send; Keycloak's JSON answer, or an error naming the URL and status (no secrets)."""
    # Only http(s) URLs reach here (fetch_federation checks), so no file:// through urlopen.
    shown = request.full_url.split("?")[0]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        reason = _error_of(exc)
        if who is not None and exc.code in (400, 401):
            reason += f"; check the credentials of {who}"
        elif exc.code == 403:
            reason += " (the account may not view this realm: give it realm-management view-realm)"
        raise KeycloakImportError(f"{shown}: HTTP {exc.code}{reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise KeycloakImportError(f"{shown}: Keycloak did not answer ({cause})") from None
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for json
        raise KeycloakImportError(f"{shown}: not a JSON answer") from None


def _error_of(exc: urllib.error.HTTPError) -> str:
    """Keycloak's ``error`` code (e.g. ``invalid_grant``), which never holds the secret."""
    try:
        body = json.loads(exc.read())
    except (ValueError, RecursionError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f" {error}" if isinstance(error, str) and error.isprintable() else ""
