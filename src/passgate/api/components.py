"""What a running app is made of, and the one way work leaves the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

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
    """A bounded pool of threads for what blocks outside a change: the readiness
    check and the occasional JWKS fetch. (A change runs on the event loop,
    its waits the loop's: :mod:`passgate.cooperative`.)

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
