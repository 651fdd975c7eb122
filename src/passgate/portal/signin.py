"""The OpenID Connect client: Authlib's Starlette integration, configured from PortalSettings.

Authlib does the protocol (discovery, ``state``, ``nonce``, PKCE S256, the
code exchange, the ID token's checks, the end-session URL); its in-flight
state sits in the signed session cookie. The access token is then checked by
passgate's own authenticator, exactly as the API checks a bearer token.

A sign-in that does not complete fails one of two ways, and the page says
which: *refused* (400), the issuer said no or sent what does not check out
(Authlib's and joserfc's errors, :class:`SignInRefused`), and the person may
simply try again; *unavailable* (503), the issuer could not be asked or did
not answer as an issuer does (a connection error, a timeout, a 5xx, a body
that is no JSON, metadata without an endpoint), so later.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
from typing import Any, cast

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.requests import Request

from passgate.config import PortalSettings

__all__ = [
    "ISSUER_TROUBLE",
    "REFUSED",
    "UNAVAILABLE",
    "OAuthError",
    "SignInRefused",
    "failure_name",
    "oidc_client",
    "signed_in_tokens",
]

CLIENT = "portal"
# What Authlib keeps for a sign-in it started; a sign-out's state has only its return URL.
LOGIN_STATE = ("code_verifier", "nonce", "redirect_uri")
ERROR_CODE = re.compile(r"[a-z_]{1,64}")  # an OAuth error code, safe to log

# Authlib logs the PKCE verifier at DEBUG; the page's secrets stay out of every log.
logging.getLogger("authlib").setLevel(logging.INFO)


class SignInRefused(Exception):
    """The callback does not complete this browser's sign-in: the reason names no token."""


REFUSED: tuple[type[Exception], ...] = (SignInRefused, AuthlibBaseError, JoseError)


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP client's errors: httpx's, and httpx2's, which Authlib prefers when installed."""
    errors: list[type[Exception]] = [httpx.HTTPError]
    with contextlib.suppress(ImportError, AttributeError):  # not installed
        errors.append(importlib.import_module("httpx2").HTTPError)
    return tuple(errors)


UNAVAILABLE: tuple[type[Exception], ...] = (*_transport_errors(), ValueError, RuntimeError)
ISSUER_TROUBLE = REFUSED + UNAVAILABLE


def failure_name(exc: Exception) -> str:
    """For the log: the exception's class (and an OAuth error code), never its text.

    The text of a library's exception may quote what the issuer sent, tokens included.
    """
    name = type(exc).__name__
    if isinstance(exc, SignInRefused):
        return f"{name}: {exc}"
    code = getattr(exc, "error", None)
    if isinstance(exc, AuthlibBaseError) and isinstance(code, str) and ERROR_CODE.fullmatch(code):
        return f"{name} ({code})"
    return name


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


async def signed_in_tokens(
    oidc: StarletteOAuth2App, request: Request, client_id: str
) -> dict[str, Any]:
    """The callback's tokens, once the code is exchanged and the ID token checked.

    Only for a state this browser's sign-in left in its session: a sign-out's
    state (which has no PKCE verifier and no nonce) would otherwise let Authlib
    exchange a code with neither and skip the ID token's checks. The ID token is
    required, and checked for this issuer and this client (Authlib checks only
    the issuer unless told; given options, not even that, so both are here).

    Raises one of :data:`REFUSED` or :data:`UNAVAILABLE`.
    """
    state = request.query_params.get("state")
    data = await oidc.framework.get_state_data(request.session, state) if state else None
    if not isinstance(data, dict) or not all(data.get(key) for key in LOGIN_STATE):
        raise SignInRefused("not the state of a sign-in this browser started")
    metadata = await oidc.load_server_metadata()
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise RuntimeError("the issuer's metadata names no issuer")
    token: dict[str, Any] = await oidc.authorize_access_token(
        request,
        claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [client_id]},
        },
    )
    if not token.get("access_token"):
        raise SignInRefused("the token response has no access token")
    if not token.get("id_token"):
        raise SignInRefused("the token response has no ID token")
    if not token.get("userinfo"):
        raise SignInRefused("the ID token was not checked")
    return token
