"""What a running app is made of, and the one way work leaves the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from passgate import cooperative
from passgate.auth.base import Authenticator
from passgate.config import Network, Settings
from passgate.errors import PassgateError
from passgate.observability import Auditor, Metrics
from passgate.service import PasswordService

T = TypeVar("T")


@dataclass
class Components:
    """Built once by :func:`passgate.app.create_app`; routes get it as ``AppParts``."""

    settings: Settings
    authenticator: Authenticator
    service: PasswordService
    threads: Threads
    trusted_proxies: list[Network]
    metrics: Metrics
    auditor: Auditor
    readiness: Readiness


class Threads:
    """Where work that waits goes, at most ``size`` at a time (``PASSGATE_LDAP_MAX_CONCURRENCY``).

    :meth:`on_loop`: the use case (changes, policy reads) on the event loop,
    its LDAP waits the loop's (:mod:`passgate.cooperative`); no more than
    ``size`` talk to the directory at once, the others wait their turn, so a
    burst of requests is not a burst of new directory connections.
    :meth:`run`: a pool of as many threads for what blocks outside them
    (the readiness check, the occasional JWKS fetch).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._executor: ThreadPoolExecutor | None = None
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:  # a test may start the app again
            self._turns = (loop, asyncio.Semaphore(self._size))
        async with self._turns[1]:
            return await cooperative.run(function, *args)

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

    async def status(self, threads: Threads) -> tuple[bool, str]:
        now = time.monotonic()
        if now - self._checked_at >= self._cache_seconds:
            try:
                await threads.run(self._check)
                self._ready, self._detail = True, "directory reachable"
            except PassgateError as exc:
                self._ready, self._detail = False, type(exc).__name__
            self._checked_at = time.monotonic()
        return self._ready, self._detail
