"""``passgate dev`` as a person runs it: the printed curl line changes a real password."""

from __future__ import annotations

import glob
import itertools
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from passgate.dev.process import free_port
from tests.conftest import start_slapd


def _leftovers() -> set[str]:
    tmp = tempfile.gettempdir()
    return set(glob.glob(f"{tmp}/passgate-dev-*")) | set(glob.glob(f"{tmp}/passgate-slapd-*"))


def _request_from_curl(line: str) -> tuple[str, dict[str, str], str]:
    words = shlex.split(line)
    url = next(w for w in words if w.startswith("http://"))
    headers = {}
    body = ""
    for flag, value in itertools.pairwise(words):
        if flag == "-H":
            name, _, val = value.partition(": ")
            headers[name] = val
        elif flag == "-d":
            body = value
    return url, headers, body


def test_dev_serves_the_printed_examples_and_cleans_up(tmp_path: Path) -> None:
    start_slapd().stop()  # skip (or fail under CI) exactly like the other directory tests
    before = _leftovers()
    port = free_port()
    out = tmp_path / "dev.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "passgate", "dev", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 30
        while "Uvicorn running" not in out.read_text():
            assert process.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        lines = out.read_text().splitlines()
        examples = {
            lines[i][2:]: lines[i + 1] for i in range(len(lines) - 1) if lines[i].startswith("# ")
        }
        results = {}
        for title, curl in examples.items():
            url, headers, body = _request_from_curl(curl)
            response = httpx.post(url, headers=headers, content=body, timeout=10)
            results[title] = (response.status_code, response.json())
        for title, (status, body) in results.items():
            expected_status = int(title.split()[0])
            assert status == expected_status, (title, body)
            if status != 200:
                assert body["error"]["code"] == int(title.split()[1]), (title, body)
            else:
                assert body == {"status": True, "data": {"passwordChanged": "OK"}}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0, out.read_text()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert _leftovers() <= before
