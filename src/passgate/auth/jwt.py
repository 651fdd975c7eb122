"""Bearer tokens: JWTs signed by the token issuer (Keycloak or any OIDC provider)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from passgate.auth.base import OBJECT_ID, Caller, CallerKind, Credentials
from passgate.auth.keys import MAX_KID_LENGTH, KeySource, PublicKey, algorithms_for
from passgate.errors import ConfigurationError, InvalidCredentials, NoCredentials

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_PREFIX = "service-account-"


def load_public_key(path: Path, variable: str = "PASSGATE_AUTH_PUBLIC_KEY_FILE") -> PublicKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{variable}: cannot load a PEM public key from {path}: {exc}"
        ) from None
    if not algorithms_for(key):
        raise ConfigurationError(f"{variable}: {type(key).__name__} keys are not supported")
    return key  # type: ignore[return-value]


def roles_of(claims: dict[str, Any]) -> frozenset[str]:
    """Keycloak roles: ``realm_access.roles`` and every ``resource_access.<client>.roles``."""
    roles: set[str] = set()

    def add(container: Any) -> None:
        if isinstance(container, dict):
            values = container.get("roles")
            if isinstance(values, list):
                roles.update(r for r in values if isinstance(r, str))

    add(claims.get("realm_access"))
    clients = claims.get("resource_access")
    if isinstance(clients, dict):
        for client in clients.values():
            add(client)
    return frozenset(roles)


class TokenVerifier:
    """Verifies a JWT against a key source and turns its claims into a :class:`Caller`."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str | None,
        user_id_claim: str = "sub",
        username_claim: str = "preferred_username",
        leeway: int = 10,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._user_id_claim = user_id_claim
        self._username_claim = username_claim
        self._leeway = leeway
        self._verified = VerifiedTokens(cache_size)

    @staticmethod
    def handles(credentials: Credentials) -> bool:
        return bool(credentials.bearer_token)

    def needs_io(self, credentials: Credentials) -> bool:
        token = credentials.bearer_token
        if not token or not self._keys.fetches or self._verified.get(token) is not None:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return False
        return self._keys.would_fetch(kid if isinstance(kid, str) else None)

    def authenticate(self, credentials: Credentials) -> Caller:
        if not credentials.bearer_token:
            raise NoCredentials("no bearer token")
        return self.verify(credentials.bearer_token)

    def verify(self, token: str) -> Caller:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidCredentials(f"token refused: {type(exc).__name__}") from None
        kid = header.get("kid")  # untrusted: only ever a dictionary key, and short
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
            raise InvalidCredentials("token refused: kid is not a short string")
        key = self._keys.key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=key.algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={
                    "require": ["exp", "iss"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidCredentials(f"token refused: {type(exc).__name__}: {exc}") from None
        # Keycloak marks its tokens: "Bearer" (access), "ID", "Refresh", "Logout".
        # Only access tokens are accepted (contract section 6); an issuer that
        # writes no typ claim is not refused for it.
        typ = claims.get("typ", "Bearer")
        if not isinstance(typ, str) or typ.lower() != "bearer":
            raise InvalidCredentials("token refused: not an access token (typ)")
        caller = self.caller_from(claims)
        self._verified.put(token, caller, claims)
        return caller

    def caller_from(self, claims: dict[str, Any]) -> Caller:
        raw_id = claims.get(self._user_id_claim)
        user_id = raw_id if isinstance(raw_id, str) and OBJECT_ID.match(raw_id) else None
        raw_name = claims.get(self._username_claim)
        username = raw_name if isinstance(raw_name, str) and raw_name else None
        kind = CallerKind.USER
        if username and username.startswith(SERVICE_ACCOUNT_PREFIX):
            kind = CallerKind.SERVICE
        elif user_id is None and username is None:
            kind = CallerKind.SERVICE  # no directory identity at all: a client, not a person
        name = username or str(claims.get("sub") or "?")
        return Caller(kind, name, user_id, username, roles_of(claims))


class VerifiedTokens:
    """Tokens already verified, until they expire: a signature check is the costly part.

    Keyed by a digest of the token (the token itself is not kept). A token is
    served from here only between its ``nbf`` and its ``exp`` (no leeway), so
    the cache never accepts what a fresh verification would refuse, except a
    token whose key was withdrawn from the JWKS meanwhile: it stays valid
    until it expires (Keycloak's access tokens live minutes). At most ``size``
    tokens, the least recently used go first; ``size`` 0 turns it off.
    """

    def __init__(self, size: int, clock: Callable[[], float] = time.time) -> None:
        # Each token has its own expiry: a time-to-use cache, on the clock exp is read on.
        self._entries: TLRUCache[bytes, _Verified] | None = (
            TLRUCache(maxsize=size, ttu=_until_exp, timer=clock) if size > 0 else None
        )
        self._clock = clock
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.blake2b(token.encode(), digest_size=32).digest()

    def get(self, token: str) -> Caller | None:
        if self._entries is None:
            return None
        key = self._key(token)
        with self._lock:
            found = self._entries.get(key)  # None once expired
            now = self._clock()
        if found is None or now < found.not_before:
            return None
        return found.caller

    def put(self, token: str, caller: Caller, claims: dict[str, Any]) -> None:
        if self._entries is None:
            return
        try:
            verified = _Verified(caller, float(claims.get("nbf", 0)), float(claims["exp"]))
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self._entries[self._key(token)] = verified


class _Verified(NamedTuple):
    caller: Caller
    not_before: float
    expires: float


def _until_exp(key: bytes, verified: _Verified, now: float) -> float:
    return verified.expires
