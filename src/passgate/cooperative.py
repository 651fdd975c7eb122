"""Plain synchronous code that waits on the event loop instead of on a thread.

The use case (:mod:`passgate.service`) and the directory code below it read
top to bottom as ordinary functions, and ldap3 is a synchronous client. Run
in a thread, every change paid two hand-offs and, at any concurrency, a
fight for the GIL between the event loop and the threads: a third of
passgate's CPU per change (the README's "Where the time goes"). :func:`run`
runs such a function on the event loop itself, in a greenlet (the technique
SQLAlchemy's asyncio support is built on): where the code would block
reading a socket, :func:`wait_readable` parks it and lets the loop serve
other requests until the answer is there.

Only waiting for an answer is done that way (and a Redis round trip, by
redis's asyncio client through :func:`wait_for`). Anything else that could
block for long (opening a connection and its TLS handshake, discovery
under its lock) goes to a thread with :func:`off_loop`, so the loop is
never held by a silent server; a pause is the loop's (:func:`sleep`).
Outside :func:`run` (a thread, a test, the command line) every function
here is its plain blocking self.

Locks: code run here must not hold a ``threading`` lock while it waits
(another request on the same thread would block the loop on it); passgate's
locks guard only memory, and the one that guards network work (discovery)
is taken in a thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

T = TypeVar("T")


class _Bridged(greenlet):
    """A greenlet whose every wait is handed to its driver, a coroutine on the loop."""

    def __init__(self, function: Callable[..., Any], driver: greenlet) -> None:
        super().__init__(function, driver)
        self.driver = driver
        self.gr_context = driver.gr_context  # the request's context variables, as a task has


def bridged() -> bool:
    """Whether the caller runs inside :func:`run` (on the event loop)."""
    return isinstance(getcurrent(), _Bridged)


def wait_for(awaitable: Awaitable[T]) -> T:
    """The awaitable's result, awaited by :func:`run`'s coroutine; only inside :func:`run`."""
    current = getcurrent()
    if not isinstance(current, _Bridged):
        raise RuntimeError("wait_for() outside passgate.cooperative.run()")
    return cast(T, current.driver.switch(awaitable))


async def run(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the event loop; its :func:`wait_for` calls are awaited here."""
    bridge = _Bridged(function, getcurrent())
    step = bridge.switch(*args)
    while not bridge.dead:
        try:
            value = await step
        except BaseException:  # the function sees its wait fail (cancellation included)
            step = bridge.throw(*sys.exc_info())
        else:
            step = bridge.switch(value)
    return cast(T, step)


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a thread when inside :func:`run` (the loop goes on); else here."""
    if not bridged():
        return function(*args)
    call = functools.partial(contextvars.copy_context().run, function, *args)
    return wait_for(asyncio.get_running_loop().run_in_executor(None, call))


def sleep(seconds: float) -> None:
    """``time.sleep``, or inside :func:`run` the loop's (other requests go on meanwhile)."""
    if bridged():
        wait_for(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def wait_readable(sock: Any, timeout: float | None) -> None:
    """Until ``sock`` has data to read; ``TimeoutError`` after ``timeout`` seconds.

    Inside :func:`run` the wait is the event loop's (a reader on the socket);
    elsewhere there is nothing to do, the socket's own blocking read waits.
    TLS data already decrypted and buffered is there to read at once.
    """
    if not bridged():
        return
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    loop.add_reader(fd, _settle, ready, None)
    timer = None if timeout is None else loop.call_later(timeout, _settle, ready, TimeoutError)
    try:
        wait_for(ready)
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


def _settle(future: asyncio.Future[None], error: type[Exception] | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error("timed out"))  # the words of a socket's own timeout
