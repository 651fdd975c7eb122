"""For test suites (passgate's own, and the bench): ``passgate serve`` as a real process.

In the spirit of python-ldap's ``slapdtest``: a module of the package meant
for tests, kept out of the service's, the demo's and the tools' run time
(none of them imports it). The throwaway directory servers themselves are
:mod:`passgate.dev.slapd` (the demo runs it too) and ``tests/servers/``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from passgate.config import env_name
from passgate.dev.process import free_port

__all__ = ["passgate_serve"]


@contextlib.contextmanager
def passgate_serve(
    args: list[str],
    settings: Mapping[str, object],
    workdir: Path,
    log: Path,
    *,
    discard_stdout: bool = False,
    ready_within: float = 30.0,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``passgate serve ARGS`` on a free loopback port with ``settings`` in its environment.

    Yields the process and its base URL once ``/healthz`` answers; stops it on
    exit. Its output goes to ``log`` (stdout, where the audit lines are, to
    nowhere with ``discard_stdout``).
    """
    port = free_port()
    env = {**os.environ, **{env_name(name): str(value) for name, value in settings.items()}}
    argv = [sys.executable, "-m", "passgate", "serve", "--port", str(port), *args]
    with log.open("ab") as out:
        stdout = subprocess.DEVNULL if discard_stdout else out
        process = subprocess.Popen(
            argv, env=env, cwd=workdir, stdout=stdout, stderr=out, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + ready_within
        while True:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)  # no proxy, ever
            try:
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log.read_text(errors="replace")
                    raise RuntimeError(f"passgate serve did not start:\n{output}") from None
                time.sleep(0.1)
            finally:
                probe.close()
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
