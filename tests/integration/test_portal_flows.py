"""The self-service page's sign-in, form posts and sign-out against a fake issuer on loopback.

The issuer here is a few lines of ``http.server``: discovery, keys and a
token endpoint whose answer each test chooses, so that every way a sign-in
can fail (refused, or the issuer unreachable) is reproduced without Keycloak.
Its access tokens are signed by the suite's ``issuer``, which passgate's
authenticator trusts; its ID tokens by a key of its own, published at its
``jwks_uri``. The directory is the suite's slapd.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from passgate.portal.session import TOKEN_COOKIE
from tests.conftest import Directory, SettingsFactory

CLIENT_ID = "password-portal"
COOKIE_SECRET = "s" * 40
OLD = "Initial-Passw0rd!"
NEW = "Brand-New-Passw0rd-77"
TokenAnswer = Callable[[dict[str, list[str]]], tuple[int, Any]]


class FakeIssuer:
    """Discovery, keys and a token endpoint on loopback; each test may change their answers."""

    def __init__(self, access_issuer: DevIssuer) -> None:
        self.access_issuer = access_issuer  # signs access tokens passgate's authenticator trusts
        self.id_signer = DevIssuer(kid="idp")
        self.token_requests: list[dict[str, list[str]]] = []
        self.token_answer: TokenAnswer | None = None
        self.metadata_answer: Callable[[], tuple[int, bytes]] | None = None
        self.nonce: str | None = None
        self.sub = "nobody"
        self.username: str | None = None
        self.issued: list[str] = []  # every token handed out, to look for in pages and logs
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    if owner.metadata_answer:
                        self.answer(*owner.metadata_answer())
                    else:
                        self.answer(200, json.dumps(owner.metadata()).encode())
                elif self.path.endswith("/certs"):
                    self.answer(200, json.dumps({"keys": [owner.id_signer.jwk()]}).encode())
                else:
                    self.answer(404, b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                owner.token_requests.append(form)
                status, body = (owner.token_answer or owner.default_answer)(form)
                self.answer(status, body if isinstance(body, bytes) else json.dumps(body).encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/realms/demo"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def metadata(self) -> dict[str, Any]:
        endpoints = self.url + "/protocol/openid-connect"
        return {
            "issuer": self.url,
            "authorization_endpoint": endpoints + "/auth",
            "token_endpoint": endpoints + "/token",
            "jwks_uri": endpoints + "/certs",
            "end_session_endpoint": endpoints + "/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def id_token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": self.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce,
            "typ": "ID",
            "azp": CLIENT_ID,
            "preferred_username": self.username,
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        token = jwt.encode(
            claims, self.id_signer.private_key, algorithm="RS256", headers={"kid": "idp"}
        )
        self.issued.append(token)
        return token

    def access_token(self, **claims: Any) -> str:
        token = self.access_issuer.token(self.sub, username=self.username, **claims)
        self.issued.append(token)
        return token

    def answer_with(self, **fields: Any) -> None:
        """The token endpoint answers 200 with these fields (None: left out)."""

        def answer(form: dict[str, list[str]]) -> tuple[int, Any]:
            body = {"access_token": self.access_token(), "token_type": "Bearer"}
            body["id_token"] = self.id_token()
            body.update(fields)
            return 200, {k: v for k, v in body.items() if v is not None}

        self.token_answer = answer

    def default_answer(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        return 200, {
            "access_token": self.access_token(),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(),
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def idp(issuer: DevIssuer) -> Iterator[FakeIssuer]:
    fake = FakeIssuer(issuer)
    yield fake
    fake.close()


PortalFactory = Callable[..., TestClient]


@pytest.fixture
def portal(make_settings: SettingsFactory, idp: FakeIssuer) -> PortalFactory:
    """A client of a fresh app (its own discovery cache) with the page on."""

    def build(**overrides: Any) -> TestClient:
        settings = make_settings(
            **{
                "portal_enabled": True,
                "portal_issuer_url": idp.url,
                "portal_client_id": CLIENT_ID,
                "portal_redirect_url": "http://127.0.0.1:8080/portal/callback",
                "portal_cookie_secret": COOKIE_SECRET,
                "limiter_address_failures": 0,
                "audit_log": "off",
                **overrides,
            }
        )
        return TestClient(
            create_app(settings), base_url="http://127.0.0.1:8080", follow_redirects=False
        )

    return build


def start_login(client: TestClient, idp: FakeIssuer) -> str:
    """GET /login; the issuer will put this sign-in's nonce in its ID token. Returns the state."""
    response = client.get("/portal/login")
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    idp.nonce = query["nonce"][0]
    return query["state"][0]


def sign_in(client: TestClient, idp: FakeIssuer, user: seed.User) -> TestClient:
    idp.sub, idp.username = user.user_id, user.uid
    state = start_login(client, idp)
    response = client.get("/portal/callback", params={"code": "c0de", "state": state})
    assert response.status_code == 303, response.text
    return client


CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FIELD_ERRORS = re.compile(r'id="(\w+)-error">([^<]+)</p>')
ALERT = re.compile(r'role="alert"><p>(.*?)</p>')


def csrf_of(client: TestClient) -> str:
    page = client.get("/portal/")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def post_change(
    client: TestClient, current: str, new: str, confirm: str | None = None, **kwargs: Any
) -> httpx.Response:
    data = {
        "csrf": csrf_of(client),
        "current": current,
        "new": new,
        "confirm": new if confirm is None else confirm,
    }
    return client.post("/portal/change", data=data, **kwargs)


def alert(response: httpx.Response) -> list[str]:
    return ALERT.findall(response.text)


def assert_nothing_secret(text: str, idp: FakeIssuer, *passwords: str) -> None:
    for secret in [*passwords, *idp.issued, COOKIE_SECRET]:
        assert secret not in text


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- 1. sign-out with the issuer out of reach ------------------------------------


@pytest.mark.parametrize("trouble", ["unreachable", "bad json", "no end_session_endpoint"])
def test_sign_out_when_the_issuer_cannot_be_reached_still_signs_out_here(
    portal: PortalFactory,
    idp: FakeIssuer,
    directory: Directory,
    refusing_port: int,
    caplog: pytest.LogCaptureFixture,
    trouble: str,
) -> None:
    user = directory.add_user(OLD)
    signed_in = sign_in(portal(), idp, user)
    csrf = csrf_of(signed_in)
    overrides: dict[str, Any] = {}
    if trouble == "unreachable":
        overrides["portal_issuer_url"] = f"http://127.0.0.1:{refusing_port}/realms/demo"
    elif trouble == "bad json":
        idp.metadata_answer = lambda: (200, b"<html>a proxy's page</html>")
    else:
        metadata = {k: v for k, v in idp.metadata().items() if k != "end_session_endpoint"}
        idp.metadata_answer = lambda: (200, json.dumps(metadata).encode())
    # Another instance (or a restart): the issuer's metadata is not cached yet.
    client = portal(**overrides)
    client.cookies = signed_in.cookies
    caplog.set_level(logging.INFO)
    page = client.post("/portal/logout", data={"csrf": csrf}, headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert "Sie sind hier abgemeldet" in page.text
    english = portal(**overrides)
    english.cookies = signed_in.cookies
    page = english.post("/portal/logout", data={"csrf": csrf})
    assert page.status_code == 200
    assert (
        "You are signed out here, but your organisation&#39;s sign-in could not be reached"
        in page.text
    )
    deleted = [c for c in page.headers.get_list("set-cookie") if c.startswith(TOKEN_COOKIE)]
    assert deleted
    assert "max-age=0" in deleted[0].lower()
    assert client.get("/portal/").headers["location"] == "/portal/login"
    assert any("sign-out at the issuer" in line for line in warnings_of(caplog))
    assert_nothing_secret(caplog.text + page.text, idp, OLD)


# -- 2. and 3. what the form says about each field -------------------------------


@pytest.mark.parametrize(
    ("confirm", "expected"),
    [
        ("Brand-New-Passw0rd-78", "The two new passwords are not the same."),
        ("", "Please fill in this field."),
    ],
)
def test_the_confirmation_is_refused_on_its_own_field(
    portal: PortalFactory,
    idp: FakeIssuer,
    directory: Directory,
    caplog: pytest.LogCaptureFixture,
    confirm: str,
    expected: str,
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    caplog.set_level(logging.DEBUG)
    page = post_change(client, OLD, NEW, confirm)
    assert page.status_code == 400
    assert dict(FIELD_ERRORS.findall(page.text)) == {"confirm": expected}
    assert 'id="confirm" name="confirm"' in page.text
    assert 'aria-invalid="true"' in page.text.split('id="confirm"')[1].split(">")[0]
    assert directory.can_bind(user.dn, OLD)
    assert_nothing_secret(caplog.text + page.text, idp, OLD, NEW, confirm or NEW)


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        (OLD, "Brand-New\nPassw0rd-77", "new"),
        (OLD, "Brand-New\x00Passw0rd-77", "new"),
        ("Initial\x01Passw0rd!", NEW, "current"),
    ],
)
def test_control_characters_have_their_own_message(
    portal: PortalFactory,
    idp: FakeIssuer,
    directory: Directory,
    caplog: pytest.LogCaptureFixture,
    current: str,
    new: str,
    field: str,
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    caplog.set_level(logging.DEBUG)
    page = post_change(client, current, new, headers={"Accept-Language": "en"})
    assert page.status_code == 400
    assert dict(FIELD_ERRORS.findall(page.text)) == {
        field: "Control characters, such as a line break, are not allowed."
    }
    german = post_change(client, current, new, headers={"Accept-Language": "de"})
    assert "Steuerzeichen" in dict(FIELD_ERRORS.findall(german.text))[field]
    assert directory.can_bind(user.dn, OLD)
    assert_nothing_secret(caplog.text + page.text + german.text, idp, OLD, NEW)


# -- 4. and 5. the form posts: origin first, a capped body, a form that parses ----


def asgi_post(
    app: FastAPI, path: str, chunks: list[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes, int]:
    """Post ``chunks`` as a body straight into the app; returns how many it asked for too."""
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if asked < len(chunks):
            asked += 1
            return {"type": "http.request", "body": chunks[asked - 1], "more_body": True}
        if asked == len(chunks):
            asked += 1
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = sent[0]
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], response_headers, body, asked


URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def test_a_foreign_post_is_refused_before_its_body_is_read(portal: PortalFactory) -> None:
    app = portal().app
    assert isinstance(app, FastAPI)
    for path in ("/portal/change", "/portal/logout"):
        for foreign in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
            status, _, body, asked = asgi_post(
                app, path, [b"csrf=x&current=" + b"a" * 4096] * 8, {**URLENCODED, **foreign}
            )
            assert status == 403
            assert b"not sent from this page" in body
            assert asked == 0


def test_a_body_over_16_kib_is_refused_without_reading_it_all(portal: PortalFactory) -> None:
    app = portal().app
    assert isinstance(app, FastAPI)
    # Announced by Content-Length: refused at once, not one chunk read.
    status, headers, body, asked = asgi_post(
        app, "/portal/change", [b"a" * 4096] * 5, {**URLENCODED, "content-length": "20480"}
    )
    assert (status, asked) == (413, 0)
    assert headers["content-type"].startswith("text/html")
    assert b"The form is too large" in body
    # Chunked (no length): refused once past the cap, the rest never read.
    status, _, body, asked = asgi_post(app, "/portal/logout", [b"a" * 4096] * 400, URLENCODED)
    assert status == 413
    assert asked <= 6
    assert b"The form is too large" in body
    # Just under the cap is read (and then refused for its missing anti-forgery token).
    status, _, _, _ = asgi_post(app, "/portal/logout", [b"a=" + b"b" * 4000 + b"&"] * 4, URLENCODED)
    assert status == 403


MULTIPART = "multipart/form-data; boundary=B"


def part(name: str, value: str, filename: str | None = None) -> str:
    extra = f'; filename="{filename}"' if filename else ""
    return f'--B\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'


@pytest.mark.parametrize(
    ("label", "body", "content_type"),
    [
        ("no boundary", "abc", "multipart/form-data"),
        ("garbage multipart", "garbage garbage", MULTIPART),
        ("no name", "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n", MULTIPART),
        ("too many fields", "&".join(f"f{i}=1" for i in range(40)), URLENCODED["content-type"]),
        ("a part too big", part("current", "a" * 8000) + "--B--\r\n", MULTIPART),
        ("a file part", part("new", NEW, filename="a.txt") + "--B--\r\n", MULTIPART),
    ],
)
def test_a_form_that_cannot_be_read_is_a_400_page(
    portal: PortalFactory,
    idp: FakeIssuer,
    directory: Directory,
    caplog: pytest.LogCaptureFixture,
    label: str,
    body: str,
    content_type: str,
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    csrf = csrf_of(client)
    caplog.set_level(logging.DEBUG)
    if content_type == MULTIPART and label != "garbage multipart":
        body = part("csrf", csrf) + body
    for path in ("/portal/change", "/portal/logout"):
        page = client.post(path, content=body.encode(), headers={"Content-Type": content_type})
        assert page.status_code == 400, label
        assert page.headers["content-type"].startswith("text/html")
        assert alert(page) == ["The form could not be read. Please reload the page and try again."]
        assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert client.get("/portal/").status_code == 200  # still signed in
    assert directory.can_bind(user.dn, OLD)
    assert_nothing_secret(caplog.text, idp, OLD, NEW)


def test_the_page_still_changes_a_password_after_reading_the_body_itself(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    response = post_change(client, OLD, NEW)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/done"
    assert directory.can_bind(user.dn, NEW)
    multipart = sign_in(portal(), idp, directory.add_user(OLD))
    fields = {"csrf": csrf_of(multipart), "current": OLD, "new": NEW, "confirm": NEW}
    body = "".join(part(k, v) for k, v in fields.items()) + "--B--\r\n"
    response = multipart.post(
        "/portal/change", content=body.encode(), headers={"Content-Type": MULTIPART}
    )
    assert response.status_code == 303


def test_the_page_sets_the_password_typed_and_refuses_what_is_not_utf8(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory
) -> None:
    """The page's form is read as the API's: UTF-8 only, never guessed as Latin-1."""
    umlaut = "W\u00f6nder-L4nd-Passw0rd!"
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    csrf = csrf_of(client).encode()
    latin1 = umlaut.encode("latin-1")
    body = b"csrf=" + csrf + b"&current=" + OLD.encode() + b"&new=" + latin1
    response = client.post(
        "/portal/change",
        content=body + b"&confirm=" + latin1,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert directory.can_bind(user.dn, OLD)
    utf8 = umlaut.encode()
    body = b"csrf=" + csrf + b"&current=" + OLD.encode() + b"&new=" + utf8
    response = client.post(
        "/portal/change",
        content=body + b"&confirm=" + utf8,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303
    assert directory.can_bind(user.dn, umlaut)


# -- 6., 7. and 8. sign-in that fails: refused or unavailable ----------------------

REFUSED = "The sign-in did not complete. Please try again."
UNAVAILABLE = "Sign-in is not available right now. Please try again later."


def token_answers(idp: FakeIssuer) -> dict[str, tuple[TokenAnswer, int, str]]:
    """How the token endpoint answers -> the page's status and the class the log names."""

    def fields(**over: Any) -> TokenAnswer:
        def answer(form: dict[str, list[str]]) -> tuple[int, Any]:
            body = {"access_token": idp.access_token(), "token_type": "Bearer"}
            body["id_token"] = idp.id_token()
            body.update(over)
            return 200, {k: v for k, v in body.items() if v is not None}

        return answer

    def fixed(status: int, body: Any) -> TokenAnswer:
        return lambda form: (status, body)

    return {
        "wrong nonce": (fields(id_token=idp.id_token(nonce="evil")), 400, "InvalidClaimError"),
        "no nonce": (fields(id_token=idp.id_token(nonce=None)), 400, "MissingClaimError"),
        "wrong audience": (fields(id_token=idp.id_token(aud="other")), 400, "InvalidClaimError"),
        "wrong issuer": (
            fields(id_token=idp.id_token(iss="https://evil.example")),
            400,
            "InvalidClaimError",
        ),
        "expired": (
            fields(id_token=idp.id_token(exp=int(time.time()) - 1000)),
            400,
            "ExpiredTokenError",
        ),
        "bad signature": (
            fields(id_token=idp.id_token()[:-4] + "AAAA"),
            400,
            "BadSignatureError",
        ),
        "not a jwt": (fields(id_token="not.a.jwt"), 400, "DecodeError"),
        "no id_token": (fields(id_token=None), 400, "no ID token"),
        "no access_token": (fields(access_token=None), 400, "no access token"),
        "invalid_grant": (fixed(400, {"error": "invalid_grant"}), 400, "OAuthError"),
        "a 500": (fixed(500, {"oops": 1}), 503, "HTTPStatusError"),
        "a 502 page": (fixed(502, b"<html>bad gateway</html>"), 503, "HTTPStatusError"),
        "not json": (fixed(200, b"<html>a proxy</html>"), 503, "ValueError"),
    }


CASES = [
    "wrong nonce",
    "no nonce",
    "wrong audience",
    "wrong issuer",
    "expired",
    "bad signature",
    "not a jwt",
    "no id_token",
    "no access_token",
    "invalid_grant",
    "a 500",
    "a 502 page",
    "not json",
]


@pytest.mark.parametrize("case", CASES)
def test_a_callback_that_fails_is_refused_or_unavailable(
    portal: PortalFactory,
    idp: FakeIssuer,
    directory: Directory,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    user = directory.add_user(OLD)
    idp.sub, idp.username = user.user_id, user.uid
    client = portal()
    state = start_login(client, idp)
    answer, status, named = token_answers(idp)[case]
    idp.token_answer = answer
    caplog.set_level(logging.DEBUG)
    page = client.get("/portal/callback", params={"code": "c0de", "state": state})
    assert page.status_code == status, page.text
    assert alert(page) == [REFUSED if status == 400 else UNAVAILABLE]
    assert TOKEN_COOKIE not in " ".join(page.headers.get_list("set-cookie"))
    assert any(named in line for line in warnings_of(caplog)), warnings_of(caplog)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert_nothing_secret(caplog.text + page.text, idp)
    assert client.get("/portal/").headers["location"] == "/portal/login"


def test_a_callback_without_a_code_is_refused(
    portal: PortalFactory, idp: FakeIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    client = portal()
    state = start_login(client, idp)
    caplog.set_level(logging.INFO)
    page = client.get("/portal/callback", params={"state": state})
    assert page.status_code == 400
    assert alert(page) == [REFUSED]
    assert any("MissingCodeException" in line for line in warnings_of(caplog))


def test_a_callback_with_the_issuer_gone_is_unavailable(
    portal: PortalFactory, idp: FakeIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    client = portal()
    state = start_login(client, idp)
    idp.close()
    caplog.set_level(logging.INFO)
    page = client.get("/portal/callback", params={"code": "c0de", "state": state})
    assert page.status_code == 503
    assert alert(page) == [UNAVAILABLE]
    assert any("ConnectError" in line for line in warnings_of(caplog))


@pytest.mark.parametrize("trouble", ["unreachable", "a 500", "bad json", "no endpoint"])
def test_sign_in_with_the_issuer_unavailable_says_so(
    portal: PortalFactory,
    idp: FakeIssuer,
    refusing_port: int,
    caplog: pytest.LogCaptureFixture,
    trouble: str,
) -> None:
    overrides: dict[str, Any] = {}
    if trouble == "unreachable":
        overrides["portal_issuer_url"] = f"http://127.0.0.1:{refusing_port}/realms/demo"
    elif trouble == "a 500":
        idp.metadata_answer = lambda: (500, b"{}")
    elif trouble == "bad json":
        idp.metadata_answer = lambda: (200, b"<html>a proxy's page</html>")
    else:
        metadata = {k: v for k, v in idp.metadata().items() if k != "authorization_endpoint"}
        idp.metadata_answer = lambda: (200, json.dumps(metadata).encode())
    caplog.set_level(logging.INFO)
    page = portal(**overrides).get("/portal/login", headers={"Accept-Language": "de"})
    assert page.status_code == 503
    assert alert(page) == [
        "Die Anmeldung ist gerade nicht möglich. Bitte versuchen Sie es später erneut."
    ]
    assert any("sign-in unavailable" in line for line in warnings_of(caplog))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_id_token_for_this_client_among_others_is_accepted(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory
) -> None:
    """The audience check takes a list that names this client (with ``azp`` saying it is)."""
    user = directory.add_user(OLD)
    idp.sub, idp.username = user.user_id, user.uid
    client = portal()
    state = start_login(client, idp)
    idp.answer_with(id_token=idp.id_token(aud=[CLIENT_ID, "other"]))
    page = client.get("/portal/callback", params={"code": "c0de", "state": state})
    assert page.status_code == 303
    assert client.get("/portal/").status_code == 200


def test_a_sign_out_state_is_no_sign_in_state(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    response = client.post("/portal/logout", data={"csrf": csrf_of(client)})
    assert response.status_code == 303
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    asked = len(idp.token_requests)
    # The person does not confirm at the issuer; instead a callback arrives with that state.
    idp.answer_with(id_token=idp.id_token(nonce="attacker-nonce"))
    page = client.get("/portal/callback", params={"code": "attacker-code", "state": state})
    assert page.status_code == 400
    assert alert(page) == [REFUSED]
    assert len(idp.token_requests) == asked  # the code was never exchanged
    assert TOKEN_COOKIE not in " ".join(page.headers.get_list("set-cookie"))


# -- 9. the origin, normalised ---------------------------------------------------


@pytest.mark.parametrize(
    "configured",
    [
        "https://pg.example.org/portal/callback",
        "https://PG.Example.org/portal/callback",
        "https://pg.example.org:443/portal/callback",
    ],
)
def test_the_origin_check_normalises_both_sides(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory, configured: str
) -> None:
    user = directory.add_user(OLD)
    idp.sub, idp.username = user.user_id, user.uid
    for origin, status in [
        ("http://pg.example.org", 403),
        ("https://pg.example.org:8443", 403),
        ("https://pg.example.org.evil.example", 403),
        ("null", 403),
        ("https://pg.example.org", 303),  # what Chromium sends
        ("HTTPS://PG.EXAMPLE.ORG:443", 303),
    ]:
        client = portal(portal_redirect_url=configured)
        client.base_url = httpx.URL("https://pg.example.org")
        state = start_login(client, idp)
        signed_in = client.get("/portal/callback", params={"code": "c", "state": state})
        assert signed_in.status_code == 303
        response = client.post(
            "/portal/logout",
            data={"csrf": csrf_of(client)},
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        assert response.status_code == status, origin


# -- 10. GET /signed-out signs nobody out ------------------------------------------


def test_signed_out_does_not_sign_a_signed_in_person_out(
    portal: PortalFactory, idp: FakeIssuer, directory: Directory
) -> None:
    user = directory.add_user(OLD)
    client = sign_in(portal(), idp, user)
    response = client.get("/portal/signed-out", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/"
    assert TOKEN_COOKIE not in " ".join(response.headers.get_list("set-cookie"))
    assert client.get("/portal/").status_code == 200  # still signed in
    # Signed out properly, the page is the signed-out page.
    response = client.post("/portal/logout", data={"csrf": csrf_of(client)})
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    page = client.get("/portal/signed-out", params={"state": state})
    assert page.status_code == 200
    assert "You are signed out" in page.text
    assert portal().get("/portal/signed-out?state=foreign").status_code == 200


# -- 11. no redirect built from the Host header --------------------------------------


@pytest.mark.parametrize(
    "path", ["/portal/login/", "/portal/change/", "/portal/static", "/portal/callback/"]
)
def test_a_trailing_slash_is_a_404_page_not_a_redirect_to_the_host(
    portal: PortalFactory, path: str
) -> None:
    client = portal()
    for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}):
        page = client.get(path, headers=headers)
        assert page.status_code == 404
        assert "location" not in page.headers
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert alert(page) == ["There is no such page here."]


def test_a_wrong_method_is_a_405_page(portal: PortalFactory) -> None:
    page = portal().get("/portal/logout")
    assert page.status_code == 405
    assert page.headers["allow"] == "POST"
    assert page.headers["content-type"].startswith("text/html")
