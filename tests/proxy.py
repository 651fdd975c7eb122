"""A loopback TCP proxy in front of the test directory: the shape the fault proxies share.

Each accepted connection gets an upstream connection to the target and two
pumping threads; subclasses decide what happens to the bytes on the way.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


def close_quietly(*sockets: socket.socket) -> None:
    for each in sockets:
        with contextlib.suppress(OSError):
            each.close()


def forward(source: socket.socket, target: socket.socket, change: Callable[[bytes], bytes]) -> None:
    """Pump ``source`` into ``target`` through ``change`` until either side ends; close both."""
    try:
        while data := source.recv(65536):
            target.sendall(change(data))
    except OSError:
        pass
    finally:
        close_quietly(source, target)


class LoopbackProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client), daemon=True).start()

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        """Requests, client to directory."""
        raise NotImplementedError

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        """Answers, directory to client."""
        raise NotImplementedError
