"""Bearer tokens: JWTs signed by the token issuer (Keycloak or any OIDC provider).

Algorithms are pinned to the asymmetric family of the configured key, so
``alg: none`` and HS256-signed-with-the-public-key tokens are refused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from passgate.auth.base import OBJECT_ID, Caller, CallerKind
from passgate.errors import ConfigurationError, InvalidCredentials

log = logging.getLogger(__name__)

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

RSA_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
EC_ALGORITHMS = ["ES256", "ES384", "ES512"]
SERVICE_ACCOUNT_PREFIX = "service-account-"


def algorithms_for(key: PublicKey) -> list[str]:
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EC_ALGORITHMS
    return ["EdDSA"]


def load_public_key(path: Path, variable: str = "PASSGATE_AUTH_PUBLIC_KEY_FILE") -> PublicKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{variable}: cannot load a PEM public key from {path}: {exc}"
        ) from None
    if not isinstance(
        key,
        rsa.RSAPublicKey
        | ec.EllipticCurvePublicKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        raise ConfigurationError(f"{variable}: {type(key).__name__} keys are not supported")
    return key


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
    """Verifies a JWT with one public key and turns its claims into a :class:`Caller`."""

    def __init__(
        self,
        key: PublicKey,
        *,
        issuer: str,
        audience: str | None,
        user_id_claim: str = "sub",
        username_claim: str = "preferred_username",
        leeway: int = 10,
    ) -> None:
        self._key = key
        self._algorithms = algorithms_for(key)
        self._issuer = issuer
        self._audience = audience
        self._user_id_claim = user_id_claim
        self._username_claim = username_claim
        self._leeway = leeway

    def verify(self, token: str) -> Caller:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
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
        return self.caller_from(claims)

    def caller_from(self, claims: dict[str, Any]) -> Caller:
        raw_id = claims.get(self._user_id_claim)
        user_id = raw_id if isinstance(raw_id, str) and OBJECT_ID.match(raw_id) else None
        raw_name = claims.get(self._username_claim)
        username = raw_name if isinstance(raw_name, str) and raw_name else None
        kind = CallerKind.USER
        if username and username.startswith(SERVICE_ACCOUNT_PREFIX):
            kind = CallerKind.SERVICE
        name = username or str(claims.get("sub") or "?")
        return Caller(kind, name, user_id, username, roles_of(claims))
