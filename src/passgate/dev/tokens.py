"""A throwaway token issuer: an RSA key pair and RS256 tokens shaped like Keycloak's.

Its tokens are Keycloak access tokens in every claim passgate reads: ``typ``
``Bearer`` (an ID token says ``ID``, a refresh token ``Refresh``), ``azp``
the client the token was issued to, roles in ``realm_access`` and
``resource_access``. A claim given as ``None`` is left out (an untyped token,
as other issuers mint them); ``header`` adds to the JOSE header (RFC 9068's
``typ: at+jwt``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class DevIssuer:
    def __init__(self, issuer: str = "http://127.0.0.1:8080/realms/dev", kid: str = "dev") -> None:
        self.issuer = issuer
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK, shaped like an entry of Keycloak's certs endpoint."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write_public_key(self, path: Path) -> Path:
        path.write_bytes(self.public_pem())
        return path

    def token(
        self,
        sub: str,
        *,
        username: str | None = None,
        roles: list[str] | None = None,
        client_roles: dict[str, list[str]] | None = None,
        lifetime: int = 3600,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "typ": "Bearer",  # Keycloak: an access token
            "azp": "passgate-portal",  # the client it was issued to
            "scope": "openid profile email",
            "realm_access": {"roles": roles or []},
        }
        if username:
            payload["preferred_username"] = username
        if client_roles:
            payload["resource_access"] = {c: {"roles": r} for c, r in client_roles.items()}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        headers = {"typ": "JWT", "kid": self.kid, **(header or {})}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers=headers)
