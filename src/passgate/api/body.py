"""Reading a request body the same way whatever its media type.

JSON, ``application/x-www-form-urlencoded`` and ``multipart/form-data`` all
become a flat ``dict`` of field name to value; anything else is a
validation failure naming the ``body``. A dependency reads it (not a
FastAPI body parameter): FastAPI reads its own bodies before any dependency
runs, and the contract wants authentication checked first.

The body is read as it streams and refused as soon as it passes
:data:`MAX_BODY_BYTES` (a chunked body declares no length), so no more than
that is ever held. JSON is held to RFC 8259 and to what a password body
needs: UTF-8 (a leading byte order mark is ignored, as section 8.1 allows
parsers to), no duplicate member names, no ``NaN``/``Infinity``, no number
longer than :data:`MAX_NUMBER_CHARS` characters, no nesting deep enough to
exhaust the parser's recursion. Each is a 400 with its reason, never a 500.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Collection
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from passgate.errors import FieldProblem, ProblemKind, ValidationFailed

MAX_BODY_BYTES = 64 * 1024
MAX_NUMBER_CHARS = 64

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class _Refused(ValueError):
    """A JSON body the parser could read but passgate will not (the reason is public)."""


def _bad_body(reason: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem("body", reason, ProblemKind.INVALID_BODY)])


async def read_limited(request: Request) -> bytes:
    """The whole body, or a 400 as soon as it passes MAX_BODY_BYTES (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _bad_body(f"larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _bad_body(f"larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # The connection closed before the body was whole (the client went away, or
        # took longer than PASSGATE_HTTP_REQUEST_TIMEOUT): a bad body, not a 500.
        raise _bad_body("the connection closed before the body arrived") from None
    return b"".join(chunks)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _Refused("duplicate member names")
    return members


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused("number too large")
        return kind(text)

    return parse


def _no_constants(name: str) -> Any:
    raise _Refused("malformed JSON")  # NaN, Infinity, -Infinity: not JSON (RFC 8259 section 6)


# Built once: json.loads with any hook builds a decoder (and its scanner) per call.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_members,
    parse_int=_number(int),
    parse_float=_number(float),
    parse_constant=_no_constants,
)


def parse_json(raw: bytes) -> Any:
    """RFC 8259 JSON from UTF-8 bytes, with the limits in the module docstring."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_body("not UTF-8") from None
    try:
        return _DECODER.decode(text)
    except _Refused as refused:
        raise _bad_body(str(refused)) from None
    except RecursionError:
        raise _bad_body("nested too deeply") from None
    except ValueError:
        raise _bad_body("malformed JSON") from None


async def _form_fields(request: Request, raw: bytes, names: Collection[str]) -> dict[str, Any]:
    """Starlette's form parsers, fed the bytes already read (and so already bounded).

    A field the endpoint reads (``names``, any case) may come once; others are ignored.
    """
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=0, max_fields=32)
    except Exception:
        raise _bad_body("malformed form data") from None
    wanted = {name.casefold() for name in names}
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in form.multi_items():
        folded = key.casefold()
        if folded in wanted:
            if folded in seen:
                raise _bad_body("duplicate form fields")
            seen.add(folded)
        fields[key] = None if isinstance(value, UploadFile) else value
    return fields


async def read_fields(request: Request, names: Collection[str]) -> dict[str, Any]:
    """The body's fields; ``names`` are those the endpoint reads (a form may not repeat them)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await read_limited(request)
    if media_type in FORM_TYPES:
        return await _form_fields(request, raw, names)
    if not raw.strip():
        return {}
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise _bad_body(f"unsupported media type {media_type}")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise _bad_body("must be a JSON object")
    return data
