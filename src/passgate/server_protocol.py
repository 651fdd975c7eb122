"""How passgate runs uvicorn: its options, and its httptools protocol made stricter and leaner.

- :func:`server_options`: what every ``uvicorn.run`` of passgate passes.
- :class:`BoundedHeadProtocol`: bounds on a request's head and on its arrival, below.
- :class:`CoalescingTransport`: a response's head and body in one socket write.

httptools has no limit on the request line and headers, and glues a header
value together from the pieces that arrive (a ``bytes +=`` per read): a
10 MB header costs the event loop hundreds of milliseconds of copying
before any application code runs. Here the bytes of a head still being read
are counted, and past :data:`MAX_HEAD_BYTES` the connection is answered
``431 Request Header Fields Too Large`` and closed (what uvicorn's h11
protocol and nginx do). Credentials under that size are refused by the app
itself, above 16 KiB (see :mod:`passgate.api.callers`).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from passgate.config import HttpSettings

MAX_HEAD_BYTES = 64 * 1024

_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header fields too large\n"
)
assert len(_REFUSAL.rpartition(b"\r\n\r\n")[2]) == 32
_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request timeout\n"
)
assert len(_TOO_SLOW.rpartition(b"\r\n\r\n")[2]) == 16


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request head over MAX_HEAD_BYTES, and a
    request slower than ``request_timeout`` seconds to arrive.

    uvicorn bounds the idle time between requests (its keep-alive timeout) but
    not the time a request takes to arrive: a client could hold a connection,
    and a place under ``PASSGATE_HTTP_LIMIT_CONCURRENCY``, forever by sending
    a byte now and then (slowloris), in the head or in the body. Each request,
    counted from the connection's opening for the first one and from its
    first byte for later ones, must have arrived whole (head and body) within
    ``request_timeout``, or the connection is answered ``408 Request
    Timeout`` (unless an answer has begun) and closed; one that never sent a
    byte (a browser's preconnect, say) is closed without an answer, as nginx
    does.
    """

    def __init__(self, *args: Any, request_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout  # PASSGATE_HTTP_REQUEST_TIMEOUT
        self._in_head = True
        self._arriving = True  # the request is not whole yet
        self._head_bytes = 0
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        coalescing = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, coalescing))
        self._timer = self.loop.call_later(self.request_timeout, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._arriving = True
        self._head_bytes = 0
        if self._timer is None:  # the first request's runs from the connection's opening
            self._timer = self.loop.call_later(self.request_timeout, self._too_slow)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._arriving = False
        self._stop_timer()
        super().on_message_complete()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if not self._arriving or self.transport.is_closing():
            return
        if not (self._in_head and not self._head_bytes):  # a request begun: say why it ends
            self.logger.warning("request not complete in %g s: closed (408)", self.request_timeout)
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(_TOO_SLOW)
        self.transport.close()  # a connection that never sent a byte (a preconnect): no answer

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        # A read that completed the head is not counted: a head within the limit
        # is never refused, and at most one read beyond it is ever parsed.
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.logger.warning("request head over %d bytes: refused (431)", MAX_HEAD_BYTES)
            self.transport.write(_REFUSAL)
            self.transport.close()


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop go out as one.

    uvicorn writes a response's head and its body separately: two sends, two
    packets, and on loopback or a proxy's keep-alive connection two wake-ups
    of the reader. Here the writes of one turn are joined and sent when the
    turn ends (``call_soon``), or before ``close``. Everything else is the
    transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def server_options(http: HttpSettings) -> dict[str, Any]:
    """What every ``uvicorn.run`` of passgate passes (``serve``, its workers, ``dev``).

    ``proxy_headers`` off: uvicorn would otherwise rewrite the client address
    from ``X-Forwarded-For`` for any peer in ``forwarded_allow_ips``
    (127.0.0.1 by default) before passgate sees it;
    ``PASSGATE_TRUSTED_PROXIES`` is the only authority on that header.
    ``http``: httptools with a bound on the request head's size and on the
    time a request takes to arrive (``PASSGATE_HTTP_REQUEST_TIMEOUT``), and
    one socket write per response.
    """
    # A partial, not a class made here: workers are spawned, and what uvicorn gives
    # them must be picklable by name.
    protocol = functools.partial(BoundedHeadProtocol, request_timeout=http.request_timeout)
    return {
        "http": protocol,
        "log_config": None,
        "server_header": False,
        "proxy_headers": False,
        "timeout_keep_alive": http.keep_alive_timeout,
        "limit_concurrency": http.limit_concurrency,
        "timeout_graceful_shutdown": http.graceful_shutdown_timeout,
    }
