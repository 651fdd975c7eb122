"""The self-service page for browser tests: passgate served on loopback, Chromium driving it.

passgate runs in a thread (uvicorn) in front of the session's slapd,
trusting the session's Keycloak realm, with the page on; Chromium is
Debian's (``/usr/bin/chromium``), driven headless by Playwright, which
never downloads a browser here. axe-core comes from npm
(``tests/browser``, installed by ``scripts/setup.sh``).
"""

from __future__ import annotations

import http.server
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from passgate.app import create_app
from passgate.config import load_settings
from passgate.dev.process import free_port
from passgate.dev.slapd import Slapd
from passgate.portal.session import TOKEN_COOKIE, TokenBox, Tokens
from tests.conftest import started
from tests.keycloak.conftest import KeycloakRealm, passgate_settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PASSGATE_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "output" / "portal"
HELPDESK = "the IT service desk (extension 4711)"
JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}")


class BrowserUnavailable(RuntimeError):
    """Chromium, Playwright or axe-core is missing (scripts/setup.sh installs them)."""


@dataclass
class PortalSite:
    """passgate with the page on, in a thread; ``url`` is its base."""

    url: str
    cookie_secret: str = field(repr=False)

    @property
    def page(self) -> str:
        return self.url + "/portal/"

    def tokens_in(self, cookies: list[dict[str, Any]]) -> Tokens | None:
        """The tokens sealed in the browser's cookie (the test knows the secret)."""
        for cookie in cookies:
            if cookie["name"] == TOKEN_COOKIE:
                assert cookie["httpOnly"]
                assert cookie["sameSite"] == "Lax"
                assert len(cookie["value"]) < 3500, len(cookie["value"])  # browsers keep 4 KiB
                return TokenBox(self.cookie_secret).open(cookie["value"])
        return None


@dataclass
class Served:
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve_in_thread(app: Any, port: int) -> Served:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("passgate did not start")
        time.sleep(0.05)
    return Served(server, thread)


def start_portal(realm: KeycloakRealm, slapd: Slapd) -> Iterator[PortalSite]:
    port = free_port()
    secret = secrets.token_urlsafe(32)
    settings = load_settings(
        _env_file=None,
        **passgate_settings(
            realm,
            slapd,
            portal_enabled=True,
            portal_issuer_url=realm.issuer,
            portal_client_id="password-portal",
            portal_redirect_url=f"http://127.0.0.1:{port}/portal/callback",
            portal_cookie_secret=secret,
            portal_helpdesk=HELPDESK,
            # Every test's browser comes from 127.0.0.1: count per person only.
            limiter_address_failures=0,
            audit_log="off",
        ),
    )
    served = serve_in_thread(create_app(settings), port)
    try:
        yield PortalSite(f"http://127.0.0.1:{port}", secret)
    finally:
        served.stop()


class OnePage:
    """A loopback HTTP server answering every GET with one HTML page, until closed."""

    def __init__(self, page: bytes, host: str = "127.0.0.1", path: str = "/") -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}{path}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ForeignSite(OnePage):
    """Another origin (``localhost`` rather than ``127.0.0.1``): a page with a form to the portal."""

    def __init__(self, target: str) -> None:
        page = (
            "<!doctype html><html lang=en><title>elsewhere</title>"
            f'<form method=post action="{target}">'
            '<input name=csrf value=guessed><input name=current value="x">'
            '<input name=new value="Evil-Passw0rd-123"><input name=confirm value="Evil-Passw0rd-123">'
            "<button id=go>Win a prize</button></form></html>"
        ).encode()
        super().__init__(page, host="localhost")


def launch_browser() -> tuple[Any, Any]:
    """Playwright and a headless Debian Chromium, or BrowserUnavailable."""
    if not CHROMIUM.exists():
        raise BrowserUnavailable(f"{CHROMIUM} not found: apt-get install chromium")
    if not AXE.exists():
        raise BrowserUnavailable(f"{AXE} not found: npm ci --prefix tests/browser")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(f"playwright is not installed: {exc}") from None
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # As root (CI), Chromium runs only without its sandbox; /dev/shm is small in containers.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
    except Exception:
        playwright.stop()
        raise
    return playwright, browser


def browser_session(what: str) -> Iterator[Any]:
    """A launched Chromium for a fixture to yield from; closed, with Playwright, after.

    A module's, not the session's: Playwright's sync API runs an event loop in the
    main thread while it is started, which later tests would take for their own.
    """
    playwright, browser = started(launch_browser, BrowserUnavailable, what)
    yield browser
    browser.close()
    playwright.stop()


def assert_accessible(page: Any, state: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # DevTools evaluation: CSP allows it
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{state}: " + "; ".join(bad)
