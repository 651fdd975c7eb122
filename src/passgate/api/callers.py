"""Who is calling: the credentials each endpoint accepts, the caller, and what they may do.

The three security schemes are dependencies that only *read* (so FastAPI
documents them); the caller dependencies decide what the credentials mean,
so a check that the contract puts first (an API key on the workspace
endpoint: 403) is not overtaken by a malformed header.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.types import Scope

from passgate.api.components import Components
from passgate.api.deps import attempt_of, parts_of
from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.errors import Forbidden, InvalidCredentials

API_KEY_REFUSED = "Service accounts cannot access this endpoint via API keys"
SERVICE_ACCOUNT_REFUSED = "Service accounts have no workspace account password to change"

# Far above any real token (Keycloak's access tokens are 1-3 KiB) and below what
# costs the event loop anything to look at: a credential longer than this is
# refused before any of it is split, decoded, hashed or logged.
MAX_CREDENTIAL_BYTES = 16 * 1024
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")
_LONGEST_NAME = 3 * len("access_token") + 16  # percent-encoded, with some slack


def _names_access_token(raw_name: bytes) -> bool:
    if len(raw_name) > _LONGEST_NAME:
        return False
    return unquote_plus(raw_name.decode("latin-1")) == "access_token"  # as Starlette reads it


def refuse_oversized_credentials(scope: Scope) -> None:
    """401 for a credential over MAX_CREDENTIAL_BYTES (the ``Authorization`` or
    ``X-API-Key`` header, or an ``access_token`` query parameter), and for a
    credential header given twice (neither is a list; the first is not more
    right than the second).

    Reads the raw header list and query string only; nothing of the value is
    kept or logged.
    """
    seen: list[bytes] = []
    for name, value in scope.get("headers", ()):
        if name in CREDENTIAL_HEADERS:
            if len(value) > MAX_CREDENTIAL_BYTES:
                raise InvalidCredentials(
                    f"credentials over {MAX_CREDENTIAL_BYTES} bytes ({name.decode()} header)"
                )
            if name in seen:
                raise InvalidCredentials(f"the {name.decode()} header given more than once")
            seen.append(name)
    query: bytes = scope.get("query_string", b"")
    if len(query) > MAX_CREDENTIAL_BYTES:
        for parameter in query.split(b"&"):
            if len(parameter) <= MAX_CREDENTIAL_BYTES:
                continue
            if _names_access_token(parameter.partition(b"=")[0]):
                raise InvalidCredentials(
                    f"credentials over {MAX_CREDENTIAL_BYTES} bytes (access_token parameter)"
                )


# The credentials each family accepts, as OpenAPI security schemes. They are
# documented, not solved per request: each dependency FastAPI solves costs
# some 10-15 microseconds of bookkeeping, and reading a header costs less
# than that, so the caller dependencies below read the request themselves.
bearer = HTTPBearer(scheme_name="bearer", bearerFormat="JWT", auto_error=False)
api_key = APIKeyHeader(name="X-API-Key", scheme_name="apiKey", auto_error=False)
access_token = APIKeyQuery(name="access_token", scheme_name="accessToken", auto_error=False)
V1_SCHEMES = (bearer, api_key)
WORKSPACE_SCHEMES = (bearer, access_token)


def security(*schemes: SecurityBase) -> dict[str, Any]:
    """A route's ``openapi_extra``: any one of these schemes authenticates it."""
    return {"security": [{scheme.scheme_name: []} for scheme in schemes]}


def security_schemes() -> dict[str, Any]:
    """The ``components.securitySchemes`` of the document, from the scheme objects."""
    return {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in (bearer, api_key, access_token)
    }


def credentials_from(authorization: str | None, key: str | None) -> Credentials:
    """``Authorization: Bearer <JWT>`` or ``X-API-Key``; any other scheme is refused."""
    token = None
    if authorization is not None and authorization.strip():
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            # Not even a prefix of it: an unknown scheme may be an API key sent the wrong way.
            raise InvalidCredentials("unsupported authorization scheme")
        token = value.strip() or None
    return Credentials(bearer_token=token, api_key=key)


async def authenticate(parts: Components, credentials: Credentials) -> Caller:
    """On the event loop: token checks are CPU-only once keys are cached; a JWKS
    fetch (at most once per PASSGATE_AUTH_JWKS_MIN_REFRESH_INTERVAL) goes to a thread."""
    if parts.authenticator.needs_io(credentials):
        return await parts.threads.run(parts.authenticator.authenticate, credentials)  # rare
    return parts.authenticator.authenticate(credentials)


async def header_caller(request: Request) -> Caller:
    """The caller from ``Authorization: Bearer`` or ``X-API-Key`` (v1)."""
    headers = request.headers
    credentials = credentials_from(headers.get("authorization"), headers.get("x-api-key") or None)
    caller = await authenticate(parts_of(request), credentials)
    attempt_of(request).caller = caller
    return caller


def refuse_api_keys(request: Request) -> None:
    """403 for any ``X-API-Key`` header on the workspace family, empty or oversized alike:
    the contract puts that refusal before any reading of credentials."""
    if "x-api-key" in request.headers:
        raise Forbidden("API key on the workspace endpoint", public_detail=API_KEY_REFUSED)


async def workspace_caller(request: Request) -> Caller:
    """A person's bearer token, from the header or the ``access_token`` query parameter."""
    refuse_api_keys(request)
    credentials = credentials_from(request.headers.get("authorization"), None)
    if not credentials.bearer_token:
        tokens = request.query_params.getlist("access_token")
        if len(tokens) > 1:
            raise InvalidCredentials("the access_token parameter given more than once")
        credentials = Credentials(bearer_token=(tokens[0] or None) if tokens else None)
    caller = await authenticate(parts_of(request), credentials)
    if caller.kind is not CallerKind.USER:
        raise Forbidden(
            f"{caller.kind} {caller.name} on the workspace endpoint",
            public_detail=SERVICE_ACCOUNT_REFUSED,
        )
    attempt = attempt_of(request)
    attempt.caller = caller
    attempt.target = caller.user_id or caller.username
    return caller


CurrentCaller = Annotated[Caller, Depends(header_caller)]
WorkspaceCaller = Annotated[Caller, Depends(workspace_caller)]


def authorize(caller: Caller, user_id: str, admin_role: str) -> None:
    """The user themselves, or a caller holding the admin role (a helpdesk tool)."""
    if caller.is_user(user_id) or caller.has_role(admin_role):
        return
    raise Forbidden(f"{caller.kind} {caller.name} may not change the password of {user_id}")
