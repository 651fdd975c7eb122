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
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import ldap3

from passgate.dev.process import LocalServer, find_program, find_upwards, free_port

log = logging.getLogger(__name__)

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec/openldap")
MODULE_DIRS = ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap")
SYSTEM_SCHEMA_DIRS = ("/etc/ldap/schema", "/etc/openldap/schema")


class SlapdUnavailable(RuntimeError):
    """slapd or its tools are not installed on this machine."""


def _find(name: str) -> Path:
    return find_program(
        name, SBIN_DIRS, SlapdUnavailable, "install the Debian packages slapd and ldap-utils"
    )


def _first_dir(dirs: tuple[str, ...], marker: str) -> Path:
    for d in dirs:
        if (Path(d) / marker).exists():
            return Path(d)
    raise SlapdUnavailable(f"{marker} not found in any of {', '.join(dirs)}")


def project_schema_ldif() -> Path:
    """``ldap_schema/openldap/passgate.ldif``: from the source tree, else the installed copy."""
    here = Path(__file__)
    in_tree = find_upwards(here, "ldap_schema/openldap/passgate.ldif")
    if in_tree is not None:
        return in_tree
    packaged = here.resolve().parent / "passgate.ldif"
    if packaged.exists():
        return packaged
    raise SlapdUnavailable("ldap_schema/openldap/passgate.ldif not found")


@dataclass
class Slapd(LocalServer):
    """One slapd process with a mdb database, the ppolicy overlay and the passgate schema."""

    program: ClassVar[str] = "slapd"

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

    def start(self) -> Self:
        self._slapd = _find("slapd")
        self._slapadd = _find("slapadd")
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
        argv = [str(self._slapd), "-F", str(self.workdir / "config"), "-h", urls]
        argv += ["-d", "stats" if self.debug else "0"]
        self._spawn(argv, self.workdir / "slapd.log", ready_within=15.0, poll=0.05)

    def answers(self) -> None:
        self.admin_connection().unbind()

    def log_files(self) -> list[Path]:
        return [] if self.workdir is None else [self.workdir / "slapd.log"]

    def stop(self) -> None:
        self._end_process(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self) -> None:
        """Stop the process and start it again on the same port and data."""
        self._end_process(timeout=10)
        self._launch()

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
        # ACLs: password history (hashes) is nobody's; the lockout counter
        # (pwdFailureTime, pwdAccountLockedTime) is the service account's to read,
        # for passgate's last-straw guard; the policy entries fall under {3}.
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
olcAccess: {{1}}to attrs=pwdHistory,pwdChangedTime by * none
olcAccess: {{2}}to attrs=pwdFailureTime,pwdAccountLockedTime
  by dn.exact="{self.service_dn}" read by * none
olcAccess: {{3}}to * by dn.exact="{self.service_dn}" read by self read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: {self.default_policy_dn}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""
