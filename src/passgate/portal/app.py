"""The self-service page as an ASGI app, mounted at ``/portal`` by ``create_app``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passgate.api.components import Components
from passgate.config import PortalSettings
from passgate.portal.pages import SESSION_SECONDS, Portal
from passgate.portal.session import COOKIE, derived_key

STATIC = Path(__file__).parent / "static"


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


def portal_app(settings: PortalSettings, parts: Components) -> Starlette:
    portal = Portal(settings, parts)
    secret = settings.cookie_secret.get_secret_value() if settings.cookie_secret else ""
    routes = [
        Route("/", portal.home, methods=["GET"]),
        Route("/login", portal.login, methods=["GET"]),
        Route("/callback", portal.callback, methods=["GET"]),
        Route("/change", portal.change, methods=["POST"]),
        Route("/done", portal.done, methods=["GET"]),
        Route("/logout", portal.logout, methods=["POST"]),
        Route("/signed-out", portal.signed_out, methods=["GET"]),
        Route("/theme.css", portal.theme, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
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
