"""How each endpoint writes an answer: the v1 envelope (contract section 1)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from passgate.api.error_table import spec_for
from passgate.errors import PassgateError, PasswordPolicyRejected, TooManyAttempts, ValidationFailed


def v1_success() -> JSONResponse:
    return JSONResponse({"status": True, "data": {"passwordChanged": "OK"}})


def v1_error(error: PassgateError) -> JSONResponse:
    spec = spec_for(error)
    body: dict[str, Any] = {"code": spec.code, "message": spec.message}
    if isinstance(error, ValidationFailed):
        body["details"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
    elif isinstance(error, PasswordPolicyRejected):
        body["details"] = [{"field": "newPassword", "reason": error.reason.value}]
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse({"status": False, "error": body}, status_code=spec.status, headers=headers)
