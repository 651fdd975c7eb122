"""The demo's printed addresses: an IPv6 host in brackets, as curl and browsers want it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from passgate.dev.demo import base_url, portal_url


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("localhost", "http://localhost:8080"),
        ("::1", "http://[::1]:8080"),  # before: http://::1:8080, which curl refuses
    ],
)
def test_base_url(host: str, expected: str) -> None:
    assert base_url(host, 8080) == expected
    assert urlsplit(expected).port == 8080


def test_the_page_on_ipv6_loopback() -> None:
    assert portal_url("::1", 8080) == "http://[::1]:8080/portal/"
    assert portal_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/portal/"
