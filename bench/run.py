"""passgate against raw ldap3 and python-ldap, on the same slapd, in one run.

    .venv/bin/python bench/run.py [--users 2000] [--changes 7000] [--concurrency 1,8,32]
        [--rounds 7] [--workers N|auto] [--modes raw,python-ldap,passgate] [--nosync]
        [--rss-changes 20000]

Starts a throwaway slapd (passgate's own fixture code) with a few thousand
users under a lax policy (no history, no minimum age, no lockout), so that
every change can flip a user between two passwords forever. slapd keeps its
default durability (an fsync per write); ``--nosync`` turns that off
(olcDbNoSync) and the header line says so.

Three modes do the same LDAP work per change, at each concurrency level:

1. ``raw``: ldap3, one thread per concurrent client, each with one service
   connection (bound once, as passgate's pooled ones are) and one user
   connection reused by rebinding;
2. ``python-ldap``: the same with python-ldap (``ldap.initialize``, the
   synchronous ``*_s`` calls), the C client over OpenLDAP's libldap, which
   releases the GIL while it waits. It is the directory's own limit on this
   machine as far as a client can see it, and passgate's second anchor;
3. ``passgate``: ``passgate serve`` with its default settings (access log on,
   to a file; default log level; audit lines on stdout, discarded) plus
   ``PASSGATE_SERVER_TIMING=true``, and one HTTP/1.1 keep-alive client per
   thread posting to the v1 endpoint with each user's own token (one token
   per user, as a real client holds it).

The LDAP work per change is passgate's:

a. one read of the user entry as the service account asking for
   ``pwdFailureTime pwdAccountLockedTime pwdPolicySubentry`` (passgate's
   last-straw lockout guard; passgate caches userId -> DN and the policy
   entry, so this is its one read). The raw sides do it as one subtree
   search by ``(&(objectClass=inetOrgPerson)(passgateUserId=<id>))`` under
   the people DN asking for those three attributes: it finds the DN and
   reads the guard's state in one operation, like passgate's one read;
b. a simple bind as the user with the password-policy request control
   (1.3.6.1.4.1.42.2.27.8.5.1);
c. an RFC 3062 Password Modify carrying the old and the new password, with
   the same control.

The raw sides time (a), (b) and (c) per change. passgate, with
``PASSGATE_SERVER_TIMING=true``, answers with a ``Server-Timing`` header
(W3C syntax, milliseconds) naming its phases; the bench prints their
medians beside the raw sides' matching operations (guard/search, bind,
modify), passgate's own phases, and the latency each client saw.

The modes run in interleaved rounds at each level (raw, python-ldap,
passgate, raw, ...), so that the drift of a shared machine falls on all
alike. Each user's first change in a run pays passgate's userId -> DN
search and token check: no warm-up over every user hides them.

CPU per change is counted from the kernel's books: for raw and python-ldap,
the bench process's CPU over that mode's rounds (``time.process_time()``,
which is the LDAP client's); for passgate, ``passgate serve``'s and its
workers' utime+stime from ``/proc/<pid>/stat`` (the bench's own HTTP client
is printed beside it for information); for every mode, slapd's from
``/proc/<slapd pid>/stat``. All divided by the changes done.

It prints changes per second, p50 and p99 latency, errors, the ratios to raw
ldap3 and to python-ldap, CPU per change, the per-phase table, passgate's
RSS before and after, a ``pyldap_ratio@...`` line and last
``ratio@1=.. ratio@8=.. ratio@32=.. cpu_gap_ms=.. slapd_gap_ms=..``
(passgate / raw ldap3; the gaps are passgate's server and slapd CPU per
change minus raw ldap3's client and slapd CPU per change at the lowest
level). Exit status 1 if any change failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import ldap3

from passgate.dev import seed
from passgate.dev.slapd import SBIN_DIRS, Slapd
from passgate.dev.tokens import DevIssuer
from passgate.testing import passgate_serve

LAX_POLICY_DN = f"cn=lax,{seed.POLICIES_DN}"
PASSWORDS = ("Bench-Passw0rd-A", "Bench-Passw0rd-B")
PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
GUARD_ATTRIBUTES = ["pwdFailureTime", "pwdAccountLockedTime", "pwdPolicySubentry"]
MODES = ("raw", "python-ldap", "passgate")
# passgate's LDAP phases and the raw sides' operation that does the same work.
# passgate's phases that wait for the directory, and the raw sides' operation doing the same
# work: a user's first change finds the entry and reads its counter in one search (lookup),
# later ones read the counter alone (guard, the DN cached); the raw sides search every time.
LDAP_PHASES = {"lookup": "search", "guard": "search", "bind": "bind", "modify": "modify"}
RAW_OPERATIONS = ("search", "bind", "modify")
WARMUP = 200
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Phases = dict[str, float]  # phase name -> milliseconds, in order of first appearance
CLIENT = "client"  # the phase the bench adds to each change: the latency its client saw


@dataclass
class BenchUser:
    dn: str
    user_id: str
    token: str = ""
    current: int = 0  # index into PASSWORDS

    def passwords(self) -> tuple[str, str]:
        """(old, new); :meth:`flip` once the change is done."""
        return PASSWORDS[self.current], PASSWORDS[1 - self.current]

    def flip(self) -> None:
        self.current = 1 - self.current


class Client(Protocol):
    """One concurrent client: its own connections, used by one thread at a time."""

    def change(self, user: BenchUser) -> Phases | None:
        """Change the user's password; the phases' times, or None (recorded by :func:`failed`)."""

    def close(self) -> None: ...

    def between_rounds(self) -> None:
        """Called while the other modes run their rounds."""


FIRST_ERRORS: list[str] = []  # what went wrong, printed after the table (no passwords in it)
_errors_lock = threading.Lock()


def failed(what: str) -> None:
    with _errors_lock:
        if len(FIRST_ERRORS) < 5:
            FIRST_ERRORS.append(what)


def guard_filter(user: BenchUser) -> str:
    return f"(&(objectClass=inetOrgPerson)(passgateUserId={user.user_id}))"


class Ldap3Client:
    """Raw ldap3: passgate's three operations, nothing else."""

    control = (PPOLICY_OID, False, None)

    def __init__(self, server: Slapd) -> None:
        host = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
        self.service = ldap3.Connection(
            host, user=seed.SERVICE_DN, password=seed.SERVICE_PASSWORD, auto_bind=True
        )
        self.user = ldap3.Connection(host, authentication=ldap3.SIMPLE)
        self.user.open()

    def change(self, user: BenchUser) -> Phases | None:
        old, new = user.passwords()
        t0 = time.perf_counter()
        self.service.search(
            seed.PEOPLE_DN, guard_filter(user), attributes=GUARD_ATTRIBUTES, size_limit=2
        )
        t1 = time.perf_counter()
        if len(self.service.response) != 1:
            failed(f"raw search: {self.service.result}")
            return None
        # UTF-8 bytes, as passgate sends them (ldap3 would SASLprep a str).
        self.user.user, self.user.password = self.service.response[0]["dn"], old.encode()
        bound = self.user.bind(controls=[self.control])
        t2 = time.perf_counter()
        if not bound:
            failed(f"raw bind: {self.user.result}")
            return None
        done = self.user.extend.standard.modify_password(
            old_password=old.encode(), new_password=new.encode(), controls=[self.control]
        )
        t3 = time.perf_counter()
        if not done:
            failed(f"raw modify: {self.user.result}")
            return None
        user.flip()
        return {"search": (t1 - t0) * 1000, "bind": (t2 - t1) * 1000, "modify": (t3 - t2) * 1000}

    def between_rounds(self) -> None:
        """The LDAP connections stay open: slapd here drops no idle connection."""

    def close(self) -> None:
        for conn in (self.service, self.user):
            conn.unbind()


class PyLdapClient:
    """python-ldap: the same three operations through libldap (GIL released while waiting)."""

    def __init__(self, server: Slapd) -> None:
        import ldap
        from ldap.controls.ppolicy import PasswordPolicyControl

        self.ldap = ldap
        self.controls = [PasswordPolicyControl()]  # valueless, not critical: as passgate's
        assert self.controls[0].controlType == PPOLICY_OID
        self.service = ldap.initialize(server.url)
        self.service.simple_bind_s(seed.SERVICE_DN, seed.SERVICE_PASSWORD)
        self.user = ldap.initialize(server.url)

    def change(self, user: BenchUser) -> Phases | None:
        ldap = self.ldap
        old, new = user.passwords()
        try:
            t0 = time.perf_counter()
            found = self.service.search_ext_s(
                seed.PEOPLE_DN,
                ldap.SCOPE_SUBTREE,
                guard_filter(user),
                GUARD_ATTRIBUTES,
                sizelimit=2,
            )
            t1 = time.perf_counter()
            if len(found) != 1:
                failed(f"python-ldap search: {len(found)} entries")
                return None
            dn = found[0][0]
            self.user.simple_bind_s(dn, old.encode(), serverctrls=self.controls)
            t2 = time.perf_counter()
            # No userIdentity: the bound user's own password, as passgate sends it.
            self.user.passwd_s(None, old.encode(), new.encode(), serverctrls=self.controls)
            t3 = time.perf_counter()
        except ldap.LDAPError as error:
            failed(f"python-ldap: {error!r}")
            return None
        user.flip()
        return {"search": (t1 - t0) * 1000, "bind": (t2 - t1) * 1000, "modify": (t3 - t2) * 1000}

    def between_rounds(self) -> None:
        """The LDAP connections stay open: slapd here drops no idle connection."""

    def close(self) -> None:
        for conn in (self.service, self.user):
            conn.unbind_s()


def parse_server_timing(header: str) -> Phases:
    """``auth;dur=0.2, guard;dur=0.9;desc="x"`` -> {"auth": 0.2, "guard": 0.9} (W3C syntax)."""
    phases: Phases = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if name and key.strip().lower() == "dur":
                with contextlib.suppress(ValueError):
                    phases[name] = phases.get(name, 0.0) + float(value.strip().strip('"'))
    return phases


class HttpError(Exception):
    """The connection broke, or the answer was not HTTP/1.1 this client reads."""


class PassgateClient:
    """An HTTP/1.1 keep-alive client posting to the v1 endpoint with each user's token.

    A minimal one over a socket, as a load generator's (wrk's) is: the
    request written in one piece, the answer's status line and headers split
    by hand and its body read by ``Content-Length`` (passgate always sends
    one). http.client, used before, spent 0.7 ms of the bench's CPU per
    change on a slow host, mostly parsing headers with the email package;
    at c=1 the client's time adds to every change's latency, and it is the
    load generator's cost, not passgate's. Its CPU is still printed.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def change(self, user: BenchUser) -> Phases | None:
        old, new = user.passwords()
        body = json.dumps({"oldPassword": old, "newPassword": new}).encode()
        head = (
            f"POST /v1/users/{user.user_id}/change-password HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {user.token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            status, headers, text = self._exchange(head.encode() + body)
        except (OSError, HttpError) as error:
            self.close()  # the next request opens a new connection
            failed(f"passgate: {error!r}")
            return None
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status != 200:
            failed(f"passgate {status}: {text.decode(errors='replace')}")
            return None
        user.flip()
        return parse_server_timing(headers.get("server-timing", ""))

    def _exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4 :]
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise HttpError(f"not an HTTP/1.x status line: {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise HttpError(f"no Content-Length in the answer: {sorted(headers)}")
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._receive()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(rest[:3]), headers, body

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise HttpError("passgate closed the connection")
        self.buffer += data

    def between_rounds(self) -> None:
        """Drop the keep-alive connection; the next request opens a new one.

        passgate closes a connection idle for PASSGATE_HTTP_KEEP_ALIVE_TIMEOUT
        (5 s), and the other modes' rounds can take longer on a busy machine:
        a POST on a connection the server has closed fails (a client must not
        resend it blindly), as it would for any client that kept it.
        """
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# -- CPU and memory from /proc ------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the third (state) on


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # the task ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """utime+stime of the process, its reaped children and, recursively, its live children."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat.
    own = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS
    return own + sum(cpu_seconds(child) for child in _children(pid))


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (``--workers N`` forks N)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    return total + sum(rss_mb(child) for child in _children(pid))


# -- running rounds -------------------------------------------------------------


@dataclass
class Result:
    mode: str
    concurrency: int
    changes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds
    phases: list[Phases] = field(default_factory=list, repr=False)
    errors: int = 0
    client_cpu: float = 0.0  # the bench process's CPU seconds
    server_cpu: float = 0.0  # passgate serve's (and its workers') CPU seconds
    slapd_cpu: float = 0.0

    def add(self, other: Result) -> None:
        self.changes += other.changes
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.phases += other.phases
        self.errors += other.errors
        self.client_cpu += other.client_cpu
        self.server_cpu += other.server_cpu
        self.slapd_cpu += other.slapd_cpu

    @property
    def rate(self) -> float:
        return self.changes / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def per_change_ms(self, seconds: float) -> float:
        return seconds / self.changes * 1000 if self.changes else 0.0

    @property
    def cpu_ms(self) -> float:
        """The CPU that does the mode's work: the LDAP client's, or passgate's server's."""
        return self.per_change_ms(self.server_cpu if self.mode == "passgate" else self.client_cpu)


@dataclass
class Level:
    """The clients of one mode at one concurrency level, each with its own users."""

    mode: str
    clients: list[Client]
    slices: list[list[BenchUser]]
    positions: list[int]  # where each client is in its users, kept across rounds


def run_round(level: Level, changes: int, slapd_pid: int, server_pid: int | None) -> Result:
    """``changes`` changes spread over the level's clients, one thread each."""
    n = len(level.clients)
    latencies: list[list[float]] = [[] for _ in range(n)]
    phases: list[list[Phases]] = [[] for _ in range(n)]
    errors = [0] * n
    remaining = [changes]
    lock = threading.Lock()
    ready = threading.Barrier(n + 1)

    def worker(index: int) -> None:
        client, mine = level.clients[index], level.slices[index]
        ready.wait()
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            user = mine[level.positions[index] % len(mine)]
            level.positions[index] += 1
            started = time.perf_counter()
            try:
                timing = client.change(user)
            except Exception as error:  # counted, never silently ends the thread
                failed(f"{level.mode}: {error!r}")
                timing = None
            latency = time.perf_counter() - started
            latencies[index].append(latency)
            if timing is None:
                errors[index] += 1
            else:
                phases[index].append({**timing, CLIENT: latency * 1000})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    cpu0, slapd0 = time.process_time(), cpu_seconds(slapd_pid)
    server0 = cpu_seconds(server_pid) if server_pid else 0.0
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    result = Result(level.mode, n, seconds=elapsed, errors=sum(errors))
    result.client_cpu = time.process_time() - cpu0
    result.slapd_cpu = cpu_seconds(slapd_pid) - slapd0
    if server_pid:
        result.server_cpu = cpu_seconds(server_pid) - server0
    result.latencies = [x for chunk in latencies for x in chunk]
    result.phases = [x for chunk in phases for x in chunk]
    result.changes = len(result.latencies)
    return result


def make_directory(users: int, nosync: bool) -> tuple[Slapd, list[BenchUser]]:
    lax = seed.policy(
        LAX_POLICY_DN,
        pwdMinLength="0",
        pwdInHistory="0",
        pwdCheckQuality="0",
        pwdLockout="FALSE",
        pwdMustChange="FALSE",
    )
    people = [seed.User(f"bench{i:05d}", f"{i:024x}", PASSWORDS[0]) for i in range(1, users + 1)]
    ldif = "\n".join([seed.base_ldif(), lax, *(u.ldif() for u in people)])
    server = Slapd(seed_ldif=ldif, default_policy_dn=LAX_POLICY_DN, nosync=nosync).start()
    return server, [BenchUser(u.dn, u.user_id) for u in people]


# -- printing -----------------------------------------------------------------------


def machine_line() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{socket.gethostname()}: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def versions_line() -> str:
    slapd = "slapd ?"
    for d in SBIN_DIRS:
        if Path(d, "slapd").exists():
            out = subprocess.run(
                [str(Path(d, "slapd")), "-VV"], capture_output=True, text=True, check=False
            )
            words = (out.stderr + out.stdout).split()
            if "slapd" in words:
                slapd = "slapd " + words[words.index("slapd") + 1]
            break
    tree = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=False,
    )
    passgate = tree.stdout.strip() or "?"
    parts = [f"passgate {passgate}", f"OpenLDAP {slapd}", f"ldap3 {ldap3.__version__}"]
    try:
        import ldap

        info = ldap.get_option(ldap.OPT_API_INFO)
        vendor = info["vendor_version"]
        parts.append(
            f"python-ldap {ldap.__version__} "
            f"(libldap {vendor // 10000}.{vendor // 100 % 100}.{vendor % 100})"
        )
    except ImportError:
        parts.append("python-ldap not installed")
    return ", ".join(parts)


def filesystem_of(path: Path) -> str:
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if str(path).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def median(values: Iterable[float]) -> float | None:
    listed = list(values)
    return statistics.median(listed) if listed else None


def fmt(value: float | None, width: int = 9, digits: int = 3) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'':>{width}}"


def print_phases(level: int, results: dict[tuple[str, int], Result]) -> None:
    ours = results.get(("passgate", level))
    raw = results.get(("raw", level))
    pyldap = results.get(("python-ldap", level))

    def op(result: Result | None, name: str) -> float | None:
        return median(p[name] for p in result.phases if name in p) if result else None

    def row(label: str, *values: float | None) -> None:
        print(f"{label:38} {' '.join(fmt(v) for v in values)}".rstrip())

    raw_ops = RAW_OPERATIONS
    print(f"\nper phase at c={level}: median ms per change")
    print(f"{'phase':38} {'passgate':>9} {'raw ldap3':>9} {'pyldap':>9}")
    seen: list[str] = []
    for phases in ours.phases if ours else []:
        seen += [name for name in phases if name not in seen and name != CLIENT]
    if ours is not None and not seen:
        print(
            "  (passgate sent no Server-Timing header, PASSGATE_SERVER_TIMING unsupported or off:"
            "\n   no per-phase figures for passgate; the raw sides' operations only)"
        )
    if not seen:
        for name in raw_ops:
            row(f"LDAP {name}", None, op(raw, name), op(pyldap, name))
    for name in seen:
        match = LDAP_PHASES.get(name)
        label = f"{name} (LDAP: raw {match})" if match else name
        other = match or "-"  # no raw counterpart: empty columns
        row(label, op(ours, name), op(raw, other), op(pyldap, other))
        if name == "guard" and "lookup" in seen and ours is not None:
            both = median(p.get("lookup", 0.0) + p.get("guard", 0.0) for p in ours.phases)
            row("lookup + guard (LDAP: raw search)", both, op(raw, "search"), op(pyldap, "search"))
    parts = [n for n in seen if n != "total"]
    ldap_names = [n for n in parts if n in LDAP_PHASES]
    if ours is not None and "total" in seen:
        with_total = [p for p in ours.phases if "total" in p]
        rest = median(p["total"] - sum(p.get(n, 0.0) for n in parts) for p in with_total)
        row("total minus the phases", rest)
        own = median(p["total"] - sum(p.get(n, 0.0) for n in ldap_names) for p in with_total)
        row("passgate own time (total - LDAP)", own)
        row(
            "HTTP + bench client (client - total)",
            median(p[CLIENT] - p["total"] for p in with_total),
        )
    if ours is not None and ldap_names:
        wait = median(sum(p.get(n, 0.0) for n in ldap_names) for p in ours.phases)
    else:
        wait = None
    raw_wait, py_wait = (
        median(sum(p.get(n, 0.0) for n in raw_ops) for p in r.phases) if r else None
        for r in (raw, pyldap)
    )
    row("LDAP wait (lookup+guard+bind+modify)", wait, raw_wait, py_wait)
    row("client end to end", op(ours, CLIENT), op(raw, CLIENT), op(pyldap, CLIENT))


def ratio(a: Result | None, b: Result | None) -> float | None:
    return a.rate / b.rate if a and b and b.rate else None


# -- main -----------------------------------------------------------------------------


def workers_arg(text: str) -> str:
    if text != "auto" and not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError("a number of processes, or auto")
    return text


def modes_arg(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes are {', '.join(MODES)}")
    return [m for m in MODES if m in modes]  # always in the same interleaving order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=7000, help="changes per mode and level")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per level")
    parser.add_argument(
        "--workers", type=workers_arg, default="1", help="passgate serve --workers (N or auto)"
    )
    parser.add_argument("--modes", type=modes_arg, default=list(MODES), help=",".join(MODES))
    parser.add_argument(
        "--nosync", action="store_true", help="slapd without fsync (olcDbNoSync); never for data"
    )
    parser.add_argument(
        "--rss-changes",
        type=int,
        default=0,
        help="then one long passgate run of N changes, RSS before and after",
    )
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    modes: list[str] = args.modes

    t0 = time.perf_counter()
    server, users = make_directory(args.users, args.nosync)
    assert server.process is not None
    assert server.workdir is not None
    slapd_pid = server.process.pid
    issuer = DevIssuer()
    for user in users:  # one token per user, as each user's client would hold its own
        user.token = issuer.token(user.user_id, username="bench", lifetime=24 * 3600)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"passgate bench, {now}; {machine_line()}")
    print(versions_line())
    durability = "nosync" if args.nosync else "fsync (default durability)"
    print(f"slapd: {durability}, database on {filesystem_of(server.workdir)}")
    limiter = "memory://" if args.workers == "1" else "redis:// (a local redis-server)"
    print(
        f"passgate serve --workers {args.workers}: default settings, access log on (to a file), "
        f"PASSGATE_SERVER_TIMING=true, PASSGATE_LIMITER_URL={limiter}"
    )
    print(
        f"{len(users)} users (one token each), {args.changes} changes per mode and level "
        f"in {args.rounds} interleaved rounds; modes {', '.join(modes)}; "
        f"directory ready in {time.perf_counter() - t0:.1f}s"
    )
    sys.stdout.flush()

    results: dict[tuple[str, int], Result] = {}
    rss: list[tuple[str, float]] = []
    serve_args = ["--workers", args.workers]
    redis = None
    try:
        with tempfile.TemporaryDirectory(prefix="passgate-bench-") as tmp:
            workdir = Path(tmp)
            key_file = issuer.write_public_key(workdir / "issuer.pem")
            settings = {
                **seed.passgate_settings(server.url, issuer.issuer, key_file),
                "server_timing": "true",
            }
            if args.workers != "1":  # several workers share one limiter, or serve refuses
                from tests.servers.redis_server import RedisServer

                redis = RedisServer().start()
                settings["limiter_url"] = redis.url
            served = passgate_serve(
                serve_args, settings, workdir, workdir / "passgate.log", discard_stdout=True
            )
            with served as (process, base):
                port = urlsplit(base).port
                assert port is not None
                factories: dict[str, Callable[[], Client]] = {
                    "raw": lambda: Ldap3Client(server),
                    "python-ldap": lambda: PyLdapClient(server),
                    "passgate": lambda: PassgateClient(port),
                }

                def level_of(mode: str, n: int) -> Level:
                    clients = [factories[mode]() for _ in range(n)]
                    return Level(mode, clients, [users[i::n] for i in range(n)], [0] * n)

                def close(level: Level) -> None:
                    for client in level.clients:
                        client.close()

                for mode in modes:
                    warm = level_of(mode, max(levels))
                    run_round(warm, WARMUP, slapd_pid, process.pid)
                    close(warm)
                if "passgate" in modes:
                    rss.append(("before", rss_mb(process.pid)))
                for n in levels:
                    running = {mode: level_of(mode, n) for mode in modes}
                    for mode in modes:
                        results[mode, n] = Result(mode, n)
                    # Interleaved rounds: a shared machine's drift hits every mode alike.
                    for r in range(args.rounds):
                        share = args.changes // args.rounds + (r < args.changes % args.rounds)
                        for mode in modes:
                            server_pid = process.pid if mode == "passgate" else None
                            part = run_round(running[mode], share, slapd_pid, server_pid)
                            results[mode, n].add(part)
                            for client in running[mode].clients:
                                client.between_rounds()
                    for level in running.values():
                        close(level)
                if "passgate" in modes:
                    rss.append(("after the levels", rss_mb(process.pid)))
                long_run: Result | None = None
                if args.rss_changes and "passgate" in modes:
                    n = max(levels)
                    level = level_of("passgate", n)
                    long_run = run_round(level, args.rss_changes, slapd_pid, process.pid)
                    close(level)
                    rss.append((f"after {long_run.changes} more at c={n}", rss_mb(process.pid)))
    finally:
        server.stop()
        if redis is not None:
            redis.stop()

    print(
        "\ncpu ms: CPU per change of the side doing the work: the bench process (the LDAP "
        "client)\nfor raw and python-ldap, passgate serve and its workers for passgate; "
        "slapd ms: slapd's.\n"
    )
    header = ("mode", "conc", "changes/s", "p50 ms", "p99 ms", "errors", "vs raw", "vs pyldap")
    print(
        "{:12} {:>5} {:>10} {:>8} {:>8} {:>7} {:>7} {:>9}".format(*header)
        + f" {'cpu ms':>7} {'slapd ms':>8}"
    )
    for n in levels:
        for mode in modes:
            r = results[mode, n]
            vs_raw = ratio(r, results.get(("raw", n))) if mode != "raw" else None
            vs_py = ratio(r, results.get(("python-ldap", n))) if mode != "python-ldap" else None
            print(
                f"{r.mode:12} {n:>5} {r.rate:>10.0f} {r.percentile(50):>8.2f} "
                f"{r.percentile(99):>8.2f} {r.errors:>7} {fmt(vs_raw, 7, 2)} {fmt(vs_py, 9, 2)} "
                f"{r.cpu_ms:>7.2f} {r.per_change_ms(r.slapd_cpu):>8.2f}"
            )
    if "passgate" in modes:
        print(
            "\nthe bench's own HTTP client, passgate mode (for information): "
            + ", ".join(
                f"{results['passgate', n].per_change_ms(results['passgate', n].client_cpu):.2f} "
                f"ms/change at c={n}"
                for n in levels
            )
        )
    for n in levels:
        print_phases(n, results)

    if rss:
        first = rss[0][1]
        total = sum(results["passgate", n].changes for n in levels)
        print(f"\npassgate RSS: {first:.1f} MB before {total} changes over the levels", end="")
        for label, value in rss[1:]:
            print(f"; {value:.1f} MB {label} (growth {value - first:+.1f} MB)", end="")
        print(f"; run took {time.perf_counter() - t0:.0f}s")
    if long_run is not None and long_run.errors:
        print(f"long run: {long_run.errors} errors")

    low = min(levels)
    if "python-ldap" in modes and "passgate" in modes:
        pieces = []
        for n in levels:
            r = ratio(results["passgate", n], results["python-ldap", n])
            pieces.append(f"pyldap_ratio@{n}={r:.2f}" if r is not None else f"pyldap_ratio@{n}=-")
        for n in levels:
            ours, anchor = results["passgate", n], results["python-ldap", n]
            if ours.latencies and anchor.latencies:
                pieces.append(f"p99_ratio@{n}={ours.percentile(99) / anchor.percentile(99):.2f}")
        print(" ".join(pieces))
    if "raw" in modes and "passgate" in modes:
        pieces = []
        for n in levels:
            r = ratio(results["passgate", n], results["raw", n])
            pieces.append(f"ratio@{n}={r:.2f}" if r is not None else f"ratio@{n}=-")
        ours, raw = results["passgate", low], results["raw", low]
        pieces.append(f"cpu_gap_ms={ours.cpu_ms - raw.cpu_ms:.2f}")
        gap = ours.per_change_ms(ours.slapd_cpu) - raw.per_change_ms(raw.slapd_cpu)
        pieces.append(f"slapd_gap_ms={gap:.2f}")
        print(" ".join(pieces))

    failures = sum(r.errors for r in results.values()) + (long_run.errors if long_run else 0)
    for what in FIRST_ERRORS:
        print(f"error: {what}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
