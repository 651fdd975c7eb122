"""passgate against raw ldap3, on the same slapd, in one run.

    .venv/bin/python bench/run.py [--users 2000] [--changes 7000] [--concurrency 1,8,32]

Starts a throwaway slapd (passgate's own fixture code) with a few thousand
users under a lax policy (no history, no minimum age, no lockout), so that
every change can flip a user between two passwords forever. Then, for each
concurrency level:

1. raw ldap3: per change, a search by passgateUserId as the service account,
   a bind as the user and an RFC 3062 password modify carrying the old
   password, on one reused service connection and one reused user connection
   per worker thread;
2. passgate end to end: ``passgate serve`` (uvicorn, one process, access log
   off) and HTTP/1.1 keep-alive clients posting to the v1 endpoint with the
   users' tokens.

The two modes run in interleaved rounds at each level (raw, passgate, raw,
passgate, ...), so that the drift of a shared machine falls on both alike.

It prints changes per second, p50 and p99 latency, the passgate/raw ratio,
and passgate's RSS before and after; the last line reads
``ratio@8=<x> ratio@32=<y>``. slapd runs without fsync (olcDbNoSync), so the
disk does not hide passgate's own cost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import ldap3

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from passgate.testing import passgate_serve

LAX_POLICY_DN = f"cn=lax,{seed.POLICIES_DN}"
PASSWORDS = ("Bench-Passw0rd-A", "Bench-Passw0rd-B")
PPOLICY = ("1.3.6.1.4.1.42.2.27.8.5.1", False, None)
WARMUP = 200


@dataclass
class BenchUser:
    dn: str
    user_id: str
    token: str = ""
    current: int = 0  # index into PASSWORDS

    def flip(self) -> tuple[str, str]:
        old, new = PASSWORDS[self.current], PASSWORDS[1 - self.current]
        self.current = 1 - self.current
        return old, new


@dataclass
class Result:
    mode: str
    concurrency: int
    changes: int
    seconds: float
    latencies: list[float] = field(repr=False)
    errors: int = 0

    def merge(self, other: Result) -> Result:
        return Result(
            self.mode,
            self.concurrency,
            self.changes + other.changes,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            self.errors + other.errors,
        )

    @property
    def rate(self) -> float:
        return self.changes / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def make_directory(users: int) -> tuple[Slapd, list[BenchUser]]:
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
    server = Slapd(seed_ldif=ldif, default_policy_dn=LAX_POLICY_DN, nosync=True).start()
    return server, [BenchUser(u.dn, u.user_id) for u in people]


def run_workers(
    mode: str,
    concurrency: int,
    changes: int,
    users: list[BenchUser],
    make_worker: Callable[[], Callable[[BenchUser], bool]],
) -> Result:
    """``changes`` changes spread over ``concurrency`` threads, each on its own users."""
    slices = [users[i::concurrency] for i in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    remaining = [changes]
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)

    def worker(index: int) -> None:
        change = make_worker()
        mine = slices[index]
        ready.wait()
        position = 0
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            user = mine[position % len(mine)]
            position += 1
            started = time.perf_counter()
            ok = change(user)
            latencies[index].append(time.perf_counter() - started)
            if not ok:
                errors[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [x for chunk in latencies for x in chunk]
    return Result(mode, concurrency, len(flat), elapsed, flat, sum(errors))


FIRST_ERRORS: list[str] = []  # what went wrong, printed after the table (no passwords in it)


def failed(what: str) -> bool:
    if len(FIRST_ERRORS) < 5:
        FIRST_ERRORS.append(what)
    return False


def raw_ldap3_worker(server: Slapd) -> Callable[[], Callable[[BenchUser], bool]]:
    def make() -> Callable[[BenchUser], bool]:
        host = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
        service = ldap3.Connection(
            host, user=seed.SERVICE_DN, password=seed.SERVICE_PASSWORD, auto_bind=True
        )
        user_conn = ldap3.Connection(host, authentication=ldap3.SIMPLE)
        user_conn.open()

        def change(user: BenchUser) -> bool:
            service.search(
                seed.PEOPLE_DN,
                f"(&(objectClass=inetOrgPerson)(passgateUserId={user.user_id}))",
                attributes=[ldap3.NO_ATTRIBUTES],
                size_limit=2,
            )
            dn = service.response[0]["dn"]
            old, new = user.flip()
            user_conn.user, user_conn.password = dn, old
            if not user_conn.bind(controls=[PPOLICY]):
                return failed(f"raw bind: {user_conn.result}")
            if not user_conn.extend.standard.modify_password(
                old_password=old, new_password=new, controls=[PPOLICY]
            ):
                return failed(f"raw modify: {user_conn.result}")
            return True

        return change

    return make


def passgate_worker(port: int) -> Callable[[], Callable[[BenchUser], bool]]:
    def make() -> Callable[[BenchUser], bool]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def change(user: BenchUser) -> bool:
            old, new = user.flip()
            body = json.dumps({"oldPassword": old, "newPassword": new})
            conn.request(
                "POST",
                f"/v1/users/{user.user_id}/change-password",
                body=body,
                headers={
                    "Authorization": f"Bearer {user.token}",
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            text = response.read()
            if response.status != 200:
                return failed(f"passgate {response.status}: {text.decode(errors='replace')}")
            return True

        return change

    return make


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (``--workers N`` forks N)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return total + sum(rss_mb(int(child)) for child in children)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=7000, help="changes per mode and level")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per level")
    parser.add_argument("--workers", type=int, default=1, help="passgate serve --workers")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]

    t0 = time.perf_counter()
    server, users = make_directory(args.users)
    issuer = DevIssuer()
    for user in users:
        user.token = issuer.token(user.user_id, username="bench", lifetime=24 * 3600)
    print(f"slapd {server.url} with {len(users)} users ready in {time.perf_counter() - t0:.1f}s")
    results: dict[tuple[str, int], Result] = {}
    serve_args = ["--log-level", "WARNING", "--no-access-log", "--workers", str(args.workers)]
    try:
        with tempfile.TemporaryDirectory(prefix="passgate-bench-") as tmp:
            workdir = Path(tmp)
            key_file = issuer.write_public_key(workdir / "issuer.pem")
            settings = seed.passgate_settings(server.url, issuer.issuer, key_file)
            served = passgate_serve(
                serve_args, settings, workdir, workdir / "passgate.log", discard_stdout=True
            )
            with served as (process, base):
                port = urlsplit(base).port
                assert port is not None
                modes = {"raw": raw_ldap3_worker(server), "passgate": passgate_worker(port)}
                for mode, worker in modes.items():
                    run_workers(mode, max(levels), WARMUP, users, worker)
                rss_before = rss_mb(process.pid)
                for level in levels:
                    # Interleaved rounds: a shared machine's drift hits both modes alike.
                    for _ in range(args.rounds):
                        for mode, worker in modes.items():
                            part = run_workers(
                                mode, level, args.changes // args.rounds, users, worker
                            )
                            results[mode, level] = (
                                results[mode, level].merge(part)
                                if (mode, level) in results
                                else part
                            )
                rss_after = rss_mb(process.pid)
    finally:
        server.stop()

    cpu = os.cpu_count()
    print(f"\n{cpu} CPUs, {args.users} users, {args.changes} changes per mode and level\n")
    header = ("mode", "conc", "changes/s", "p50 ms", "p99 ms", "errors", "ratio")
    print("{:10} {:>5} {:>10} {:>8} {:>8} {:>7} {:>6}".format(*header))
    ratios: dict[int, float] = {}
    for level in levels:
        raw, ours = results["raw", level], results["passgate", level]
        ratios[level] = ours.rate / raw.rate
        for r in (raw, ours):
            ratio = f"{ratios[level]:.2f}" if r is ours else ""
            print(
                f"{r.mode:10} {r.concurrency:>5} {r.rate:>10.0f} {r.percentile(50):>8.2f} "
                f"{r.percentile(99):>8.2f} {r.errors:>7} {ratio:>6}"
            )
    total = sum(results["passgate", level].changes for level in levels)
    print(
        f"\npassgate RSS: {rss_before:.1f} MB before, {rss_after:.1f} MB after {total} changes "
        f"(growth {rss_after - rss_before:+.1f} MB); run took {time.perf_counter() - t0:.0f}s"
    )
    print(" ".join(f"ratio@{level}={ratios[level]:.2f}" for level in levels if level != 1))
    failures = sum(r.errors for r in results.values())
    for what in FIRST_ERRORS:
        print(f"error: {what}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
