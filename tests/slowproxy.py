"""A TCP proxy that holds every request to the directory for a while (a slow directory).

Concurrency tests use it so that requests are certainly in flight together:
each LDAP request waits ``delay`` seconds before it is forwarded.
"""

from __future__ import annotations

import contextlib
import socket
import time

from tests.proxy import LoopbackProxy


class SlowProxy(LoopbackProxy):
    def __init__(self, target_port: int, delay: float) -> None:
        self.delay = delay
        super().__init__(target_port)

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        self._pump(client, upstream, slow=True)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        self._pump(upstream, client, slow=False)

    def _pump(self, source: socket.socket, sink: socket.socket, *, slow: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if slow:
                    time.sleep(self.delay)
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
