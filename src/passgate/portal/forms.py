"""The page's form posts: from this page, small, and a form that parses, in that order.

The origin is checked before a byte of the body is read, so a foreign site
cannot make the page read (or spool) anything. The body is then read here,
capped at :data:`FORM_LIMIT` (refused at once by its ``Content-Length``, or
as soon as a chunked body grows past it), and parsed as the API parses
its forms (UTF-8 only). The forms are two: sign-out (``csrf``) and the
change (``csrf``, ``username``, three passwords of at most 128 characters),
so anything larger or with a file in it is no form of this page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect, Request

from passgate.api.body import FORM_TYPES, form_pairs
from passgate.errors import ValidationFailed

FORM_LIMIT = 16 * 1024  # the whole body, in bytes
MAX_FIELDS = 16
MAX_PART = 4 * 1024  # one field, as sent: 128 characters percent-encoded are at most 1.5 KiB
DEFAULT_PORTS = {"https": 443, "http": 80}


class FormRefused(Exception):
    """A post that is not read: its status, the catalogue's key and why (for the log)."""

    def __init__(self, status: int, key: str, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.key = key
        self.why = why


def normal_origin(value: str) -> str | None:
    """``scheme://host[:port]`` as a browser sends it (RFC 6454): lower case, no default port.

    None for what is no http(s) origin, such as ``null``.
    """
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return None
    host = parts.hostname  # lower-cased by urlsplit
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def from_this_page(request: Request, origin: str | None) -> bool:
    """A form post from this page: Fetch metadata and Origin, where the browser sends them."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    sent = request.headers.get("origin")
    return sent is None or (origin is not None and normal_origin(sent) == origin)


async def capped_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise FormRefused(400, "error.form", "an invalid Content-Length")
        if int(declared) > FORM_LIMIT:
            raise FormRefused(413, "error.too_large", f"a body over {FORM_LIMIT} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_LIMIT:
                raise FormRefused(413, "error.too_large", f"a body over {FORM_LIMIT} bytes")
    except ClientDisconnect:
        raise FormRefused(400, "error.form", "a body cut short") from None
    return bytes(body)


async def read_form(request: Request) -> FormData:
    """The post's form, read from a capped body; :class:`FormRefused` if it is none of ours.

    Parsed as the API parses its form bodies: UTF-8 only, never guessed as Latin-1
    (:func:`passgate.api.body.form_pairs`). A body of another media type has no fields
    (and so no anti-forgery token).
    """
    body = await capped_body(request)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() not in FORM_TYPES:
        return FormData()
    try:
        pairs = form_pairs(body, content_type, max_fields=MAX_FIELDS)
    except ValidationFailed as refused:
        # The reason (not UTF-8, no boundary, too many fields, a file ...) quotes no input.
        why = refused.problems[0].reason if refused.problems else "no form"
        raise FormRefused(
            400, "error.form", f"a body that is no form of this page ({why})"
        ) from None
    if any(len(value.encode()) > MAX_PART for _, value in pairs):
        raise FormRefused(400, "error.form", f"a field over {MAX_PART} bytes")
    return FormData(list[tuple[str, str | UploadFile]](pairs))
