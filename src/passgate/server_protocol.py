"""uvicorn's httptools protocol with a bound on a request's head.

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

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request head over MAX_HEAD_BYTES."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

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
