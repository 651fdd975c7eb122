"""Where token-verification keys come from: a PEM file or the issuer's JWKS.

Both answer ``key_for(kid)`` with a key and the algorithms it may verify,
so that algorithms are always pinned to the key: never ``none``, never an
HMAC family (which would let the public key serve as a shared secret).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from passgate.errors import InvalidCredentials, PassgateError

log = logging.getLogger(__name__)

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = ("ES256", "ES384", "ES512")
MAX_KID_LENGTH = 256


def algorithms_for(key: object) -> list[str]:
    """The asymmetric algorithms a key of this type can verify."""
    if isinstance(key, rsa.RSAPublicKey):
        return list(RSA_ALGORITHMS)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return list(EC_ALGORITHMS)
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return ["EdDSA"]
    return []


@dataclass(frozen=True)
class VerificationKey:
    key: PublicKey
    algorithms: list[str]


class KeySource(Protocol):
    def key_for(self, kid: str | None) -> VerificationKey:
        """The key for this ``kid``; InvalidCredentials when there is none."""
        ...

    def would_fetch(self, kid: str | None) -> bool:
        """Whether ``key_for(kid)`` would go to the network now."""
        ...

    @property
    def fetches(self) -> bool:
        """Whether this source ever goes to the network."""
        ...


class StaticKey:
    """One key from ``PASSGATE_AUTH_PUBLIC_KEY_FILE``; the ``kid`` is not consulted."""

    def __init__(self, key: PublicKey) -> None:
        self._key = VerificationKey(key, algorithms_for(key))

    def key_for(self, kid: str | None) -> VerificationKey:
        return self._key

    def would_fetch(self, kid: str | None) -> bool:
        return False

    fetches = False


Fetch = Callable[[str, float], bytes]


class JwksUnavailable(PassgateError):
    """The issuer's JWKS could not be fetched or read."""


def http_fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body: bytes = response.read(1024 * 1024)
        return body


def parse_jwks(document: Any) -> dict[str | None, VerificationKey]:
    """Signing keys of a JWKS by ``kid``; encryption and symmetric keys are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    keys: dict[str | None, VerificationKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        try:
            jwk = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            log.warning("skipping a JWKS key (kid %r): %s", entry.get("kid"), exc)
            continue
        allowed = algorithms_for(jwk.key)
        alg = entry.get("alg")
        if isinstance(alg, str):
            if alg not in allowed:
                continue  # e.g. RSA-OAEP on a key not marked "use": "enc"
            allowed = [alg]
        if allowed:
            keys[entry.get("kid")] = VerificationKey(jwk.key, allowed)
    return keys


class JwksKeys:
    """Keys from the issuer's JWKS URL, cached, refreshed when a ``kid`` is unknown.

    A refresh happens at most once per ``min_refresh_interval`` seconds, so a
    flood of tokens with made-up ``kid`` values cannot hammer the issuer; the
    whole set is refetched after ``max_age`` seconds. While the issuer is
    down, the keys already cached keep working.
    """

    def __init__(
        self,
        url: str,
        *,
        min_refresh_interval: float = 30.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str | None, VerificationKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> VerificationKey:
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
            raise InvalidCredentials("token kid is not a short string")
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            wanted = stale or self._lookup(kid) is None
            allowed = (
                self._attempted_at is None or now - self._attempted_at >= self._min_refresh_interval
            )
            if wanted and allowed:
                self._refresh(now)
            found = self._lookup(kid)
            have_keys = bool(self._keys)
        if found is not None:
            return found
        if not have_keys:
            raise JwksUnavailable(f"no signing keys available from {self._url}")
        raise InvalidCredentials(f"no key in the issuer's JWKS for kid {kid!r:.80}")

    fetches = True

    def would_fetch(self, kid: str | None) -> bool:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
        allowed = (
            self._attempted_at is None or now - self._attempted_at >= self._min_refresh_interval
        )
        return allowed and (stale or self._lookup(kid) is None)

    def _lookup(self, kid: str | None) -> VerificationKey | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = parse_jwks(json.loads(self._fetch(self._url, self._timeout)))
        except Exception as exc:
            # Keep what we had: cached keys keep working while the issuer is down.
            log.error("cannot fetch the JWKS from %s: %s: %s", self._url, type(exc).__name__, exc)
            return
        self._keys = keys
        self._fetched_at = now
        log.info("fetched %d signing keys from %s", len(keys), self._url)
