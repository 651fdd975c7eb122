"""A real ``passgate serve`` under attack: forged proxy headers, a stalled loop, leaks, big bodies.

Each test runs the service as operators do (uvicorn, its access log, the
audit lines on stdout), because the defects it guards against lived in the
server's own defaults, not in the app.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from passgate.dev import seed
from passgate.dev.process import free_port
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from passgate.testing import passgate_serve
from tests.conftest import Directory
from tests.jwks_server import JwksServer

NEW = "Brand-N3w-Passw0rd!"
WRONG = "Wrong-Passw0rd-XYZ"
WORKSPACE = "/api/workspace/account/change-password"


def audit_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]


def admin_token(issuer: DevIssuer) -> str:
    return issuer.token("a" * 24, username="helpdesk", roles=["password-admin"])


@pytest.fixture
def serve_settings(slapd: Slapd, issuer: DevIssuer, public_key_file: Path) -> dict[str, Any]:
    return {
        **seed.passgate_settings(slapd.url, issuer.issuer, public_key_file),
        "trusted_proxies": "",
    }


# -- finding 3: uvicorn's proxy_headers ------------------------------------------------


def test_a_forged_forwarded_for_is_neither_believed_nor_audited(
    serve_settings: dict[str, Any], directory: Directory, issuer: DevIssuer, tmp_path: Path
) -> None:
    """From 127.0.0.1 with PASSGATE_TRUSTED_PROXIES unset: X-Forwarded-For is the client's text."""
    log = tmp_path / "serve.log"
    settings = {**serve_settings, "limiter_address_failures": 2}
    users = [directory.add_user() for _ in range(3)]
    token = admin_token(issuer)
    with (
        passgate_serve([], settings, tmp_path, log) as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        codes = [
            http.post(
                f"/v1/users/{user.user_id}/change-password",
                json={"oldPassword": WRONG, "newPassword": NEW},
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-Forwarded-For": f"203.0.113.{9 + i}",  # a new address each time
                },
            ).status_code
            for i, user in enumerate(users)
        ]
    assert codes == [400, 400, 429]  # the address limit counts the real peer
    addresses = {line["client_address"] for line in audit_lines(log.read_text())}
    assert addresses == {"127.0.0.1"}


# -- finding 5: the event loop ----------------------------------------------------------


def oversized_token(size: int) -> str:
    """A JWT whose header segment alone is ``size`` bytes: expensive to decode."""
    header = {"alg": "RS256", "kid": "k", "pad": "A" * (size * 3 // 4)}
    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{segment}.e30.c2lnbmF0dXJl"


@pytest.fixture
def hanging_jwks(issuer: DevIssuer) -> Iterator[JwksServer]:
    server = JwksServer([issuer.jwk()])
    server.delay = 5.0
    yield server
    server.close()


def send_raw(port: int, head: bytes) -> bytes:
    """Send a request head as fast as the socket takes it; the answer's status line, or b""."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server answered and closed mid-head
            sock.sendall(head)
        try:
            return sock.recv(65536).split(b"\r\n", 1)[0]
        except OSError:
            return b""


def test_healthz_stays_fast_while_a_huge_token_and_a_hanging_jwks_fetch_are_in_flight(
    serve_settings: dict[str, Any], hanging_jwks: JwksServer, issuer: DevIssuer, tmp_path: Path
) -> None:
    settings = {k: v for k, v in serve_settings.items() if k != "auth_public_key_file"}
    settings["auth_jwks_url"] = hanging_jwks.url
    # The issuer hangs 5 s; the fetch must outwait it (the default timeout is also
    # 5 s, and which of the two ran out first was a race: 500s instead of 404/401).
    settings["auth_jwks_timeout"] = 20
    answers: dict[str, int] = {}
    huge_answers: list[bytes] = []
    probing = threading.Event()
    path = f"/v1/users/{'a' * 24}/change-password"

    def post(name: str, base: str, token: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            response = http.post(
                path,
                json={"oldPassword": WRONG, "newPassword": NEW},
                headers={"Authorization": f"Bearer {token}"},
            )
            answers[name] = response.status_code

    def send_huge_tokens(port: int, head: bytes) -> None:
        while True:  # one after another, so that one is in flight during every probe
            huge_answers.append(send_raw(port, head))
            if not probing.is_set():
                break

    with passgate_serve([], settings, tmp_path, tmp_path / "serve.log") as (_, base):
        port = int(base.rsplit(":", 1)[1])
        huge = oversized_token(10 * 1024 * 1024)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
            f"Authorization: Bearer {huge}\r\n\r\n{{}}"
        ).encode()
        probing.set()
        senders = [
            # the first unknown kid starts the fetch; the second once used to wait on the loop
            threading.Thread(target=post, args=("kid-1", base, issuer.token("a" * 24))),
            threading.Thread(
                target=post,
                args=("kid-2", base, DevIssuer(issuer.issuer, kid="other").token("a" * 24)),
            ),
            threading.Thread(target=send_huge_tokens, args=(port, head)),
            threading.Thread(target=send_huge_tokens, args=(port, head)),
        ]
        for sender in senders:
            sender.start()
            time.sleep(0.3)
        assert hanging_jwks.hits == 1, "the JWKS fetch should be hanging by now"
        latencies = []
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(10):
                started = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)
        probing.clear()
        for sender in senders:
            sender.join(timeout=30)
    assert statistics.median(latencies) < 0.1, latencies
    assert max(latencies) < 0.5, latencies
    assert huge_answers
    assert set(huge_answers) <= {b"HTTP/1.1 431 Request Header Fields Too Large", b""}
    assert b"HTTP/1.1 431 Request Header Fields Too Large" in huge_answers
    assert answers == {"kid-1": 404, "kid-2": 401}  # the fetch came back: a user, an unknown kid
    assert hanging_jwks.hits == 1  # both unknown kids shared one fetch


def test_a_credential_between_16_and_64_kib_reaches_the_app_and_is_refused_401(
    serve_settings: dict[str, Any], tmp_path: Path
) -> None:
    with (
        passgate_serve([], serve_settings, tmp_path, tmp_path / "serve.log") as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        response = http.post(
            f"/v1/users/{'a' * 24}/change-password",
            json={"oldPassword": WRONG, "newPassword": NEW},
            headers={"Authorization": "Bearer " + "Q" * 40_000},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 4001


# -- finding 6: leaks in the logs -------------------------------------------------------

ACCESS_TOKEN_SPELLINGS = [
    "access_token",
    "access%5Ftoken",
    "access%5ftoken",
    "%61ccess_token",
    "ACCESS_TOKEN",
    "Access_Token",
    "access%255Ftoken",
]
API_KEY = "pgk_live_SECRETPREFIX_0123456789abcdef"


def test_no_spelling_of_access_token_and_no_unknown_credential_reaches_the_logs(
    serve_settings: dict[str, Any], directory: Directory, issuer: DevIssuer, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    user = directory.add_user()
    token = issuer.token(user.user_id, username=user.uid)
    with (
        passgate_serve([], serve_settings, tmp_path, log) as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        for name in ACCESS_TOKEN_SPELLINGS:
            response = http.post(
                f"{WORKSPACE}?{name}={token}&x=1",
                json={"CurrentPassword": WRONG, "NewPassword": NEW},
            )
            assert response.status_code in (400, 401, 429), response.text
        for value in (API_KEY, f"Token {API_KEY}", f"{API_KEY} trailing"):
            response = http.post(
                f"/v1/users/{user.user_id}/change-password",
                json={"oldPassword": WRONG, "newPassword": NEW},
                headers={"Authorization": value},
            )
            assert response.status_code == 401
    output = log.read_text()
    assert f"{WORKSPACE}?access_token=[REDACTED]&x=1" in output  # the access log is there
    assert token.split(".")[2] not in output
    assert "eyJ" not in output
    assert "SECRETPREFIX" not in output
    assert "pgk_live" not in output


def test_an_unknown_authorization_scheme_is_not_logged_in_process(
    client: Any, all_logs: pytest.LogCaptureFixture
) -> None:
    response = client.post(
        f"/v1/users/{'a' * 24}/change-password",
        json={"oldPassword": WRONG, "newPassword": NEW},
        headers={"Authorization": API_KEY},
    )
    assert response.status_code == 401
    assert "unsupported authorization scheme" in all_logs.text
    assert "pgk_live" not in all_logs.text


# -- finding 7: a chunked body ------------------------------------------------------------


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def send_chunked(port: int, path: str, token: str, total: int) -> tuple[int, bytes]:
    """POST a chunked body of ``total`` bytes; stop once an answer arrives. (sent, answer)."""
    chunk = b"x" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + b'11\r\n{"oldPassword": "\r\n'
        )
        answer = b""
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                answer = sock.recv(65536)
                break
            if writable:
                try:
                    sock.sendall(frame)
                except OSError:  # the server closed: the answer is in the receive buffer
                    break
                sent += len(chunk)
                time.sleep(0.001)
        if not answer:
            with contextlib.suppress(OSError):  # reset: the server closed mid-body
                if sent >= total:
                    sock.sendall(b"0\r\n\r\n")
                sock.settimeout(30)
                answer = sock.recv(65536)
    return sent, answer


def test_a_chunked_body_is_refused_while_it_streams(
    serve_settings: dict[str, Any], issuer: DevIssuer, tmp_path: Path
) -> None:
    total = 40 * 1024 * 1024
    log = tmp_path / "serve.log"
    with passgate_serve([], serve_settings, tmp_path, log) as (process, base):
        port = int(base.rsplit(":", 1)[1])
        before = peak_rss_kib(process.pid)
        sent, answer = send_chunked(
            port, f"/v1/users/{'a' * 24}/change-password", admin_token(issuer), total
        )
        grown = peak_rss_kib(process.pid) - before
    # The server answers and closes mid-body; the close may reset the connection
    # before the client reads the answer, so the audit line is the witness.
    if answer:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b'"code":1001' in body
    assert [line["outcome"] for line in audit_lines(log.read_text())] == [1001]
    assert sent < total // 4, f"the server read {sent} bytes before answering"
    assert grown < 16 * 1024, f"peak RSS grew by {grown} KiB"


# -- HTTP: a request head that never ends ---------------------------------------------------


def read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``within`` runs out)."""
    sock.settimeout(within)
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(4096):
            received += chunk
    return received


def test_a_head_that_never_ends_is_answered_408_and_closed(
    serve_settings: dict[str, Any], tmp_path: Path
) -> None:
    """Slowloris: a byte now and then would hold a connection (and a place) for ever.

    A connection that never sends a byte is closed too, without an answer.
    """
    log = tmp_path / "serve.log"
    settings = {**serve_settings, "http_request_timeout": 1}
    with passgate_serve([], settings, tmp_path, log) as (_, base):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            started = time.monotonic()
            slow.sendall(b"POST /v1/users/" + b"a" * 24 + b"/change-password HTTP/1.1\r\n")
            time.sleep(0.4)
            slow.sendall(b"Host: x\r\n")  # still sending, never finishing
            answer = read_until_closed(slow, within=5)
            took = time.monotonic() - started
        with socket.create_connection(("127.0.0.1", port)) as silent:
            silent_answer = read_until_closed(silent, within=5)
        assert httpx.get(f"{base}/healthz").status_code == 200  # others are served meanwhile
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:100]
    assert 0.9 <= took < 4, took
    assert silent_answer == b""  # closed without an answer: it asked nothing
    assert "request not complete in 1 s: closed (408)" in log.read_text()


def test_a_body_that_never_ends_is_answered_408_and_closed(
    serve_settings: dict[str, Any], issuer: DevIssuer, tmp_path: Path
) -> None:
    """The bound covers the body too: a declared body trickling in holds nothing for ever."""
    log = tmp_path / "serve.log"
    settings = {**serve_settings, "http_request_timeout": 1}
    head = (
        f"POST /v1/users/{'a' * 24}/change-password HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {admin_token(issuer)}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    with passgate_serve([], settings, tmp_path, log) as (_, base):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            started = time.monotonic()
            slow.sendall(head + b'{"oldPassword": ')
            answer = read_until_closed(slow, within=5)
            took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:100]
    assert 0.9 <= took < 4, took
    text = log.read_text()
    assert "request not complete in 1 s: closed (408)" in text
    assert "unexpected" not in text  # the app's unfinished read is a bad body, not a 500
    assert [line["outcome"] for line in audit_lines(text)] == [1001]


def test_a_slow_but_complete_head_is_served(serve_settings: dict[str, Any], tmp_path: Path) -> None:
    """The bound is on the head's arrival, not on keep-alive: a later request gets its own."""
    settings = {**serve_settings, "http_request_timeout": 2}
    with passgate_serve([], settings, tmp_path, tmp_path / "serve.log") as (_, base):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as conn:
            for _ in range(2):  # two requests on one connection, each head in 1.2 s
                conn.sendall(b"GET /healthz HTTP/1.1\r\n")
                time.sleep(1.2)
                conn.sendall(b"Host: x\r\n\r\n")
                conn.settimeout(5)
                answer = conn.recv(4096)
                assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


# -- HTTP: /metrics on its own port --------------------------------------------------------


def test_metrics_on_their_own_port(serve_settings: dict[str, Any], tmp_path: Path) -> None:
    metrics_port = free_port()
    settings = {**serve_settings, "metrics_port": metrics_port}
    with (
        passgate_serve([], settings, tmp_path, tmp_path / "serve.log") as (_, base),
        httpx.Client(base_url=base) as http,
    ):
        assert http.get("/healthz").status_code == 200
        assert http.get("/metrics").status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert scraped.status_code == 200
    assert "passgate_requests_total" in scraped.text
