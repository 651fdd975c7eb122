"""Plain synchronous code that waits on the event loop instead of on a thread.

The use case (:mod:`passgate.service`) and the directory code below it read
top to bottom as ordinary functions, and ldap3 is a synchronous client. Run
in a thread, every change paid two hand-offs and, at any concurrency, a
fight for the GIL between the event loop and the threads: a third of
passgate's CPU per change (the README's "Where the time goes"). :func:`run`
runs such a function on the event loop itself, in a greenlet (the technique
SQLAlchemy's asyncio support is built on): where the code would block
reading a socket, a :class:`SocketWatch` parks it and lets the loop serve
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
import select
import ssl
import sys
import threading
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


# How long a thread closing a watched socket waits for the loop to drop its reader.
FORGET_TIMEOUT = 1.0


class SocketWatch:
    """A reader on one socket, kept from one wait to the next until :meth:`forget`.

    A reader added and removed for every wait is, under uvloop, a libuv poll
    handle made and closed each time: five system calls or so, three waits
    per change. A pooled connection keeps its reader instead, and its owner
    calls :meth:`forget` before it closes the socket: libuv must never poll a
    descriptor that was closed (and maybe reused by another socket). While
    the reader is there the watch holds the socket, so nothing else (garbage
    collection) closes it behind the reader's back; readiness while no one
    waits (an EOF, a notice of disconnection) drops the reader, so an idle
    socket never keeps the loop busy and is let go.

    Inside :func:`run` only; elsewhere :meth:`wait_readable` does nothing:
    the socket's own blocking read waits.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._sock: Any = None
        self._fd = -1
        self._poll = select.poll()  # the socket's readiness now, without the loop
        self._waiter: asyncio.Future[None] | None = None

    def wait_readable(self, sock: Any, timeout: float | None) -> None:
        """Until ``sock`` has data to read; ``TimeoutError`` after ``timeout`` seconds."""
        if not bridged():
            return
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return  # decrypted and buffered: there to read at once
        loop = asyncio.get_running_loop()
        fd = sock.fileno()
        if sock is not self._sock or fd != self._fd or loop is not self._loop:
            self.forget()  # another socket (after StartTLS, a reconnect) or another loop
            loop.add_reader(fd, self._readable)
            self._loop, self._thread, self._sock, self._fd = loop, threading.get_ident(), sock, fd
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN)
        timer = None if timeout is None else loop.call_later(timeout, self._timed_out)
        try:
            while True:
                self._waiter = loop.create_future()
                wait_for(self._waiter)
                # A readiness the loop saw before the last answer was read (asyncio
                # polls before it runs the woken code; uvloop after) is stale: wait on.
                if self._poll.poll(0):
                    return
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def recv(self, sock: Any, size: int, timeout: float | None) -> bytes:
        """``sock.recv(size)`` once there is something to read, the wait the loop's.

        A readable plain socket gives its bytes at once. A TLS socket may
        hold only part of a record, and nothing of it can be decrypted before
        the rest is there: its own read would block, and with it the loop and
        every other request, for as long as the rest takes (a record split
        across packets, a slow link). So it is read without blocking and,
        while the record is incomplete, waited on again; the whole read
        bounded by ``timeout``, as the socket's own read was.
        """
        if not isinstance(sock, ssl.SSLSocket) or not bridged():
            self.wait_readable(sock, timeout)
            data: bytes = sock.recv(size)
            return data
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.wait_readable(sock, None if deadline is None else deadline - time.monotonic())
            sock.settimeout(0.0)
            try:
                data = sock.recv(size)
                return data
            except ssl.SSLWantReadError:
                continue  # part of a record: wait for the rest
            except ssl.SSLWantWriteError:
                break  # TLS must write first (rare): the socket's own read does both
            finally:
                sock.settimeout(timeout)
        data = sock.recv(size)
        return data

    def _readable(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            self.forget()  # nobody waits: an EOF or a notice, read by the next wait if any
        elif not waiter.done():
            waiter.set_result(None)

    def _timed_out(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError("timed out"))  # a socket's own words

    def forget(self) -> None:
        """No reader on the socket any more, before this returns: call it before closing it.

        A wait still pending fails (the socket is going away under it). From
        another thread than the loop's, the loop is asked to do it and waited
        for (at most FORGET_TIMEOUT, should the loop be stuck).
        """
        loop, fd, thread, waiter = self._loop, self._fd, self._thread, self._waiter
        self._loop, self._sock, self._fd, self._waiter = None, None, -1, None
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == thread:
            _let_go(loop, fd, waiter)
            return
        done = threading.Event()

        def let_go() -> None:
            try:
                _let_go(loop, fd, waiter)
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(let_go)
        except RuntimeError:  # closed meanwhile: nothing polls any more
            return
        if loop.is_running():
            done.wait(FORGET_TIMEOUT)


def _let_go(loop: asyncio.AbstractEventLoop, fd: int, waiter: asyncio.Future[None] | None) -> None:
    loop.remove_reader(fd)
    if waiter is not None and not waiter.done():
        waiter.set_exception(ConnectionAbortedError("socket closed while an answer was awaited"))
