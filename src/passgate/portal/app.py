"""The self-service page as an ASGI app, mounted at ``/portal`` by ``create_app``."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passgate.api.components import Components
from passgate.config import PortalSettings
from passgate.portal.pages import SESSION_SECONDS, Portal
from passgate.portal.session import COOKIE, derived_key

STATIC = Path(__file__).parent / "static"

log = logging.getLogger("passgate")


def content_security_policy(settings: PortalSettings) -> str:
    """Only the page's own files; forms post here, or (sign-out) go on to the issuer."""
    issuer = urlsplit(str(settings.issuer_url))
    images = "'self'"
    if settings.logo_url and settings.logo_url.startswith("https://"):
        logo = urlsplit(settings.logo_url)
        images += f" https://{logo.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            f"form-action 'self' {issuer.scheme}://{issuer.netloc}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class SecurityHeaders:
    """Every answer of the page: its CSP, no framing, no sniffing, referrers only to itself.

    Not ``no-referrer``: with it, Chromium sends ``Origin: null`` on the page's
    own form posts, which the origin check must refuse.
    """

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


Page = Callable[[Request], Awaitable[Response]]
# Starlette's own refusals (routing, form parsing) -> the catalogue's key.
HTTP_MESSAGES = {
    400: "error.form",
    404: "error.no_page",
    405: "error.no_page",
    413: "error.too_large",
}


def http_problem(portal: Portal, request: Request, exc: HTTPException) -> Response:
    """A Starlette HTTPException as the page's problem page, with its status and headers."""
    fallback = "error.internal" if exc.status_code >= 500 else "error.form"
    response = portal.problem(
        request, exc.status_code, HTTP_MESSAGES.get(exc.status_code, fallback)
    )
    for name, value in (exc.headers or {}).items():  # 405's Allow
        response.headers[name] = value
    return response


def not_routed(portal: Portal) -> Callable[[Request, Exception], Awaitable[Response]]:
    """No route (404), not its method (405): the page's problem page, not Starlette's text."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # registered for HTTPException only
            raise exc
        return http_problem(portal, request, exc)

    return handler


def answered(portal: Portal, page: Page) -> Page:
    """``page``, or for anything it did not expect, the page's own 500 (never a trace).

    As :class:`passgate.app.ResponseGuard` does for the API: the traceback's
    frames are logged, not the exception's message (a library's message could
    quote input); the person gets a page in their language, with this page's
    headers, instead of the API's JSON. A Starlette HTTPException keeps its
    status (a form that does not parse is 400, not 500).
    """

    async def answer(request: Request) -> Response:
        try:
            return await page(request)
        except HTTPException as exc:
            log.warning("portal: %s %s -> %d", request.method, request.url.path, exc.status_code)
            return http_problem(portal, request, exc)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "%s %s -> 5000: unexpected %s\n%s",
                request.method,
                request.url.path,
                type(exc).__name__,
                frames,
            )
            return portal.problem(request, 500, "error.internal")

    return answer


def portal_app(settings: PortalSettings, parts: Components) -> Starlette:
    portal = Portal(settings, parts)
    secret = settings.cookie_secret.get_secret_value() if settings.cookie_secret else ""
    routes: list[BaseRoute] = [
        Route(path, answered(portal, page), methods=[method])
        for path, page, method in (
            ("/", portal.home, "GET"),
            ("/login", portal.login, "GET"),
            ("/callback", portal.callback, "GET"),
            ("/change", portal.change, "POST"),
            ("/done", portal.done, "GET"),
            ("/logout", portal.logout, "POST"),
            ("/signed-out", portal.signed_out, "GET"),
            ("/theme.css", portal.theme, "GET"),
        )
    ]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    middleware = [
        Middleware(SecurityHeaders, csp=content_security_policy(settings)),
        Middleware(
            SessionMiddleware,
            secret_key=derived_key(secret, "portal session").hex(),
            session_cookie=COOKIE,
            max_age=SESSION_SECONDS,
            path=portal.base or "/",
            same_site="lax",
            https_only=settings.secure_cookie,
        ),
    ]
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: not_routed(portal)}
    )
    # No redirect from /login/ to /login: Starlette builds its Location from the Host
    # header, which a client chooses. A path with a slash too many is simply not a page.
    app.router.redirect_slashes = False
    return app
