"""Reading a request body the same way whatever its media type.

JSON, ``application/x-www-form-urlencoded`` and ``multipart/form-data`` all
become a flat ``dict`` of field name to value; anything else is a
validation failure naming the ``body``. A dependency reads it (not a
FastAPI body parameter): FastAPI reads its own bodies before any dependency
runs, and the contract wants authentication checked first.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from passgate.errors import FieldProblem, ProblemKind, ValidationFailed

MAX_BODY_BYTES = 64 * 1024

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _bad_body(reason: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem("body", reason, ProblemKind.INVALID_BODY)])


async def read_fields(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _bad_body(f"larger than {MAX_BODY_BYTES} bytes")
    if media_type in FORM_TYPES:
        try:
            form = await request.form(max_files=0, max_fields=32)
        except Exception:
            raise _bad_body("malformed form data") from None
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            fields[key] = None if isinstance(value, UploadFile) else value
        return fields
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _bad_body(f"larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise _bad_body(f"unsupported media type {media_type}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad_body("malformed JSON") from None
    if not isinstance(data, dict):
        raise _bad_body("must be a JSON object")
    return data
