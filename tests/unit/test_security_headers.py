"""ResponseGuard adds the security headers, but never a second copy of one a part set."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from passgate.app import ResponseGuard


async def page(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-security-policy", b"default-src 'self'"),
                (b"referrer-policy", b"same-origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"<html></html>"})


def headers_of(path: str) -> list[tuple[bytes, bytes]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    asyncio.run(ResponseGuard(page)(scope, receive, send))
    return list(sent[0]["headers"])


def test_a_part_that_sets_its_own_policy_keeps_it_alone() -> None:
    headers = headers_of("/portal/")
    assert [v for n, v in headers if n == b"content-security-policy"] == [b"default-src 'self'"]
    assert [v for n, v in headers if n == b"referrer-policy"] == [b"same-origin"]
    assert (b"x-content-type-options", b"nosniff") in headers  # the ones it did not set are added
