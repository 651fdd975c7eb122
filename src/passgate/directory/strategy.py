"""ldap3's synchronous strategy, waiting on the event loop inside :func:`passgate.cooperative.run`.

Every operation ldap3 or :mod:`.wire` sends is answered through the
strategy's ``receiving``: here, before each read of the socket, the wait is
the event loop's, through the connection's own
:class:`~passgate.cooperative.SocketWatch` (the loop serves other requests
meanwhile; the reader stays on the socket until the socket is closed),
bounded by the connection's receive timeout exactly as the socket's own
timeout bounded it. Opening a connection (the TCP connect and
the TLS handshake) goes to a thread with :func:`~passgate.cooperative.off_loop`.
Outside ``run`` it is ldap3's strategy unchanged.

It reaches into ldap3 2.9.1's ``SyncStrategy`` (``receiving``,
``socket_size``, ``compute_ldap_message_size``), the version
``pyproject.toml`` pins. SASL's DIGEST-MD5 signing, which ldap3 handles in
``receiving``, is not used by passgate (simple binds only).
"""

from __future__ import annotations

import contextlib

import ldap3
from ldap3.core.exceptions import (
    LDAPExceptionError,
    LDAPSocketReceiveError,
    communication_exception_factory,
)
from ldap3.strategy.base import BaseStrategy
from ldap3.strategy.sync import SyncStrategy

from passgate import cooperative


class CooperativeStrategy(SyncStrategy):  # type: ignore[misc]  # ldap3 is untyped
    def __init__(self, ldap_connection: ldap3.Connection) -> None:
        super().__init__(ldap_connection)
        self.watch = cooperative.SocketWatch()  # the socket's reader, kept between answers

    def _close_socket(self) -> None:
        """ldap3's only way to close the socket: the loop lets go of it first."""
        self.watch.forget()
        SyncStrategy._close_socket(self)

    def open(self, reset_usage: bool = True, read_server_info: bool = True) -> None:
        cooperative.off_loop(SyncStrategy.open, self, reset_usage, read_server_info)

    def receiving(self) -> list[bytes]:
        """The complete LDAP messages that arrive next (ldap3's ``receiving``, without SASL)."""
        if not cooperative.bridged():
            messages: list[bytes] = SyncStrategy.receiving(self)
            return messages
        conn = self.connection
        messages = []
        unprocessed = b""
        while True:
            try:
                data = self.watch.recv(conn.socket, self.socket_size, conn.receive_timeout)
            except (OSError, AttributeError) as e:  # as ldap3's: close, then say why
                conn.last_error = "error receiving data: " + str(e)
                with contextlib.suppress(OSError, LDAPExceptionError):
                    self.close()
                raise communication_exception_factory(LDAPSocketReceiveError, type(e)(str(e)))(
                    conn.last_error
                ) from None
            if not data:  # the server closed the connection
                return messages
            unprocessed += data
            while True:
                length = BaseStrategy.compute_ldap_message_size(unprocessed)
                if length == -1 or len(unprocessed) < length:
                    break  # the rest of a message is still on its way
                messages.append(unprocessed[:length])
                unprocessed = unprocessed[length:]
                if not unprocessed:
                    return messages


def cooperating(conn: ldap3.Connection) -> ldap3.Connection:
    """The connection, made to use :class:`CooperativeStrategy` (before it is opened)."""
    strategy = CooperativeStrategy(conn)
    conn.strategy = strategy
    # What ldap3's Connection.__init__ took from the strategy it made.
    conn.send = strategy.send
    conn.open = strategy.open
    conn.get_response = strategy.get_response
    conn.post_send_single_response = strategy.post_send_single_response
    conn.post_send_search = strategy.post_send_search
    return conn
