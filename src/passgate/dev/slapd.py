"""A throwaway OpenLDAP ``slapd``, in the style of python-ldap's ``slapdtest``.

The server lives in a private temporary directory: its configuration is
built offline with ``slapadd -n0`` (cn=config), the data with ``slapadd
-n1``, it listens on a free loopback port, readiness is polled with a real
LDAP request, and :meth:`Slapd.stop` kills it and removes every file.

Used by ``passgate dev`` and by the test suite's session fixture, so the
demo and the tests run against the same configuration.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import ldap3

log = logging.getLogger(__name__)

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec/openldap")
MODULE_DIRS = ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap")
SYSTEM_SCHEMA_DIRS = ("/etc/ldap/schema", "/etc/openldap/schema")


class SlapdUnavailable(RuntimeError):
    """slapd or its tools are not installed on this machine."""


def _find(name: str, dirs: tuple[str, ...]) -> Path:
    found = shutil.which(name)
    if found:
        return Path(found)
    for d in dirs:
        candidate = Path(d) / name
        if candidate.exists():
            return candidate
    raise SlapdUnavailable(f"{name} not found (install the Debian packages slapd and ldap-utils)")


def _first_dir(dirs: tuple[str, ...], marker: str) -> Path:
    for d in dirs:
        if (Path(d) / marker).exists():
            return Path(d)
    raise SlapdUnavailable(f"{marker} not found in any of {', '.join(dirs)}")


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def project_schema_ldif() -> Path:
    """``ldap_schema/openldap/passgate.ldif``: from the source tree, else the installed copy."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "ldap_schema" / "openldap" / "passgate.ldif"
        if candidate.exists():
            return candidate
    packaged = here.parent / "passgate.ldif"
    if packaged.exists():
        return packaged
    raise SlapdUnavailable("ldap_schema/openldap/passgate.ldif not found")


@dataclass
class Slapd:
    """One slapd process with a mdb database, the ppolicy overlay and the passgate schema."""

    suffix: str = "dc=example,dc=org"
    root_dn: str = "cn=admin,dc=example,dc=org"
    root_password: str = field(default="admin-secret", repr=False)
    default_policy_dn: str = "cn=default,ou=policies,dc=example,dc=org"
    service_dn: str = "cn=passgate,ou=services,dc=example,dc=org"
    seed_ldif: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int = 0
    debug: bool = False
    # No fsync per write (benchmarks measure passgate, not the disk); never for real data.
    nosync: bool = False
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    # -- life cycle -------------------------------------------------------

    def start(self) -> Slapd:
        self._slapd = _find("slapd", SBIN_DIRS)
        self._slapadd = _find("slapadd", SBIN_DIRS)
        self._modules = _first_dir(MODULE_DIRS, "back_mdb.la")
        self._schema_dir = _first_dir(SYSTEM_SCHEMA_DIRS, "core.ldif")
        self.workdir = Path(tempfile.mkdtemp(prefix="passgate-slapd-"))
        (self.workdir / "config").mkdir()
        (self.workdir / "db").mkdir()
        if not self.port:
            self.port = free_port()
        if self.tls_cert is not None and not self.tls_port:
            self.tls_port = free_port()
        try:
            self._slapadd_ldif(["-n0", "-F", str(self.workdir / "config")], self._config_ldif())
            if self.seed_ldif:
                self._slapadd_ldif(["-n1", "-F", str(self.workdir / "config")], self.seed_ldif)
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self) -> None:
        assert self.workdir is not None
        urls = self.url
        if self.tls_port:
            urls += f" ldaps://{self.host}:{self.tls_port}"
        logfile = open(self.workdir / "slapd.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                str(self._slapd),
                "-F",
                str(self.workdir / "config"),
                "-h",
                urls,
                "-d",
                "stats" if self.debug else "0",
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logfile.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"slapd exited at start-up:\n{self.log_tail()}")
            try:
                conn = self.admin_connection()
                conn.unbind()
                return
            except ldap3.core.exceptions.LDAPException as exc:
                last = exc
                time.sleep(0.05)
        raise RuntimeError(f"slapd did not answer within {timeout}s: {last}\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGCONT)
                self.process.terminate()
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self) -> None:
        """Stop the process and start it again on the same port and data."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._launch()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets open but stops answering."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------

    def admin_connection(self) -> ldap3.Connection:
        """A connection bound as the rootdn (for seeding and inspection only)."""
        server = ldap3.Server(self.host, port=self.port, get_info=ldap3.NONE, connect_timeout=2)
        return ldap3.Connection(
            server,
            user=self.root_dn,
            password=self.root_password,
            auto_bind=True,
            receive_timeout=5,
        )

    def log_tail(self, lines: int = 40) -> str:
        if self.workdir is None or not (self.workdir / "slapd.log").exists():
            return ""
        text = (self.workdir / "slapd.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _slapadd_ldif(self, args: list[str], ldif: str) -> None:
        assert self.workdir is not None
        path = self.workdir / f"add{args[0]}.ldif"
        path.write_text(ldif)
        result = subprocess.run(
            [str(self._slapadd), *args, "-l", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        path.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"slapadd {' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def _config_ldif(self) -> str:
        assert self.workdir is not None
        w = self.workdir
        schema = self._schema_dir
        tls = ""
        if self.tls_cert is not None and self.tls_key is not None:
            tls = (
                f"olcTLSCertificateFile: {self.tls_cert}\n"
                f"olcTLSCertificateKeyFile: {self.tls_key}\n"
            )
        nosync = "olcDbNoSync: TRUE\n" if self.nosync else ""
        return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {w}/slapd.pid
olcArgsFile: {w}/slapd.args
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {self._modules}
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{schema}/core.ldif

include: file://{schema}/cosine.ldif

include: file://{schema}/inetorgperson.ldif

include: file://{project_schema_ldif()}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{SSHA}}
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {w}/db
olcDbMaxSize: 1073741824
{nosync}olcSuffix: {self.suffix}
olcRootDN: {self.root_dn}
olcRootPW: {self.root_password}
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: passgateUserId eq
olcAccess: {{0}}to attrs=userPassword by self =wx by anonymous auth by * none
olcAccess: {{1}}to attrs=pwdHistory,pwdAccountLockedTime,pwdFailureTime,pwdChangedTime by * none
olcAccess: {{2}}to * by dn.exact="{self.service_dn}" read by self read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: {self.default_policy_dn}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""
