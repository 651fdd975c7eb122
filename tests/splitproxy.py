"""A TCP proxy that, once armed, holds back the rest of one answer after its first bytes.

Over TLS the first five bytes are a record's header: the client has part of
a record and cannot decrypt any of it until the rest comes. The rest is
sent when the test says so (:meth:`SplitProxy.release`) or after
``hold`` seconds, whichever is first; :attr:`released_in_time` tells which.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.proxy import LoopbackProxy, close_quietly, forward

HEAD = 5  # a TLS record's header: content type, version, length


class SplitProxy(LoopbackProxy):
    def __init__(self, target_port: int, hold: float = 5.0) -> None:
        self.hold = hold
        self.armed = threading.Event()
        self.holding = threading.Event()  # the first bytes are out, the rest held
        self._release = threading.Event()
        self.released_in_time: bool | None = None
        super().__init__(target_port)

    def release(self) -> None:
        self._release.set()

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        forward(client, upstream, lambda data: data)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if self.armed.is_set() and len(data) > HEAD:
                    self.armed.clear()  # one answer only
                    client.sendall(data[:HEAD])
                    self.holding.set()
                    self.released_in_time = self._release.wait(self.hold)
                    data = data[HEAD:]
                client.sendall(data)
        close_quietly(upstream, client)
