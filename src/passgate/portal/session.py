"""What the page keeps about a signed-in person, in the HttpOnly session cookie.

Starlette's session cookie is signed (itsdangerous), not encrypted: it holds
the sign-in's in-flight state, the anti-forgery token and the person's name.
The tokens have a cookie of their own, encrypted (Fernet, a key derived from
the cookie secret) and compressed: inside the session cookie they would be
base64-encoded twice and outgrow the 4 KiB browsers keep. Both cookies are
HttpOnly, so page scripts never see them; nothing is kept on the server, so
several workers or instances serve the same person.
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "passgate_portal"  # the session (signed)
TOKEN_COOKIE = "passgate_portal_tokens"  # the tokens (encrypted)
CSRF, NAME = "csrf", "name"


def derived_key(secret: str, purpose: str) -> bytes:
    """32 bytes for one purpose (signing, encrypting) from the one configured secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


@dataclass(frozen=True)
class Tokens:
    """The access token (the person's credential for the change) and the ID token (sign-out)."""

    access_token: str = field(repr=False)
    id_token: str | None = field(default=None, repr=False)


class TokenBox:
    """Seals tokens for the cookie and opens them again; a cookie it did not seal opens to None."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derived_key(secret, "portal tokens")))

    def __repr__(self) -> str:
        return "TokenBox()"

    def seal(self, tokens: Tokens) -> str:
        plain = json.dumps({"a": tokens.access_token, "i": tokens.id_token}).encode()
        return self._fernet.encrypt(zlib.compress(plain, 9)).decode()

    def open(self, sealed: object) -> Tokens | None:
        if not isinstance(sealed, str):
            return None
        try:
            data: dict[str, Any] = json.loads(
                zlib.decompress(self._fernet.decrypt(sealed.encode()))
            )
        except (InvalidToken, ValueError, zlib.error):
            return None
        return Tokens(str(data["a"]), data.get("i"))


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's anti-forgery token, made on first use."""
    token = session.get(CSRF)
    if not isinstance(token, str):
        token = session[CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_matches(session: MutableMapping[str, Any], sent: object) -> bool:
    expected = session.get(CSRF)
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and secrets.compare_digest(expected.encode(), sent.encode())
    )
