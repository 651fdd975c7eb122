"""``passgate dev`` as a person runs it: the printed lines, pasted into a shell, change passwords."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from passgate.dev.process import free_port
from tests.conftest import start_slapd

EXPORT = re.compile(r"^export ([A-Z_]+)=")


def private_tmp(tmp_path: Path) -> Path:
    """The demo's TMPDIR: what it leaves behind is seen there, apart from other test runs."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return tmp


def alive(pattern: str) -> bool:
    """Some process's command line contains ``pattern``."""
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def assert_nothing_left(tmp_path: Path) -> None:
    tmp = private_tmp(tmp_path)
    assert not alive(str(tmp))  # no slapd, no java
    assert list(tmp.iterdir()) == []


def start_demo(
    tmp_path: Path, *options: str, within: float = 30
) -> tuple[subprocess.Popen[bytes], Path, int]:
    port = free_port()
    out = tmp_path / "dev.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "passgate", "dev", "--port", str(port), *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(private_tmp(tmp_path))},
        )
    deadline = time.monotonic() + within
    while "Uvicorn running" not in out.read_text():
        assert process.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)
    return process, out, port


def run_as_printed(lines: list[str]) -> dict[str, tuple[int | None, dict[str, object]]]:
    """The ``export`` lines run once in bash, then each ``# title`` / curl pair: title -> result."""
    exports = [line for line in lines if EXPORT.match(line)]
    names = [m[1] for line in exports if (m := EXPORT.match(line))]
    show = "; ".join(f'printf "%s=%s\\n" {n} "${n}"' for n in names)
    shown = subprocess.run(
        ["bash", "-c", "set -e; " + "\n".join(exports) + "\n" + show],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    env = dict(line.split("=", 1) for line in shown.splitlines())
    assert all(env[n] for n in names), env  # every token obtained
    results: dict[str, tuple[int | None, dict[str, object]]] = {}
    for i, line in enumerate(lines[:-1]):
        if line.startswith("# "):
            curl = lines[i + 1]
            assert curl.startswith("curl "), curl
            done = subprocess.run(
                ["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=30
            )
            results[line[2:]] = (done.returncode, json.loads(done.stdout))
    return results


def check_results(results: dict[str, tuple[int | None, dict[str, object]]]) -> None:
    assert results
    for title, (rc, body) in results.items():
        assert rc == 0, title
        status, code = title.split()[:2]
        if status == "200":
            assert body == {"status": True, "data": {"passwordChanged": "OK"}}, (title, body)
        else:
            assert body["error"]["code"] == int(code), (title, body)  # type: ignore[index]


def stop(process: subprocess.Popen[bytes], port: int, within: float = 20) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=within)
    assert process.returncode == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_dev_serves_the_printed_examples_and_cleans_up(tmp_path: Path) -> None:
    start_slapd().stop()  # skip (or fail under CI) exactly like the other directory tests
    began = time.monotonic()
    process, out, port = start_demo(tmp_path)
    try:
        assert time.monotonic() - began < 15  # the plain demo stays quick
        lines = out.read_text().splitlines()
        check_results(run_as_printed(lines))
    finally:
        stop(process, port)
    text = out.read_text()
    guide = text[: text.index("Ctrl-C stops everything")]  # request log lines follow
    assert len(guide) < 12_000, len(guide)  # each token once: a screen or two
    for name in ("ALICE_TOKEN", "HELPDESK_TOKEN"):
        assert text.count(f"export {name}=") == 1
    assert "eyJ" not in "\n".join(line for line in guide.splitlines() if line.startswith("curl"))
    assert_nothing_left(tmp_path)
