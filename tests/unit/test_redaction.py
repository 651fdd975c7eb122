"""The access log's redaction of ``access_token``, however the query spells it."""

from __future__ import annotations

import pytest

from passgate.logging_setup import redact


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "ACCESS_TOKEN",
        "Access_Token",
        "access%5Ftoken",
        "access%5ftoken",
        "%61ccess%5Ftoken",
        "access%255Ftoken",
        "access+token",
        "access%20token",
        "%20access_token",
    ],
)
def test_every_spelling_is_redacted(name: str) -> None:
    line = f'"POST /api/x?a=1&{name}=eyJ.secret.sig&b=2 HTTP/1.1" 200'
    assert redact(line) == f'"POST /api/x?a=1&{name}=[REDACTED]&b=2 HTTP/1.1" 200'


def test_other_parameters_are_left_alone() -> None:
    line = "/v1/password-policy?userId=abc&access=1&token=2&my_access_token=3"
    assert redact(line) == line
