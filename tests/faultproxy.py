"""A TCP proxy that cuts the connection around the first LDAP extended request.

Used to prove that passgate reports what the directory actually did when a
connection breaks mid-change (contract section 3, step 4).
"""

from __future__ import annotations

import socket
import threading
from enum import Enum

from tests.proxy import LoopbackProxy, close_quietly, forward

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
            close_quietly(client, upstream)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                if self._dropping:
                    self._dropped.set()
                    return
                client.sendall(data)
        except OSError:
            pass


# An LDAPMessage whose protocolOp is [APPLICATION 30]: no such operation. ldap3's decoder
# raises KeyError on it, as on the answers of a peer that does not speak LDAP.
GARBLED = b"\x30\x05\x02\x01\x01\x5e\x00"
BIND_REQUEST = 0x60  # [APPLICATION 0] constructed, RFC 4511 section 4.2


class GarbleProxy(LoopbackProxy):
    """Forwards, but answers the first bind whose DN contains ``marker`` with GARBLED."""

    def __init__(self, target_port: int, marker: bytes) -> None:
        self.marker = marker
        self.armed = True
        self.tripped = threading.Event()
        self._garbling: set[int] = set()  # the client sockets whose next answer is garbled
        super().__init__(target_port)

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        def watch(data: bytes) -> bytes:
            if self.armed and _op_tag(data) == BIND_REQUEST and self.marker in data:
                self.armed = False
                self._garbling.add(client.fileno())
            return data

        forward(client, upstream, watch)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        def garble(data: bytes) -> bytes:
            if client.fileno() in self._garbling:
                self._garbling.discard(client.fileno())
                self.tripped.set()
                return GARBLED
            return data

        forward(upstream, client, garble)
