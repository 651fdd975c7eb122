"""FastAPI dependencies: the pieces every route needs, taken from ``app.state``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request

from passgate.auth.base import Authenticator, Caller, Credentials
from passgate.config import Network, Settings
from passgate.errors import InvalidCredentials, PassgateError
from passgate.limiter import AttemptLimiter
from passgate.observability import Auditor, Metrics
from passgate.service import PasswordService

T = TypeVar("T")


@dataclass
class Components:
    """What a running app is made of; built once by :func:`passgate.app.create_app`."""

    settings: Settings
    authenticator: Authenticator
    service: PasswordService
    ldap_threads: LdapThreads
    limiter: AttemptLimiter
    trusted_proxies: list[Network]
    metrics: Metrics
    auditor: Auditor
    readiness: Readiness


class LdapThreads:
    """A bounded pool of threads for ldap3, which is synchronous.

    asyncio's own executor path is used rather than anyio's ``to_thread``: it
    does the same with fewer hand-offs per call, and every request makes one.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:  # first use, or the app was started again after a shutdown
            self._executor = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="ldap")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def shutdown(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class Readiness:
    """``/readyz``: the directory answered the service account, cached a few seconds."""

    def __init__(self, check: Callable[[], None], cache_seconds: float) -> None:
        self._check = check
        self._cache_seconds = cache_seconds
        self._checked_at = -1e9
        self._ready = False
        self._detail = ""

    async def status(self, threads: LdapThreads) -> tuple[bool, str]:
        now = time.monotonic()
        if now - self._checked_at >= self._cache_seconds:
            try:
                await threads.run(self._check)
                self._ready, self._detail = True, "directory reachable"
            except PassgateError as exc:
                self._ready, self._detail = False, type(exc).__name__
            self._checked_at = time.monotonic()
        return self._ready, self._detail


def components_of(request: Request) -> Components:
    found: Components = request.app.state.components
    return found


def credentials_from_headers(request: Request) -> Credentials:
    """``Authorization: Bearer <JWT>`` or ``X-API-Key``; any other scheme is refused."""
    header = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key") or None
    token = None
    if header is not None and header.strip():
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise InvalidCredentials(f"unsupported authorization scheme {scheme[:20]!r}")
        token = value.strip() or None
    return Credentials(bearer_token=token, api_key=api_key)


async def header_caller(request: Request, parts: Components) -> Caller:
    """The caller from ``Authorization: Bearer`` or ``X-API-Key``."""
    return await authenticate(parts.authenticator, credentials_from_headers(request))


async def authenticate(authenticator: Authenticator, credentials: Credentials) -> Caller:
    """On the event loop: token checks are CPU-only once keys are cached; a JWKS
    fetch (at most once per PASSGATE_AUTH_JWKS_MIN_REFRESH_INTERVAL) goes to a thread."""
    if authenticator.needs_io(credentials):
        return await anyio.to_thread.run_sync(authenticator.authenticate, credentials)  # rare
    return authenticator.authenticate(credentials)
