"""A throwaway Keycloak (the pinned Quarkus distribution) on free loopback ports.

Used by ``passgate dev --keycloak`` and by the test suite (``tests/keycloak``),
like :mod:`passgate.dev.slapd`; it talks to Keycloak with the standard
library only, so the demo needs nothing beyond passgate's own dependencies.

``scripts/setup.sh`` unpacks ``org.keycloak:keycloak-quarkus-dist`` into the
user's cache and runs ``kc.sh build`` there once with :data:`BUILD_OPTIONS`
(an in-memory H2 database, the health endpoints). Each server here is then
``kc.sh start --optimized`` with HTTP on loopback, a local (non-clustered)
cache, and a private work directory for its log and transaction store, so the
shared copy is only read and several servers (work trees) run side by side.
The admin of the master realm is bootstrapped from the environment
(``KC_BOOTSTRAP_ADMIN_*``); readiness is ``/health/ready`` on the management
port; a realm is imported through the admin REST API once the server is up
(``--import-realm`` only reads ``data/import`` under the shared home).
:meth:`Keycloak.stop` ends the whole process group: SIGTERM, then SIGKILL.

Why not ``start-dev``: its first start re-augments the distribution in place
(writing ``lib/quarkus``), which would race between work trees, and it is no
faster. Measured on a 2-core machine shared with other test runs (load 2-6),
Keycloak 26.5.6 on OpenJDK 17.0.15:

- ``start-dev``, first start (re-augmentation included): 55 s;
- ``start-dev``, later starts: 25 s;
- ``kc.sh build`` (once, in set-up): 25-35 s;
- ``start --optimized``: 30-34 s with the default clustered cache (which also
  binds JGroups ports 7800/57800 on a non-loopback address, hence
  ``--cache=local`` here), 25-38 s with ``--cache=local``; 17-27 s on
  Temurin 25 (``JAVA_HOME``) under the same load, within the noise;
- the realm import over the admin API: 2-5 s;
- the whole Keycloak test module: 35-45 s, nearly all of it the start.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from passgate.dev.process import LocalServer, find_upwards, free_port

KEYCLOAK_VERSION = "26.5.6"
# What scripts/setup.sh built the distribution with (its .passgate-built stamp).
BUILD_OPTIONS = "--db=dev-mem --health-enabled=true"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class KeycloakUnavailable(RuntimeError):
    """The Keycloak distribution or a Java runtime is missing."""


class KeycloakError(RuntimeError):
    """Keycloak answered an HTTP error: the method, path, status and its body (never a secret)."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url.split('?')[0]}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


def realm_file() -> Path:
    """``deploy/keycloak/passgate-realm.json`` of the source tree: the one realm."""
    found = find_upwards(Path(__file__), "deploy/keycloak/passgate-realm.json")
    if found is None:
        raise KeycloakUnavailable("deploy/keycloak/passgate-realm.json not found (a source tree)")
    return found


def http_json(
    method: str,
    url: str,
    *,
    json_body: object = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> Any:
    """One HTTP call to Keycloak: its JSON answer (None when empty), or KeycloakError."""
    headers = {"Accept": "application/json"}
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    # No proxy: the server is on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise KeycloakError(method, url, exc.code, exc.read().decode("utf-8", "replace")) from None
    return json.loads(raw) if raw.strip() else None


def keycloak_home() -> Path:
    """``PASSGATE_KEYCLOAK_HOME``, else where ``scripts/setup.sh`` unpacks the distribution."""
    configured = os.environ.get("PASSGATE_KEYCLOAK_HOME")
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "passgate" / f"keycloak-{KEYCLOAK_VERSION}"


def find_java() -> Path:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return Path(java_home) / "bin" / "java"
    found = shutil.which("java")
    if found is None:
        raise KeycloakUnavailable("no java on PATH and no JAVA_HOME (Keycloak needs Java 17+)")
    return Path(found)


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """``${NAME}`` -> ``values[NAME]`` as a JSON string body; every placeholder must be known.

    The same syntax Keycloak resolves from its environment with
    ``--import-realm``, so one realm file serves both ways of importing it.
    """
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text)


@dataclass
class Keycloak(LocalServer):
    """One Keycloak process; :meth:`admin` calls its admin REST API as the bootstrap admin."""

    program: ClassVar[str] = "keycloak"

    home: Path = field(default_factory=keycloak_home)
    admin_username: str = "admin"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    management_port: int = 0
    ready_within: float = 240.0
    extra_args: tuple[str, ...] = ()  # more ``kc.sh start`` options
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    _admin_token: tuple[str, float] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def realm_url(self, realm: str) -> str:
        """The issuer (``iss``) of the realm's tokens."""
        return f"{self.url}/realms/{realm}"

    def token_url(self, realm: str) -> str:
        return f"{self.realm_url(realm)}/protocol/openid-connect/token"

    def certs_url(self, realm: str) -> str:
        return f"{self.realm_url(realm)}/protocol/openid-connect/certs"

    # -- life cycle -------------------------------------------------------

    def start(self) -> Self:
        kc_sh = self.home / "bin" / "kc.sh"
        if not kc_sh.exists():
            raise KeycloakUnavailable(f"{kc_sh} not found: run scripts/setup.sh")
        stamp = self.home / ".passgate-built"
        built = stamp.read_text().strip() if stamp.exists() else None
        if built != BUILD_OPTIONS:
            raise KeycloakUnavailable(
                f"{self.home} is not built with {BUILD_OPTIONS} (found {built}): "
                "run scripts/setup.sh"
            )
        java = find_java()
        self.workdir = Path(tempfile.mkdtemp(prefix="passgate-keycloak-"))
        self.port = self.port or free_port()
        self.management_port = self.management_port or free_port()
        env = {
            **os.environ,
            "JAVA": str(java),
            "KC_BOOTSTRAP_ADMIN_USERNAME": self.admin_username,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
        }
        argv = [
            str(kc_sh),
            "start",
            "--optimized",
            "--http-enabled=true",
            "--hostname-strict=false",
            f"--http-host={self.host}",
            f"--http-port={self.port}",
            f"--http-management-port={self.management_port}",
            "--cache=local",
            # The transaction store would otherwise be written under the shared home.
            f"-Dquarkus.transaction-manager.object-store.directory={self.workdir / 'tx'}",
            # Java's own scratch files (Vert.x cache...) go with the rest, not to /tmp.
            f"-Djava.io.tmpdir={self.workdir}",
            *self.extra_args,
        ]
        began = time.monotonic()
        try:
            with (self.workdir / "keycloak.log").open("ab") as out:
                self.process = subprocess.Popen(
                    argv,
                    env=env,
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stop reaches kc.sh and its java
                )
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"keycloak exited at start-up:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                self.answers()
                return
            time.sleep(0.5)
        raise RuntimeError(f"keycloak not ready within {self.ready_within} s:\n{self.log_tail()}")

    def answers(self) -> None:
        """Raise :class:`OSError` unless ``/health/ready`` answers 200."""
        probe = http.client.HTTPConnection(self.host, self.management_port, timeout=2)
        try:
            probe.request("GET", "/health/ready")
            response = probe.getresponse()
            response.read()
            if response.status != 200:
                raise ConnectionError(f"/health/ready: {response.status}")
        finally:
            probe.close()

    def log_files(self) -> list[Path]:
        return [] if self.workdir is None else [self.workdir / "keycloak.log"]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            # kc.sh forwards SIGTERM to java; the group signal reaches both anyway.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        if process is not None:
            # Whatever is left of the group (java outliving kc.sh) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- admin REST API ---------------------------------------------------

    def admin(self, method: str, path: str, json: object = None) -> Any:
        """``METHOD /admin/realms{path}`` as the bootstrap admin: the JSON answer, or None."""
        return http_json(
            method,
            f"{self.url}/admin/realms{path}",
            json_body=json,
            token=self._admin_access_token(),
        )

    def _admin_access_token(self) -> str:
        now = time.monotonic()
        if self._admin_token is not None and self._admin_token[1] > now:
            return self._admin_token[0]
        body = http_json(
            "POST",
            self.token_url("master"),
            form={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.admin_username,
                "password": self.admin_password,
            },
        )
        # Master realm tokens live 60 s by default: renew well before.
        self._admin_token = (body["access_token"], now + body["expires_in"] / 2)
        return str(body["access_token"])

    def import_realm(self, realm_file: Path, values: dict[str, str]) -> str:
        """Create the realm of ``realm_file`` with its ``${NAME}`` placeholders filled in."""
        representation = json.loads(fill_placeholders(realm_file.read_text(), values))
        self.admin("POST", "", representation)
        return str(representation["realm"])
