"""Bearer tokens: JWTs signed by the token issuer (Keycloak or any OIDC provider)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
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


def roles_of(
    claims: dict[str, Any], *, realm: bool = True, clients: frozenset[str] | None = None
) -> frozenset[str]:
    """Keycloak roles: ``realm_access.roles`` (unless ``realm`` is False) and the
    ``resource_access.<client>.roles`` of ``clients`` (None: of every client)."""
    roles: set[str] = set()

    def add(container: Any) -> None:
        if isinstance(container, dict):
            values = container.get("roles")
            if isinstance(values, list):
                roles.update(r for r in values if isinstance(r, str))

    if realm:
        add(claims.get("realm_access"))
    by_client = claims.get("resource_access")
    if isinstance(by_client, dict):
        for client, container in by_client.items():
            if clients is None or client in clients:
                add(container)
    return frozenset(roles)


# RFC 9068 section 2.1: an access token's JOSE header says at+jwt (or its media type).
ACCESS_TOKEN_HEADER_TYPES = frozenset({"at+jwt", "application/at+jwt"})
GENERIC_HEADER_TYPES = frozenset({"jwt", "application/jwt"})
ACCESS_TOKEN_CLAIM_TYPE = "bearer"  # Keycloak's typ claim; ID tokens say "ID", refresh "Refresh"


def header_says_access_token(header: dict[str, Any]) -> bool:
    """True for RFC 9068's ``at+jwt``; False for a plain ``JWT`` or none; refuses any other."""
    typ = header.get("typ")
    if typ is None:
        return False
    if isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_HEADER_TYPES:
        return True
    if isinstance(typ, str) and typ.lower() in GENERIC_HEADER_TYPES:
        return False
    raise InvalidCredentials("token refused: not an access token (JOSE header typ)")


def check_access_token(claims: dict[str, Any], *, at_jwt: bool, allow_untyped: bool) -> None:
    """Only access tokens: an ID, refresh or logout token is never a caller's credential.

    A ``typ`` claim must say Bearer (case-insensitively), whatever the header
    says; without one, the header's at+jwt or ``allow_untyped`` decides.
    """
    typ = claims.get("typ")
    if typ is not None:
        if not isinstance(typ, str) or typ.lower() != ACCESS_TOKEN_CLAIM_TYPE:
            raise InvalidCredentials("token refused: not an access token (typ claim)")
        return
    if not (at_jwt or allow_untyped):
        raise InvalidCredentials(
            "token refused: not an access token (no typ; PASSGATE_AUTH_ALLOW_UNTYPED_TOKENS)"
        )


# A JWS in compact form: three base64url segments (PyJWT tolerates up to two '='
# of padding on each, as some issuers send them). Matched in C, before any work.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]*={0,2}\.[A-Za-z0-9_-]*={0,2}")


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified: what picks the key and the rules.

    The one cheap read of it before ``jwt.decode``, which parses the whole
    token again strictly; PyJWT's own ``get_unverified_header`` checks every
    character of every segment in Python, and would make that two full parses.
    """
    if _COMPACT_JWS.fullmatch(token) is None:
        raise InvalidCredentials("token refused: DecodeError")
    segment = token.partition(".")[0].rstrip("=").encode("ascii")  # matched: ASCII only
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidCredentials("token refused: DecodeError") from None
    if not isinstance(header, dict):
        raise InvalidCredentials("token refused: DecodeError")
    return header


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
        allow_untyped: bool = False,
        allowed_clients: frozenset[str] = frozenset(),
        admin_client: str | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._user_id_claim = user_id_claim
        self._username_claim = username_claim
        self._leeway = leeway
        self._allow_untyped = allow_untyped
        self._allowed_clients = allowed_clients
        self._admin_client = admin_client
        self._verified = VerifiedTokens(cache_size)

    @staticmethod
    def handles(credentials: Credentials) -> bool:
        return bool(credentials.bearer_token)

    def needs_io(self, credentials: Credentials) -> bool:
        token = credentials.bearer_token
        if not token or not self._keys.fetches or self._verified.get(token) is not None:
            return False
        try:
            kid = unverified_header(token).get("kid")
        except InvalidCredentials:
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
        header = unverified_header(token)
        kid = header.get("kid")  # untrusted: only ever a dictionary key, and short
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
            raise InvalidCredentials("token refused: kid is not a short string")
        at_jwt = header_says_access_token(header)  # before any signature work
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
        check_access_token(claims, at_jwt=at_jwt, allow_untyped=self._allow_untyped)
        self._check_client(claims)
        caller = self.caller_from(claims)
        self._verified.put(token, caller, claims)
        return caller

    def caller_from(self, claims: dict[str, Any]) -> Caller:
        raw_id = claims.get(self._user_id_claim)
        user_id = raw_id if isinstance(raw_id, str) and OBJECT_ID.fullmatch(raw_id) else None
        raw_name = claims.get(self._username_claim)
        username = raw_name if isinstance(raw_name, str) and raw_name else None
        kind = CallerKind.USER
        if username and username.startswith(SERVICE_ACCOUNT_PREFIX):
            kind = CallerKind.SERVICE
        elif user_id is None and username is None:
            kind = CallerKind.SERVICE  # no directory identity at all: a client, not a person
        name = username or str(claims.get("sub") or "?")
        return Caller(kind, name, user_id, username, self._roles(claims))

    def _check_client(self, claims: dict[str, Any]) -> None:
        """``PASSGATE_AUTH_ALLOWED_CLIENTS``: the client the token was issued to must be listed.

        Keycloak names it in ``azp``; RFC 9068 access tokens in ``client_id``.
        """
        if not self._allowed_clients:
            return
        client = claims.get("azp", claims.get("client_id"))
        if not isinstance(client, str) or client not in self._allowed_clients:
            raise InvalidCredentials("token refused: client not allowed (azp)")

    def _roles(self, claims: dict[str, Any]) -> frozenset[str]:
        """Where roles, the admin role above all, may come from.

        Pinned (``PASSGATE_AUTH_ADMIN_CLIENT``): only that client's roles. Else,
        as the contract says, realm roles and every client's roles; pinning is
        what stops another client's admins from granting passgate's admin role
        by creating a role of that name in their client (README, security model).
        """
        if self._admin_client is not None:
            return roles_of(claims, realm=False, clients=frozenset({self._admin_client}))
        return roles_of(claims)


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
            try:  # the item itself: .get() would look the key up twice
                found = self._entries[key]
            except KeyError:  # never seen, or expired
                return None
            now = self._clock()
        if now < found.not_before:
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
