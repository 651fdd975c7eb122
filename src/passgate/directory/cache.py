"""What the directory layer remembers for a short time: userId -> DN, and policy entries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ShortLived(Generic[K, V]):
    """Values kept ``ttl`` seconds, at most ``maxsize``; a ``ttl`` of 0 keeps nothing.

    Shared by the request threads, hence the lock (cachetools' caches are not
    thread-safe).
    """

    def __init__(
        self, ttl: float, maxsize: int, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: TTLCache[K, V] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if ttl > 0 else None
        )
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        if self._cache is None:
            return None
        with self._lock:
            # The item itself rather than .get(): get() asks whether the key is in
            # the cache, then reads it, each a walk through cachetools' layers
            # (2.2 against 0.6 us for a hit); a missing or expired key raises here.
            try:
                return self._cache[key]
            except KeyError:
                return None

    def put(self, key: K, value: V) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache[key] = value
