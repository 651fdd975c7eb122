"""A TCP proxy that cuts the connection around the first LDAP extended request.

Used to prove that passgate reports what the directory actually did when a
connection breaks mid-change (contract section 3, step 4).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from enum import Enum

from tests.proxy import LoopbackProxy

EXTENDED_REQUEST = 0x77  # [APPLICATION 23] constructed, RFC 4511 section 4.12


class Cut(Enum):
    BEFORE_FORWARDING = "before"  # the server never sees the request
    AFTER_FORWARDING = "after"  # the server gets it; the client never sees the answer


def _op_tag(message: bytes) -> int | None:
    """The protocolOp tag of a BER LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp ... }."""
    try:
        if message[0] != 0x30:
            return None
        i = 2 if message[1] < 0x80 else 2 + (message[1] & 0x7F)
        if message[i] != 0x02:
            return None
        return message[i + 2 + message[i + 1]]
    except IndexError:
        return None


class FaultProxy(LoopbackProxy):
    def __init__(self, target_port: int, cut: Cut) -> None:
        self.cut = cut
        self.armed = True
        self.tripped = threading.Event()
        self._dropping = False
        self._dropped = threading.Event()
        super().__init__(target_port)

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                if self.armed and _op_tag(data) == EXTENDED_REQUEST:
                    self.armed = False
                    if self.cut is Cut.AFTER_FORWARDING:
                        # The server acts on it; its answer is swallowed.
                        self._dropping = True
                        upstream.sendall(data)
                        self._dropped.wait(timeout=5)
                        self._dropping = False
                    self.tripped.set()
                    client.shutdown(socket.SHUT_RDWR)
                    client.close()
                    upstream.close()
                    return
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                if self._dropping:
                    self._dropped.set()
                    return
                client.sendall(data)
        except OSError:
            pass
