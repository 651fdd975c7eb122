"""The floor under any FastAPI service on this machine: one POST, nothing else.

Usage: ``.venv/bin/python bench/floor.py [--requests 2000] [--rounds 2]``

Runs a minimal FastAPI app under uvicorn (uvloop, httptools, no access
log) on a loopback port, and posts the change request's shape to it one
after another with the bench's HTTP client: ``plain`` answers at once,
``hop`` first hands a no-op to a thread and back (as passgate hands its
LDAP work to a thread, since ldap3 blocks). It prints the wall time and
the server's CPU per request, alternating the two apps. What passgate
adds to the raw LDAP client at c=1 can never be less than the ``hop``
line: see the README's "Where the time goes".
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import cpu_seconds

APP = """
import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

HOP = {hop}
threads = ThreadPoolExecutor(32)
off = {{"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
app = FastAPI(telemetry=off)


@app.post("/v1/users/{{user_id}}/change-password")
async def change(user_id: str, request: Request) -> JSONResponse:
    await request.json()
    if HOP:
        await asyncio.get_running_loop().run_in_executor(threads, lambda: None)
    return JSONResponse({{"status": True}})
"""


PATH = "/v1/users/0123456789abcdef01234567/change-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def measure(workdir: Path, hop: bool, requests: int) -> tuple[float, float]:
    """(wall ms, server CPU ms) per request."""
    (workdir / "floorapp.py").write_text(APP.format(hop=hop))
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "floorapp:app", "--port", str(port)]
    argv += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(argv, cwd=workdir, stderr=subprocess.DEVNULL)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = json.dumps({"oldPassword": "old-password", "newPassword": "new-password"})
        headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}

        def post() -> None:
            conn.request("POST", PATH, body, headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status

        for _attempt in range(100):  # until it listens
            try:
                post()
                break
            except OSError:
                conn.close()
                time.sleep(0.1)
        else:
            raise RuntimeError("the minimal app did not start")
        for _ in range(300):
            post()
        cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
        for _ in range(requests):
            post()
        wall, cpu = time.perf_counter() - wall0, cpu_seconds(server.pid) - cpu0
        conn.close()
        return 1000 * wall / requests, 1000 * cpu / requests
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("app     wall ms/request  server cpu ms/request")
        for _ in range(args.rounds):
            for hop in (False, True):
                wall, cpu = measure(Path(tmp), hop, args.requests)
                print(f"{'hop' if hop else 'plain':7} {wall:15.3f}  {cpu:21.3f}")


if __name__ == "__main__":
    main()
