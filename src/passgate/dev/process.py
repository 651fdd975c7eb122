"""Throwaway servers on loopback: one way to find, start, wait for, pause and stop them.

Used by the demo's slapd (:mod:`passgate.dev.slapd`) and by the test suite's
389-DS and Samba AD servers, so each of them starts its process in a group
of its own, waits for a real LDAP answer, and stops the same way. What only
the tests and the bench use is in :mod:`passgate.testing`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from ldap3.core.exceptions import LDAPException

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def find_program(
    name: str, dirs: Iterable[str], unavailable: Callable[[str], Exception], hint: str
) -> Path:
    """``name`` on ``PATH`` or in one of ``dirs`` (sbin is often not on a user's PATH)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for d in dirs:
        candidate = Path(d) / name
        if candidate.exists():
            return candidate
    raise unavailable(f"{name} not found ({hint})")


def find_upwards(start: Path, relative: str) -> Path | None:
    """``relative`` under the nearest parent of ``start`` that has it (the source tree)."""
    for parent in start.resolve().parents:
        candidate = parent / relative
        if candidate.exists():
            return candidate
    return None


class LocalServer:
    """The life cycle shared by server classes with ``process`` and ``workdir`` fields.

    A subclass says how it starts and stops, which files hold its log, and
    how to ask it something (:meth:`answers`); this gives it the rest.
    """

    program: ClassVar[str]
    process: subprocess.Popen[bytes] | None
    workdir: Path | None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def answers(self) -> None:
        """Raise :class:`LDAPException` unless the server answers a real request."""
        raise NotImplementedError

    def log_files(self) -> list[Path]:
        return []

    def _spawn(self, argv: list[str], log_file: Path, *, ready_within: float, poll: float) -> None:
        """Start ``argv`` in a process group of its own, output to ``log_file``; wait for it."""
        with log_file.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # pause, resume and stop reach every worker
            )
        deadline = time.monotonic() + ready_within
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.program} exited at start-up:\n{self.log_tail()}")
            try:
                self.answers()
                return
            except LDAPException as exc:
                last = exc
            time.sleep(poll)
        raise RuntimeError(
            f"{self.program} did not answer within {ready_within}s: {last}\n{self.log_tail()}"
        )

    def _end_process(self, timeout: float) -> None:
        """SIGCONT (a paused server cannot act on SIGTERM), SIGTERM, SIGKILL after ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s ignored SIGTERM for %s s: SIGKILL", self.program, timeout)
            process.kill()
            process.wait(timeout=10)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.process is not None, "not started"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets open but stops answering."""
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in self.log_files():
            if path.exists():
                text = path.read_text(errors="replace").splitlines()
                out.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
