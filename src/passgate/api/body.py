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
import logging
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

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


MAX_FORM_FIELDS = 32
# type/subtype as RFC 9110 spells them, short: what a refusal may quote of a client's header.
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}")
# python-multipart's warnings quote bytes of the body it could not parse (a password's,
# perhaps), and any client can cause them: its refusals are said by the 400 instead.
logging.getLogger("python_multipart").setLevel(logging.ERROR)


def _utf8(raw: bytes | bytearray) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_body("not UTF-8") from None


def _check_charset(params: dict[bytes, bytes]) -> None:
    """UTF-8 or no charset at all (what browsers send): the bytes are read as UTF-8 only."""
    charset = params.get(b"charset")
    if charset is not None and charset.strip(b'" ').lower() not in (b"utf-8", b"utf8"):
        raise _bad_body("unsupported charset (UTF-8 only)")


def _urlencoded(raw: bytes, max_fields: int) -> list[tuple[str, str]]:
    """The WHATWG urlencoded parser's pairs: split at ``&``, ``+`` a space, escapes UTF-8."""
    try:
        return parse_qsl(
            _utf8(raw),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except UnicodeDecodeError:  # a percent-escape that is not UTF-8
        raise _bad_body("not UTF-8") from None
    except ValueError:  # more than max_fields
        raise _bad_body("malformed form data") from None


class _Part:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.header = (b"", b"")
        self.name: bytes | None = None
        self.data = bytearray()


def _multipart(raw: bytes, params: dict[bytes, bytes], max_fields: int) -> list[tuple[str, str]]:
    """python-multipart's parser over the bounded bytes; named text parts only."""
    boundary = params.get(b"boundary")
    if not boundary:
        raise _bad_body("malformed form data")
    parts: list[_Part] = []
    current = _Part()

    def begin() -> None:
        nonlocal current
        current = _Part()

    def header_field(data: bytes, start: int, end: int) -> None:
        current.header = (current.header[0] + data[start:end], current.header[1])

    def header_value(data: bytes, start: int, end: int) -> None:
        current.header = (current.header[0], current.header[1] + data[start:end])

    def header_end() -> None:
        name, value = current.header
        current.headers[name.lower()] = value
        current.header = (b"", b"")

    def headers_finished() -> None:
        _, options = parse_options_header(current.headers.get(b"content-disposition", b""))
        current.name = options.get(b"name")
        _, part_params = parse_options_header(current.headers.get(b"content-type", b""))
        if current.name is None or b"filename" in options or len(parts) >= max_fields:
            raise _bad_body("malformed form data")  # a file is no password
        _check_charset(part_params)

    def data(data: bytes, start: int, end: int) -> None:
        current.data += data[start:end]

    def end() -> None:
        parts.append(current)

    callbacks: Any = {
        "on_part_begin": begin,
        "on_header_field": header_field,
        "on_header_value": header_value,
        "on_header_end": header_end,
        "on_headers_finished": headers_finished,
        "on_part_data": data,
        "on_part_end": end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(raw)
        parser.finalize()
    except FormParserError:
        raise _bad_body("malformed form data") from None
    return [(_utf8(part.name or b""), _utf8(part.data)) for part in parts]


def form_pairs(
    raw: bytes, content_type: str, max_fields: int = MAX_FORM_FIELDS
) -> list[tuple[str, str]]:
    """A form's fields in order, its text UTF-8 only (no Latin-1 guess: the password is
    the one sent); ``ValidationFailed`` naming the ``body`` otherwise. ``content_type``
    is one of :data:`FORM_TYPES`, with its parameters."""
    media_type, params = parse_options_header(content_type)
    _check_charset(params)
    if media_type == b"multipart/form-data":
        return _multipart(raw, params, max_fields)
    return _urlencoded(raw, max_fields)


def _form_fields(raw: bytes, content_type: str, names: Collection[str]) -> dict[str, Any]:
    """A field the endpoint reads (``names``, any case) may come once; others are ignored."""
    pairs = form_pairs(raw, content_type)
    wanted = {name.casefold() for name in names}
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in pairs:
        folded = key.casefold()
        if folded in wanted:
            if folded in seen:
                raise _bad_body("duplicate form fields")
            seen.add(folded)
        fields[key] = value
    return fields


async def read_fields(request: Request, names: Collection[str]) -> dict[str, Any]:
    """The body's fields; ``names`` are those the endpoint reads (a form may not repeat them)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await read_limited(request)
    if media_type in FORM_TYPES:
        return _form_fields(raw, request.headers.get("content-type", ""), names)
    if not raw.strip():
        return {}
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        shown = media_type if MEDIA_TYPE.fullmatch(media_type) else "(not a media type)"
        raise _bad_body(f"unsupported media type {shown}")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise _bad_body("must be a JSON object")
    return data
