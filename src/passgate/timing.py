"""Where one request's time went: its phases, each timed where it happens.

A change request is timed in phases, in the order they run:

- ``auth``: the credential read and verified (a cached token is cheap);
- ``body``: the body read and checked;
- ``limiter``: the address budget, taking the entry's turn and recording how
  the attempt ended (Redis, if shared);
- ``lookup``: userId (or username) to DN, from the cache or a search (this
  and the other LDAP phases include any time the event loop spent on other
  requests after the answer arrived: :mod:`passgate.cooperative`);
- ``guard``: the last-straw read of the entry's failure counter;
- ``bind``: the bind as the user with the old password;
- ``rules``: passgate's own rules;
- ``modify``: the password modify (the directory's rules apply there);
- ``audit``: the audit line written;
- ``response``: the answer built;
- ``total``: from the route's first line to the header, everything above
  and what FastAPI and passgate do between them.

A phase that runs twice (a moved entry is bound again) adds up. Phases are
observed as the ``passgate_request_phase_seconds`` histogram, and returned
in a ``Server-Timing`` header (W3C Server Timing, milliseconds) when
``PASSGATE_SERVER_TIMING=true``. The names and durations say nothing of
the request's content; they do show how long the directory took.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from time import perf_counter
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Phases"]


class Phases:
    """One request's phases: ``with phases.timed("bind"): ...`` (seconds, in order of first use)."""

    __slots__ = ("spent", "started")

    def __init__(self) -> None:
        self.started = perf_counter()
        self.spent: dict[str, float] = {}

    def timed(self, name: str) -> _Timed:
        return _Timed(self.spent, name)

    def entering(
        self, name: str, manager: AbstractContextManager[T], *, leaving: bool = False
    ) -> _TimedEntry[T]:
        """``manager`` itself, with the time its ``__enter__`` takes counted as ``name``.

        For a phase that ends where a block begins: ``with
        phases.entering("bind", directory.bound_as(dn, old)) as bound:``.
        ``leaving``: its ``__exit__`` counts too (the limiter records the outcome there).
        """
        return _TimedEntry(self.spent, name, manager, leaving)

    def add(self, name: str, seconds: float) -> None:
        self.spent[name] = self.spent.get(name, 0.0) + seconds

    def total(self) -> float:
        return perf_counter() - self.started

    def server_timing(self) -> str:
        """The ``Server-Timing`` header's value: each phase, then ``total``, in milliseconds."""
        parts = [f"{name};dur={seconds * 1000:.3f}" for name, seconds in self.spent.items()]
        parts.append(f"total;dur={self.total() * 1000:.3f}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Phases({self.server_timing()})"


class _Timed:
    """The context manager of one phase (a class, not a generator: it runs on every request)."""

    __slots__ = ("_name", "_spent", "_start")

    def __init__(self, spent: dict[str, float], name: str) -> None:
        self._spent = spent
        self._name = name
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        spent, name = self._spent, self._name
        spent[name] = spent.get(name, 0.0) + perf_counter() - self._start


class _TimedEntry(Generic[T]):
    """Another context manager, whose entry alone is timed."""

    __slots__ = ("_leaving", "_manager", "_name", "_spent")

    def __init__(
        self,
        spent: dict[str, float],
        name: str,
        manager: AbstractContextManager[T],
        leaving: bool = False,
    ) -> None:
        self._spent = spent
        self._name = name
        self._manager = manager
        self._leaving = leaving

    def __enter__(self) -> T:
        start = perf_counter()
        try:
            return self._manager.__enter__()
        finally:
            self._spent[self._name] = self._spent.get(self._name, 0.0) + perf_counter() - start

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool | None:
        if not self._leaving:
            return self._manager.__exit__(kind, error, trace)
        start = perf_counter()
        try:
            return self._manager.__exit__(kind, error, trace)
        finally:
            self._spent[self._name] = self._spent.get(self._name, 0.0) + perf_counter() - start
