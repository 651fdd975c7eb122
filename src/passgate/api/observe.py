"""Per-request bookkeeping: the request id, the outcome metric, the audit line."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from types import TracebackType

from fastapi import Request

from passgate.api.client_address import client_address
from passgate.api.components import Components
from passgate.api.error_table import INTERNAL, spec_for
from passgate.auth.base import Caller
from passgate.errors import PassgateError, PasswordPolicyRejected
from passgate.observability import AuditRecord, now_iso
from passgate.timing import Phases

log = logging.getLogger("passgate")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()  # 32 hex digits, as uuid4().hex gave, without the object


@dataclass
class Attempt:
    """The client's address (as the limiter counts it); the route fills in who asks for whom."""

    address: str | None
    caller: Caller | None = None
    target: str | None = None
    phases: Phases = field(default_factory=Phases)


def observed(request: Request, app: Components, endpoint: str, *, audit: bool) -> Observed:
    """``async with observed(...) as attempt:``: the request counted by its outcome, and
    (``audit``) its audit line written, however the block ends."""
    return Observed(request, app, endpoint, audit)


class Observed:
    """:func:`observed` (a class, not an async generator: it wraps every change)."""

    __slots__ = ("_app", "_attempt", "_audit", "_endpoint", "_request")

    def __init__(self, request: Request, app: Components, endpoint: str, audit: bool) -> None:
        self._request = request
        self._app = app
        self._endpoint = endpoint
        self._audit = audit
        self._attempt: Attempt | None = None

    async def __aenter__(self) -> Attempt:
        self._attempt = Attempt(client_address(self._request, self._app.trusted_proxies))
        return self._attempt

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        outcome, reason = 200, None
        if isinstance(error, PassgateError):
            outcome = spec_for(error).code
            if isinstance(error, PasswordPolicyRejected):
                reason = error.reason.value
        elif isinstance(error, Exception):
            outcome = 5000
        app, attempt = self._app, self._attempt
        assert attempt is not None
        app.metrics.count_request(self._endpoint, outcome)
        if self._audit and app.auditor.enabled:
            phases = attempt.phases
            with phases.timed("audit"):
                caller = attempt.caller
                app.auditor.write(
                    AuditRecord(
                        time=now_iso(),
                        request_id=getattr(self._request.state, "request_id", "") or "",
                        endpoint=self._endpoint,
                        caller_kind=caller.kind.value if caller else None,
                        caller=caller.name if caller else None,
                        target_user_id=attempt.target,
                        outcome=outcome,
                        reason=reason,
                        client_address=attempt.address,
                        duration_ms=round(phases.total() * 1000, 2),
                    )
                )


def log_refusal(request: Request, error: PassgateError) -> None:
    """One line per refused request: the contract code, and why (never a password)."""
    spec = spec_for(error)
    where = f"{request.method} {request.url.path}"
    if spec is INTERNAL:
        log.error("%s -> %s: %s", where, spec.code, error.log_message or type(error).__name__)
    else:
        log.info("%s -> %s: %s", where, spec.code, error.log_message or type(error).__name__)
