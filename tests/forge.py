"""Tokens an attacker (or a confused client) might present; every one must be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from passgate.dev.tokens import DevIssuer

USER_ID = "a" * 24


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_forged(claims: dict[str, object], secret: bytes, kid: str) -> str:
    """The classic RS/HS confusion: HMAC-sign with the issuer's public key as the secret."""
    header = json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()
    signing_input = b64(header) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def forged_tokens(issuer: DevIssuer) -> dict[str, str]:
    """Refused tokens by name. ``wrong_audience``/``no_audience`` need an audience configured."""
    now = int(time.time())
    claims = {"iss": issuer.issuer, "sub": USER_ID, "exp": now + 60, "preferred_username": "x"}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = {"kid": issuer.kid}
    return {
        "garbage": "eyJhbGciOi.not-a.token",
        "bad_signature": jwt.encode(claims, stranger, algorithm="RS256", headers=kid),
        "expired": issuer.token(USER_ID, username="x", lifetime=-120),
        "not_yet_valid": issuer.token(USER_ID, username="x", nbf=now + 600),
        "wrong_issuer": issuer.token(USER_ID, username="x", iss="https://evil.example/realms/x"),
        "no_exp": jwt.encode(
            {"iss": issuer.issuer, "sub": USER_ID},
            issuer.private_key,
            algorithm="RS256",
            headers=kid,
        ),
        "alg_none": jwt.encode(claims, None, algorithm="none", headers=kid),
        "hs_rs_confusion": hs256_forged(claims, issuer.public_pem(), issuer.kid),
        "hs_rs_confusion_with_jwk": hs256_forged(
            claims, json.dumps(issuer.jwk()).encode(), issuer.kid
        ),
        "kid_not_a_string": b64(b'{"alg":"RS256","kid":7}')
        + "."
        + b64(json.dumps(claims).encode())
        + ".c2ln",
        "kid_huge": jwt.encode(
            claims, issuer.private_key, algorithm="RS256", headers={"kid": "k" * 5000}
        ),
        "wrong_audience": issuer.token(USER_ID, username="x", aud="another-client"),
        "no_audience": issuer.token(USER_ID, username="x"),
    }


ALWAYS_REFUSED = [
    "garbage",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "no_exp",
    "alg_none",
    "hs_rs_confusion",
    "hs_rs_confusion_with_jwk",
    "kid_not_a_string",
    "kid_huge",
]
AUDIENCE_REFUSED = ["wrong_audience", "no_audience"]
