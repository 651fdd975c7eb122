"""The one authenticator both endpoints use: a bearer token or an API key."""

from __future__ import annotations

from passgate.auth.api_keys import ApiKeyVerifier, load_api_keys
from passgate.auth.base import Caller, Credentials
from passgate.auth.jwt import TokenVerifier, load_public_key
from passgate.auth.keys import JwksKeys, KeySource, StaticKey
from passgate.config import Settings
from passgate.errors import InvalidCredentials, NoCredentials


class CompositeAuthenticator:
    """Tokens go to the token verifier, API keys to the key verifier."""

    def __init__(self, tokens: TokenVerifier | None, api_keys: ApiKeyVerifier | None) -> None:
        self._tokens = tokens
        self._api_keys = api_keys

    def needs_io(self, credentials: Credentials) -> bool:
        return bool(
            credentials.bearer_token
            and self._tokens is not None
            and self._tokens.needs_io(credentials.bearer_token)
        )

    def authenticate(self, credentials: Credentials) -> Caller:
        if credentials.bearer_token:
            if self._tokens is None:
                raise InvalidCredentials("bearer tokens are not configured")
            return self._tokens.verify(credentials.bearer_token)
        if credentials.api_key:
            if self._api_keys is None:
                raise InvalidCredentials("API keys are not configured")
            return self._api_keys.verify(credentials.api_key)
        raise NoCredentials("no credentials presented")


def authenticator_from_settings(settings: Settings) -> CompositeAuthenticator:
    tokens = None
    keys: KeySource | None = None
    if settings.auth_jwks_url:
        keys = JwksKeys(
            settings.auth_jwks_url,
            min_refresh_interval=settings.auth_jwks_min_refresh_interval,
            max_age=settings.auth_jwks_cache_ttl,
            timeout=settings.auth_jwks_timeout,
        )
    elif settings.auth_public_key_file is not None:
        keys = StaticKey(load_public_key(settings.auth_public_key_file))
    if keys is not None:
        assert settings.auth_issuer is not None  # enforced by Settings
        tokens = TokenVerifier(
            keys,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            user_id_claim=settings.auth_user_id_claim,
            username_claim=settings.auth_username_claim,
            leeway=settings.auth_leeway,
            cache_size=settings.auth_token_cache_size,
        )
    api_keys = None
    if settings.api_keys_file is not None:
        api_keys = ApiKeyVerifier(load_api_keys(settings.api_keys_file))
    return CompositeAuthenticator(tokens, api_keys)
