"""The client's address, as the attempt limiter counts it.

``X-Forwarded-For`` is believed only when the peer is a configured trusted
proxy: the list is walked from the right (the hop nearest passgate), past
every trusted proxy, to the first address that is not one. Anything else
could be written by the client itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

from passgate.config import Network


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: Request, trusted: Sequence[Network]) -> str | None:
    peer = request.client.host if request.client else None
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    address = peer
    for hop in reversed([h for h in hops if h]):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # not an address: stop at the last hop we could believe
        if not _trusted(address, trusted):
            break
    return address
