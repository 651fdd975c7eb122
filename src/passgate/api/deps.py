"""FastAPI dependencies: the pieces every route needs, taken from ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request

from passgate.auth.base import Authenticator, Caller, Credentials
from passgate.config import Settings
from passgate.errors import InvalidCredentials
from passgate.service import PasswordService


@dataclass
class Components:
    """What a running app is made of; built once by :func:`passgate.app.create_app`."""

    settings: Settings
    authenticator: Authenticator
    service: PasswordService
    ldap_slots: anyio.CapacityLimiter


def components(request: Request) -> Components:
    found: Components = request.app.state.components
    return found


def credentials_from_headers(request: Request) -> Credentials:
    """``Authorization: Bearer <JWT>`` or ``X-API-Key``; any other scheme is refused."""
    header = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key") or None
    token = None
    if header is not None and header.strip():
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise InvalidCredentials(f"unsupported authorization scheme {scheme[:20]!r}")
        token = value.strip() or None
    return Credentials(bearer_token=token, api_key=api_key)


def header_caller(request: Request, parts: Annotated[Components, Depends(components)]) -> Caller:
    return parts.authenticator.authenticate(credentials_from_headers(request))


App = Annotated[Components, Depends(components)]
HeaderCaller = Annotated[Caller, Depends(header_caller)]
