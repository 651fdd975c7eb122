"""The one authenticator both endpoints use: its methods, in the order they are tried.

Adding a method: a :class:`~passgate.auth.base.CredentialVerifier` in a module
of this package, built and registered in :func:`authenticator_from_settings`
(its ``NotConfigured`` stand-in when the deployment has not set it up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from passgate.auth.api_keys import ApiKeyVerifier, load_api_keys
from passgate.auth.base import Caller, Credentials, CredentialVerifier
from passgate.auth.jwt import TokenVerifier, load_public_key
from passgate.auth.keys import JwksKeys, KeySource, StaticKey
from passgate.config import AuthSettings
from passgate.errors import InvalidCredentials, NoCredentials

log = logging.getLogger(__name__)


class CompositeAuthenticator:
    """The first verifier that handles the presented credentials decides; none: NoCredentials."""

    def __init__(self, verifiers: Sequence[CredentialVerifier]) -> None:
        self._verifiers = tuple(verifiers)

    def _verifier_for(self, credentials: Credentials) -> CredentialVerifier | None:
        return next((v for v in self._verifiers if v.handles(credentials)), None)

    def needs_io(self, credentials: Credentials) -> bool:
        verifier = self._verifier_for(credentials)
        return verifier is not None and verifier.needs_io(credentials)

    def authenticate(self, credentials: Credentials) -> Caller:
        verifier = self._verifier_for(credentials)
        if verifier is None:
            raise NoCredentials("no credentials presented")
        return verifier.authenticate(credentials)


class NotConfigured:
    """A method this deployment has not set up: its credentials are refused, not passed on.

    So a bearer token is refused where only API keys are configured, even
    when the request carries an API key too.
    """

    def __init__(self, what: str, handles: Callable[[Credentials], bool]) -> None:
        self._what = what
        self._handles = handles

    def handles(self, credentials: Credentials) -> bool:
        return self._handles(credentials)

    def needs_io(self, credentials: Credentials) -> bool:
        return False

    def authenticate(self, credentials: Credentials) -> Caller:
        raise InvalidCredentials(f"{self._what} are not configured")


def authenticator_from_settings(settings: AuthSettings) -> CompositeAuthenticator:
    return CompositeAuthenticator(
        [
            _tokens(settings) or NotConfigured("bearer tokens", TokenVerifier.handles),
            _api_keys(settings) or NotConfigured("API keys", ApiKeyVerifier.handles),
        ]
    )


def _tokens(settings: AuthSettings) -> TokenVerifier | None:
    keys: KeySource | None = None
    if settings.jwks_url:
        keys = JwksKeys(
            settings.jwks_url,
            min_refresh_interval=settings.jwks_min_refresh_interval,
            max_age=settings.jwks_cache_ttl,
            timeout=settings.jwks_timeout,
        )
    elif settings.public_key_file is not None:
        keys = StaticKey(load_public_key(settings.public_key_file))
    if keys is None:
        return None
    assert settings.issuer is not None  # enforced by Settings
    if settings.audience is None:
        log.warning(
            "PASSGATE_AUTH_AUDIENCE is not set: access tokens that %s issued to any client "
            "are accepted, and the admin role counts from every client's roles unless "
            "PASSGATE_AUTH_ADMIN_CLIENT is set; set it to passgate's client id",
            settings.issuer,
        )
    return TokenVerifier(
        keys,
        issuer=settings.issuer,
        audience=settings.audience,
        user_id_claim=settings.user_id_claim,
        username_claim=settings.username_claim,
        leeway=settings.leeway,
        cache_size=settings.token_cache_size,
        allow_untyped=settings.allow_untyped_tokens,
        allowed_clients=settings.allowed_client_ids,
        admin_client=settings.admin_client,
    )


def _api_keys(settings: AuthSettings) -> ApiKeyVerifier | None:
    if settings.api_keys_file is None:
        return None
    return ApiKeyVerifier(load_api_keys(settings.api_keys_file))
