"""The OpenID Connect client: Authlib's Starlette integration, configured from PortalSettings.

Authlib does the protocol (discovery, ``state``, ``nonce``, PKCE S256, the
code exchange, the ID token's checks, the end-session URL); its in-flight
state sits in the signed session cookie. The access token is then checked by
passgate's own authenticator, exactly as the API checks a bearer token.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App

from passgate.config import PortalSettings

__all__ = ["OAuthError", "oidc_client"]

CLIENT = "portal"

# Authlib logs the PKCE verifier at DEBUG; the page's secrets stay out of every log.
logging.getLogger("authlib").setLevel(logging.INFO)


def oidc_client(settings: PortalSettings) -> StarletteOAuth2App:
    """The registered client; discovery is fetched on first use, not here (no work at start)."""
    issuer = str(settings.issuer_url).rstrip("/")
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    client_kwargs: dict[str, Any] = {"scope": settings.scope, "code_challenge_method": "S256"}
    if secret is None:
        client_kwargs["token_endpoint_auth_method"] = "none"  # a public client: PKCE only
    oauth = OAuth()
    oauth.register(
        CLIENT,
        client_id=settings.client_id,
        client_secret=secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    return cast(StarletteOAuth2App, oauth.create_client(CLIENT))
