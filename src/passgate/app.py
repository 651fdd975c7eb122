"""The FastAPI application, built by a factory from Settings (no work at import)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import traceback
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.telemetry import TelemetryConfig
from prometheus_client import start_http_server
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from passgate import __version__
from passgate.api import openapi, routes_ops, routes_v1, routes_workspace
from passgate.api.components import Components, Readiness, Threads
from passgate.api.observe import request_id_from
from passgate.api.routing import PresentedRoute, dispatch_directly, presenter_for
from passgate.auth.authenticator import authenticator_from_settings
from passgate.auth.base import Authenticator
from passgate.config import LdapSettings, Settings, metrics_listener_problem
from passgate.directory.base import Directory
from passgate.directory.ldap_directory import LdapDirectory
from passgate.errors import ConfigurationError, MethodNotAllowed, PassgateError, RouteNotFound
from passgate.limiter import AttemptLimiter
from passgate.observability import Auditor, Metrics
from passgate.policy.local import LocalRules
from passgate.service import PasswordService

log = logging.getLogger("passgate")


def directory_from_settings(settings: Settings) -> LdapDirectory:
    return LdapDirectory.from_settings(
        settings.ldap, name_attributes=settings.policy.name_attribute_list
    )


# Every answer is JSON (or the API document) that no browser should run, frame or refer from.
STRICT_CSP = b"default-src 'none'; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages load their script, styles and fonts from public CDNs
# (FastAPI's defaults) and start them with an inline script: their own, looser policy.
DOCS_CSP = (
    b"default-src 'none'; "
    b"script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src https://fonts.gstatic.com; "
    b"img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    b"connect-src 'self'; worker-src blob:; "
    b"frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", DOCS_CSP if path in DOCS_PATHS else STRICT_CSP),
    ]


def _encoded_slash(scope: Scope) -> bool:
    raw: bytes | None = scope.get("raw_path")
    return raw is not None and b"%" in raw and b"%2f" in raw.lower()


class ResponseGuard:
    """Every answer gets ``Cache-Control: no-store`` and the security headers
    (:func:`security_headers`); no exception escapes as a trace.

    Starlette re-raises unhandled exceptions to the server, which would log
    their message; here they become a 500 with the traceback's frames
    logged but not the message (a library's message could quote input).
    """

    def __init__(self, app: ASGIApp, direct: Sequence[PresentedRoute] = ()) -> None:
        self.app = app
        self.direct = tuple(direct)  # the change routes: answered without the router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from(incoming)
        scope.setdefault("state", {})["request_id"] = request_id

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                # A part that sets its own (the page: its CSP, referrers to itself) keeps it;
                # two CSP headers would both apply, and the strict one would block its script.
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    header
                    for header in security_headers(scope.get("path", ""))
                    if header[0] not in present
                )
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            if _encoded_slash(scope):
                # Routing reads the decoded path: /v1/users/<id>%2Fchange-password would be
                # the change endpoint to passgate and another path to a proxy in front.
                response = presenter_for(scope)(RouteNotFound(), Request(scope))
                await response(scope, receive, guarded_send)
            elif not await dispatch_directly(self.direct, scope, receive, guarded_send):
                await self.app(scope, receive, guarded_send)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "%s %s -> 5000: unexpected %s\n%s",
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                frames,
            )
            if not started:  # in the shape of the route that matched (v1's if none did)
                response = presenter_for(scope)(PassgateError(), Request(scope))
                await response(scope, receive, guarded_send)


def app_from_environment() -> FastAPI:
    """The factory ``passgate serve --workers N`` gives uvicorn (each worker builds its own)."""
    from passgate.config import load_settings
    from passgate.logging_setup import configure_logging

    configure_logging(os.environ.get("PASSGATE_LOG_LEVEL", "INFO"))
    return create_app(load_settings())


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Nothing to open at start (connections are made on first use); release at the end.

    Everything released here is made again on next use, so an app that is
    started twice (test clients do this) keeps working. With
    ``PASSGATE_METRICS_PORT`` set, ``/metrics`` is served on that port by
    prometheus_client's own small server (a thread), from this app's registry.
    """
    parts: Components = app.state.components
    http = parts.settings.http
    metrics_server = None
    if http.metrics_port is not None:
        try:
            metrics_server, _ = start_http_server(
                http.metrics_port, addr=http.metrics_host, registry=parts.metrics.registry
            )
        except OSError as exc:  # the port taken, the address not this host's
            problem = metrics_listener_problem(http.metrics_host, http.metrics_port, exc)
            log.error("%s", problem)
            raise ConfigurationError(problem) from None
        log.info("metrics on http://%s:%d/metrics", http.metrics_host, http.metrics_port)
    try:
        yield
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
    parts.threads.shutdown()
    parts.auditor.close()
    parts.service.directory.close()


def attempt_ttl(ldap: LdapSettings) -> float:
    """How long an entry's in-flight slot outlives a vanished holder (a crashed instance).

    Longer than any real attempt: the failure-state read, the bind, the
    change and the two settlement binds, each a connection and an operation
    at most, plus a margin.
    """
    return 5 * (ldap.connect_timeout + ldap.operation_timeout) + 5


def create_app(
    settings: Settings,
    *,
    directory: Directory | None = None,
    authenticator: Authenticator | None = None,
    limiter: AttemptLimiter | None = None,
) -> FastAPI:
    """Build the service. Tests pass their own directory or authenticator."""
    app = _routed(lifespan=_lifespan)
    the_directory = directory or directory_from_settings(settings)
    metrics = Metrics()
    the_limiter = limiter or AttemptLimiter.from_settings(
        settings.limiter, slot_ttl=attempt_ttl(settings.ldap)
    )
    the_limiter.on_trip = lambda scope: metrics.limiter_trips.labels(scope).inc()
    service = PasswordService(
        the_directory,
        LocalRules.from_settings(settings.policy),
        limiter=the_limiter,
        lockout_wait=settings.limiter.window,
    )
    service.on_guard = lambda: metrics.limiter_trips.labels("lockout").inc()
    pools = the_directory.instrument(metrics.observe_ldap)
    if pools:
        metrics.watch_pools(lambda: dict(pools))
    app.state.components = Components(
        settings=settings,
        authenticator=authenticator or authenticator_from_settings(settings.auth),
        service=service,
        threads=Threads(settings.ldap.max_concurrency),
        trusted_proxies=settings.http.trusted_proxy_networks,
        metrics=metrics,
        auditor=Auditor(settings.http.audit_log),
        readiness=Readiness(service.ping, settings.http.ready_cache_seconds),
    )
    if settings.portal.enabled:  # off by default; Authlib and Jinja2 load only when it is on
        from passgate.portal import portal_app

        app.mount("/portal", portal_app(settings.portal, app.state.components))
        app.add_route("/portal", _to_the_portal, methods=["GET", "HEAD"])
    app.add_middleware(ResponseGuard, direct=direct_routes())
    return app


NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


async def _to_the_portal(request: Request) -> Response:
    """``/portal`` -> ``/portal/``, relative: no Location is ever built from the Host header."""
    return RedirectResponse("portal/", status_code=307)


async def _http_refusal(request: Request, exc: Exception) -> Response:
    """HTTP's own 404 and 405 in the shape of the endpoint family the path belongs to."""
    assert isinstance(exc, HTTPException)
    error: PassgateError
    if exc.status_code == 404:
        error = RouteNotFound()
    elif exc.status_code == 405:
        error = MethodNotAllowed((exc.headers or {}).get("Allow", ""))
    else:
        return await http_exception_handler(request, exc)
    return presenter_for(request.scope)(error, request)


def _routed(lifespan: Lifespan[FastAPI] | None = None) -> FastAPI:
    """The routers (each answers errors in its family's shape) and the generated document.

    No slash redirects: Starlette builds their Location from the Host header, and a POST
    to ``.../change-password/`` is no change; it is a 404 like any other unknown path.
    """
    app = FastAPI(
        title="passgate",
        version=__version__,
        description="Change a password in an LDAP directory, verified by a bind as the user.",
        lifespan=lifespan,
        # passgate has its own metrics, logs and audit line and sets up no OpenTelemetry;
        # FastAPI would otherwise ask the tracer, meter and logger providers on every request.
        telemetry=NO_TELEMETRY,
        redirect_slashes=False,
        exception_handlers={HTTPException: _http_refusal},
    )
    # The change endpoints first: FastAPI tries routers in order, on every request.
    app.include_router(routes_v1.router)
    app.include_router(routes_workspace.router)
    app.include_router(routes_ops.router)
    openapi.drop_validation_422(app)
    return app


def direct_routes() -> list[PresentedRoute]:
    """The routes ResponseGuard answers itself (see routing.dispatch_directly)."""
    routes = [*routes_v1.router.routes, *routes_workspace.router.routes]
    return [route for route in routes if isinstance(route, PresentedRoute) and route.direct]


def schema_document() -> str:
    """The OpenAPI document as published in ``docs/openapi.json`` (no settings needed)."""
    document = _routed().openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
