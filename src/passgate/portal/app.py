"""The self-service page as an ASGI app, mounted at ``/portal`` by ``create_app``."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
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


def answered(portal: Portal, page: Page) -> Page:
    """``page``, or for anything it did not expect, the page's own 500 (never a trace).

    As :class:`passgate.app.ResponseGuard` does for the API: the traceback's
    frames are logged, not the exception's message (a library's message could
    quote input); the person gets a page in their language, with this page's
    headers, instead of the API's JSON.
    """

    async def answer(request: Request) -> Response:
        try:
            return await page(request)
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
    return Starlette(routes=routes, middleware=middleware)
