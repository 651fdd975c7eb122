"""Where token-verification keys come from: a PEM file or the issuer's JWKS.

Both answer ``key_for(kid)`` with a key and the algorithms it may verify,
so that algorithms are always pinned to the key: never ``none``, never an
HMAC family (which would let the public key serve as a shared secret).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address: whoever could redirect the
    fetch could choose the keys passgate trusts. urllib's default follows them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx


def http_fetch(url: str, timeout: float) -> bytes:
    """GET the JWKS document (at most 1 MiB); http(s) only, no redirects followed."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValueError("not an http(s) URL")
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with opener.open(request, timeout=timeout) as response:
        body: bytes = response.read(1024 * 1024)
        return body


def loggable_url(url: str) -> str:
    """The URL without its query and fragment (a query may carry a credential)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


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


@dataclass(frozen=True)
class _Snapshot:
    """What the key cache knows at one moment; replaced whole, never changed in place."""

    keys: Mapping[str | None, VerificationKey]
    fetched_at: float | None = None  # last successful fetch
    attempted_at: float | None = None  # last fetch started, successful or not

    def lookup(self, kid: str | None) -> VerificationKey | None:
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return self.keys.get(kid)


class JwksKeys:
    """Keys from the issuer's JWKS URL, cached, refreshed when a ``kid`` is unknown.

    A refresh happens at most once per ``min_refresh_interval`` seconds, so a
    flood of tokens with made-up ``kid`` values cannot hammer the issuer; the
    whole set is refetched after ``max_age`` seconds. While the issuer is
    down, the keys already cached keep working.

    Never on the event loop: a fetch runs in a thread of its own, one at a
    time (every request that wants it shares it); worker threads wait for it,
    while a call made on the event loop only reads the current snapshot and
    answers at once. ``would_fetch`` tells the caller to come from a thread.
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
        self._snapshot = _Snapshot(MappingProxyType({}))
        self._in_flight: Future[None] | None = None
        self._starting = threading.Lock()  # held only to start a fetch, never across one

    fetches = True

    def key_for(self, kid: str | None) -> VerificationKey:
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
            raise InvalidCredentials("token kid is not a short string")
        snapshot = self._snapshot
        if self._wanted(snapshot, kid):
            fetch = self._start_fetch()
            if fetch is not None and not _on_event_loop():
                with contextlib.suppress(FutureTimeout):
                    fetch.result(timeout=self._timeout + 5)
                snapshot = self._snapshot
        found = snapshot.lookup(kid)
        if found is not None:
            return found
        if not snapshot.keys:
            raise JwksUnavailable(f"no signing keys available from {loggable_url(self._url)}")
        raise InvalidCredentials(f"no key in the issuer's JWKS for kid {kid!r:.80}")

    def would_fetch(self, kid: str | None) -> bool:
        snapshot = self._snapshot
        return self._wanted(snapshot, kid) and (
            self._fetching() is not None or self._allowed(snapshot)
        )

    def _wanted(self, snapshot: _Snapshot, kid: str | None) -> bool:
        stale = snapshot.fetched_at is None or self._clock() - snapshot.fetched_at >= self._max_age
        return stale or snapshot.lookup(kid) is None

    def _allowed(self, snapshot: _Snapshot) -> bool:
        last = snapshot.attempted_at
        return last is None or self._clock() - last >= self._min_refresh_interval

    def _fetching(self) -> Future[None] | None:
        in_flight = self._in_flight
        return in_flight if in_flight is not None and not in_flight.done() else None

    def _start_fetch(self) -> Future[None] | None:
        """The fetch in flight, or a new one when one is due; None when it is too soon."""
        in_flight = self._fetching()
        if in_flight is not None or not self._allowed(self._snapshot):
            return in_flight
        # The loop never waits for this lock: if another thread is starting a fetch, fine.
        if not self._starting.acquire(blocking=not _on_event_loop()):
            return self._fetching()
        try:
            in_flight = self._fetching()
            if in_flight is not None or not self._allowed(self._snapshot):
                return in_flight
            started = self._clock()
            self._snapshot = replace(self._snapshot, attempted_at=started)
            future: Future[None] = Future()
            self._in_flight = future
            threading.Thread(
                target=self._refresh, args=(future, started), name="jwks-fetch", daemon=True
            ).start()
            return future
        finally:
            self._starting.release()

    def _refresh(self, done: Future[None], started: float) -> None:
        where = loggable_url(self._url)
        try:
            keys = parse_jwks(json.loads(self._fetch(self._url, self._timeout)))
        except Exception as exc:
            # Keep what we had: cached keys keep working while the issuer is down.
            reason = str(exc).replace(self._url, where)
            log.error("cannot fetch the JWKS from %s: %s: %s", where, type(exc).__name__, reason)
        else:
            self._snapshot = _Snapshot(MappingProxyType(keys), started, started)
            log.info("fetched %d signing keys from %s", len(keys), where)
        finally:
            done.set_result(None)
