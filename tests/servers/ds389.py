"""A throwaway 389 Directory Server for the test suite (no pytest in here).

The counterpart of :mod:`passgate.dev.slapd` for 389-DS / Red Hat Directory
Server. :meth:`DS389.start` creates an instance with ``dscreate`` as a lib389
"prefix install": a copy of ``/usr/share/dirsrv/inf/defaults.inf`` under
``<workdir>/p`` redirects every instance path (configuration, database, logs,
pid file, ldapi socket, the ``/dev/shm`` database home) into a short private
temporary directory, so no systemd, ``/etc/dirsrv`` or ``/var/lib/dirsrv`` is
touched. ``ns-slapd`` then runs in the foreground (``-d 0``) as a child
process, listens on two free loopback ports (LDAP + StartTLS, LDAPS with the
self-signed certificate dscreate makes for ``localhost``) and readiness is
polled with a real LDAPS bind. :meth:`DS389.stop` terminates it and removes
every file, including the stats semaphore ns-slapd keeps in ``/dev/shm``.

Creating, starting and configuring an instance takes about 9-11 s on two cores
(mostly dscreate), stopping it 1-2 s: start one per test session, not per test.

Password policy
---------------
The global policy (``cn=config``) is the one passgate meets in practice:
syntax checks on (this also refuses passwords containing the user's own
attribute values and, by 389's default ``passwordMinCategories: 3``, needs
three of upper/lower/digit/special), minimum length 10, history of 3,
no minimum age, lockout after 5 failures, no expiry and **no
passwordMustChange**, so that users added by the Directory Manager bind
normally. The special states are per-user password policies (``nsslapd-
pwpolicy-local: on``; an entry ``objectClass: passwordpolicy`` that a user's
``pwdpolicysubentry`` points at; each carries the whole global policy plus
its one difference, so nothing depends on what 389 takes from the global policy
for attributes a local policy leaves out):

* ``make_must_change``: a policy with ``passwordMustChange: on``, then the
  Directory Manager sets the password, which 389 marks as reset;
* ``expire``: a policy with ``passwordExp: on`` and no grace logins, then the
  Directory Manager sets ``passwordExpirationTime`` in the past;
* ``make_too_young``: a policy with ``passwordMinAge: 1 day``, then the
  Directory Manager sets ``passwordAllowChangeTime`` in the future;
* the service account has its own policy with lockout and expiry off.

Run ``python3 -m tests.servers.ds389`` (from the project root) for a smoke run.
"""

from __future__ import annotations

import datetime as dt
import grp
import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import ldap3

from passgate.dev.process import LocalServer, find_program, find_upwards, free_port
from tests.servers import random_password

log = logging.getLogger(__name__)

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")
DEFAULTS_INF = Path("/usr/share/dirsrv/inf/defaults.inf")
SYSTEM_CONFIG_DIR = Path("/etc/dirsrv")
SHM = Path("/dev/shm")
TASKS = "cn=tasks,cn=config"
SCHEMA_FILE = "99passgate.ldif"

#: The global password policy written to ``cn=config``.
GLOBAL_POLICY: dict[str, str] = {
    "passwordCheckSyntax": "on",
    "passwordMinLength": "10",
    "passwordHistory": "on",
    "passwordInHistory": "3",
    "passwordMinAge": "0",
    "passwordChange": "on",
    "passwordMustChange": "off",
    "passwordLockout": "on",
    "passwordMaxFailure": "5",
    "passwordExp": "off",
    "passwordGraceLimit": "0",
}

#: Per-user policies (``cn=<name>,<policy container>``): the global policy plus these.
LOCAL_POLICIES: dict[str, dict[str, str]] = {
    "service": {"passwordLockout": "off", "passwordExp": "off", "passwordMustChange": "off"},
    "must-change": {"passwordMustChange": "on"},
    "expired": {
        "passwordExp": "on",
        "passwordMaxAge": "86400",
        "passwordWarning": "3600",
        "passwordGraceLimit": "0",
    },
    "too-young": {"passwordMinAge": "86400"},
}

#: Attributes of cn=config the service account may read (passgate's 389 dialect
#: reads passwordMinLength to tell "too short" from other quality failures, the
#: lockout attributes for the last-straw guard). The entry's own counters
#: (passwordRetryCount, retryCountResetTime, accountUnlockTime) are read under
#: the targetattr="*" ACI on ou=people: measured, it covers them.
POLICY_READ_ATTRS = (
    "objectClass",  # a search needs it to evaluate the usual (objectClass=*) filter
    "passwordCheckSyntax",
    "passwordMinLength",
    "passwordMinCategories",
    "passwordMinTokenLength",
    "passwordHistory",
    "passwordInHistory",
    "passwordMinAge",
    "passwordMaxAge",
    "passwordExp",
    "passwordMustChange",
    "passwordLockout",
    "passwordMaxFailure",
    "passwordGraceLimit",
    # the last-straw guard and passgate check: how failures are counted and locked
    "passwordResetFailureCount",
    "passwordLockoutDuration",
    "passwordUnlock",
    "passwordLegacyPolicy",
    "nsslapd-pwpolicy-local",
)


class DS389Unavailable(RuntimeError):
    """389-ds-base (dscreate, ns-slapd) is not installed on this machine."""


def _find(name: str) -> Path:
    return find_program(name, SBIN_DIRS, DS389Unavailable, "install the Debian package 389-ds-base")


def project_schema_ldif() -> Path:
    """``ldap_schema/389ds/99passgate.ldif`` from the source tree."""
    found = find_upwards(Path(__file__), f"ldap_schema/389ds/{SCHEMA_FILE}")
    if found is None:
        raise DS389Unavailable(f"ldap_schema/389ds/{SCHEMA_FILE} not found")
    return found


def _gentime(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass
class DS389(LocalServer):
    """One ns-slapd process with the passgate schema, people, a service account and policies."""

    program: ClassVar[str] = "ns-slapd"

    suffix: str = "dc=example,dc=test"
    people_dn: str = "ou=people,dc=example,dc=test"
    service_dn: str = "uid=passgate,ou=services,dc=example,dc=test"
    service_password: str = field(default_factory=random_password, repr=False)
    root_dn: str = "cn=Directory Manager"
    root_password: str = field(default_factory=random_password, repr=False)
    port: int = 0
    tls_port: int = 0
    workdir: Path | None = None
    instance_name: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    @property
    def prefix(self) -> Path:
        assert self.workdir is not None, "not started"
        return self.workdir / "p"

    @property
    def config_dir(self) -> Path:
        return self.prefix / "etc" / "dirsrv" / f"slapd-{self.instance_name}"

    @property
    def ca_file(self) -> Path:
        """The self-signed CA dscreate made; it signed the server certificate (CN=localhost)."""
        return self.config_dir / "ca.crt"

    @property
    def pid_file(self) -> Path:
        return self.prefix / "run" / "dirsrv" / f"slapd-{self.instance_name}.pid"

    @property
    def error_log(self) -> Path:
        return self.prefix / "var" / "log" / "dirsrv" / f"slapd-{self.instance_name}" / "errors"

    @property
    def policy_container(self) -> str:
        return f"cn=nsPwPolicyContainer,{self.suffix}"

    def policy_dn(self, name: str) -> str:
        return f"cn={name},{self.policy_container}"

    # -- life cycle -------------------------------------------------------

    def start(self) -> Self:
        dscreate = _find("dscreate")
        self._ns_slapd = _find("ns-slapd")
        if not DEFAULTS_INF.exists():
            raise DS389Unavailable(f"{DEFAULTS_INF} not found (install 389-ds-base)")
        schema = project_schema_ldif()
        self.workdir = Path(tempfile.mkdtemp(prefix="pg389-", dir="/tmp"))
        # Unique on the machine: ns-slapd keeps /dev/shm/sem.slapd-<name>.stats outside workdir.
        self.instance_name = "pg" + hashlib.sha256(str(self.workdir).encode()).hexdigest()[:10]
        if not self.port:
            self.port = free_port()
        if not self.tls_port:
            self.tls_port = free_port()
        try:
            self._create(dscreate, schema)
            self._launch()
            self._configure()
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self, dscreate: Path, schema: Path) -> None:
        assert self.workdir is not None
        p = self.prefix
        ldapi = p / "run" / f"slapd-{self.instance_name}.socket"
        if len(str(ldapi)) > 100:
            raise RuntimeError(f"workdir too long for the ldapi socket path {ldapi}")
        self._semaphore().unlink(missing_ok=True)
        for sub in (
            "share/dirsrv/inf",
            "etc/dirsrv",
            "etc/default",
            "etc/tmpfiles.d",
            "var/lib/dirsrv",
            "var/log/dirsrv",
            "run/dirsrv",
            "run/lock/dirsrv",
            "tmp",
        ):
            (p / sub).mkdir(parents=True, exist_ok=True)
        # lib389 honours PREFIX/share/dirsrv/inf/defaults.inf: move every instance path
        # under the prefix; binaries, plugins and the system schema stay in /usr.
        defaults = []
        for line in DEFAULTS_INF.read_text().splitlines():
            line = re.sub(r"= /dev/shm\b", f"= {p}/var/lib/dirsrv/shm", line)
            line = re.sub(r"= /(etc|var|run)\b", rf"= {p}/\1", line)
            line = re.sub(r"^with_systemd = 1", "with_systemd = 0", line)
            line = re.sub(r"^tmp_dir = .*", f"tmp_dir = {p}/tmp", line)
            defaults.append(line)
        (p / "share/dirsrv/inf/defaults.inf").write_text("\n".join(defaults) + "\n")
        for sub in ("config", "schema"):
            shutil.copytree(SYSTEM_CONFIG_DIR / sub, p / "etc" / "dirsrv" / sub)

        # ns-slapd drops privileges to this user; the current one (root here) can always
        # reach the 0700 workdir, and dscreate accepts it.
        user = _current_user()
        inf = self.workdir / "instance.inf"
        inf.write_text(
            f"""\
[general]
config_version = 2
full_machine_name = localhost
selinux = False
systemd = False
start = False
strict_host_checking = False
[slapd]
instance_name = {self.instance_name}
port = {self.port}
secure_port = {self.tls_port}
root_dn = {self.root_dn}
root_password = {self.root_password}
self_sign_cert = True
user = {user[0]}
group = {user[1]}
[backend-userroot]
suffix = {self.suffix}
create_suffix_entry = True
sample_entries = no
"""
        )
        inf.chmod(0o600)
        with open(self.workdir / "dscreate.log", "wb") as out:
            result = subprocess.run(
                [str(dscreate), "-v", "from-file", str(inf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PREFIX": str(p)},
                check=False,
            )
        inf.unlink()  # holds the Directory Manager password
        if result.returncode != 0:
            tail = "\n".join(
                (self.workdir / "dscreate.log").read_text(errors="replace").splitlines()[-30:]
            )
            raise RuntimeError(f"dscreate failed ({result.returncode}):\n{tail}")

        # Listen on loopback only: dscreate has no option for it (the instance is stopped now).
        dse = self.config_dir / "dse.ldif"
        text = dse.read_text()
        text, n = re.subn(
            r"^nsslapd-port: ",
            "nsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1\nnsslapd-port: ",
            text,
            count=1,
            flags=re.MULTILINE,
        )
        if n != 1:
            raise RuntimeError(f"no nsslapd-port in {dse}")
        dse.write_text(text)
        # The passgate schema is read from the instance schema directory at start-up.
        shutil.copyfile(schema, self.config_dir / "schema" / SCHEMA_FILE)

    def _launch(self) -> None:
        assert self.workdir is not None
        # -d 0: stay in the foreground, so the process is ours to watch and to stop.
        argv = [str(self._ns_slapd), "-D", str(self.config_dir), "-i", str(self.pid_file)]
        argv += ["-d", "0"]
        self._spawn(argv, self.workdir / "ns-slapd.log", ready_within=60.0, poll=0.1)

    def answers(self) -> None:
        self.admin_connection().unbind()

    def stop(self) -> None:
        """Stop ns-slapd and remove every file it had; safe to call twice."""
        self._end_process(timeout=30)
        if self.workdir is not None:
            self._stop_stray()
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self.instance_name:
            self._semaphore().unlink(missing_ok=True)

    def _stop_stray(self) -> None:
        """A daemonised ns-slapd left by a dscreate that failed half-way (it starts one)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.config_dir).encode() not in cmdline:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)

    def _semaphore(self) -> Path:
        return SHM / f"sem.slapd-{self.instance_name}.stats"

    # -- configuration ------------------------------------------------------

    def _configure(self) -> None:
        conn = self.admin_connection()
        try:
            _modify(conn, "cn=config", {**GLOBAL_POLICY, "nsslapd-pwpolicy-local": "on"})
            _modify(
                conn,
                "cn=config",
                {
                    "aci": (
                        f'(targetattr="{" || ".join(POLICY_READ_ATTRS)}")(version 3.0; '
                        'acl "passgate service reads the password policy"; '
                        f'allow (read,search,compare) userdn="ldap:///{self.service_dn}";)'
                    )
                },
                op=ldap3.MODIFY_ADD,
            )
            backend = _backend_dn(conn, self.suffix)
            _add(
                conn,
                f"cn=passgateUserId,cn=index,{backend}",
                {
                    "objectClass": ["top", "nsIndex"],
                    "cn": "passgateUserId",
                    "nsSystemIndex": "false",
                    "nsIndexType": "eq",
                },
            )
            # An index added online is not used (notes=U) until the attribute is reindexed.
            _run_task(
                conn,
                f"cn=passgate-reindex,cn=index,{TASKS}",
                {
                    "objectClass": ["top", "extensibleObject"],
                    "cn": "passgate-reindex",
                    "nsInstance": backend.split(",", 1)[0].split("=", 1)[1],
                    "nsIndexAttribute": "passgateUserId:eq",
                },
            )
            service = f"ldap:///{self.service_dn}"
            _add(
                conn,
                self.people_dn,
                {
                    "objectClass": ["top", "organizationalUnit"],
                    "ou": "people",
                    "aci": [
                        '(targetattr="userPassword")(version 3.0; acl "self can change own'
                        ' password"; allow (write) userdn="ldap:///self";)',
                        '(targetattr="*")(version 3.0; acl "self can read itself";'
                        ' allow (read,search,compare) userdn="ldap:///self";)',
                        '(targetattr="*")(version 3.0; acl "passgate service reads people";'
                        f' allow (read,search,compare) userdn="{service}";)',
                        '(targetattr="pwdpolicysubentry || nsAccountLock")(version 3.0;'
                        ' acl "passgate service reads policy pointers";'
                        f' allow (read,search,compare) userdn="{service}";)',
                    ],
                },
            )
            _add(
                conn,
                f"ou=services,{self.suffix}",
                {"objectClass": ["top", "organizationalUnit"], "ou": "services"},
            )
            _add(
                conn,
                self.policy_container,
                {
                    "objectClass": ["top", "nsContainer"],
                    "cn": "nsPwPolicyContainer",
                    "aci": (
                        '(targetattr="*")(version 3.0; acl "passgate service reads policies";'
                        f' allow (read,search,compare) userdn="{service}";)'
                    ),
                },
            )
            for name, overrides in LOCAL_POLICIES.items():
                _add(
                    conn,
                    self.policy_dn(name),
                    {
                        "objectClass": ["top", "ldapsubentry", "passwordpolicy"],
                        "cn": name,
                        **GLOBAL_POLICY,
                        **overrides,
                    },
                )
            uid = self.service_dn.split(",", 1)[0].split("=", 1)[1]
            _add(
                conn,
                self.service_dn,
                {
                    "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson"],
                    "uid": uid,
                    "cn": uid,
                    "sn": uid,
                    "userPassword": self.service_password,
                    "pwdpolicysubentry": self.policy_dn("service"),
                },
            )
        finally:
            conn.unbind()

    # -- helpers ------------------------------------------------------------

    def tls(self) -> ldap3.Tls:
        """TLS settings that validate the server certificate against :attr:`ca_file`."""
        # valid_names: StartTLS on ldap_url (127.0.0.1) meets a certificate naming localhost
        return ldap3.Tls(
            validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file), valid_names=["localhost"]
        )

    def admin_connection(self) -> ldap3.Connection:
        """Bound as the Directory Manager over LDAPS (for seeding and inspection only)."""
        server = ldap3.Server(
            self.ldaps_url, use_ssl=True, tls=self.tls(), get_info=ldap3.NONE, connect_timeout=2
        )
        return ldap3.Connection(
            server,
            user=self.root_dn,
            password=self.root_password,
            auto_bind=True,
            receive_timeout=5,
        )

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def add_user(self, uid: str, user_id: str, password: str) -> str:
        """An inetOrgPerson + passgateUser under ou=people that binds normally; returns its DN."""
        dn = self.user_dn(uid)
        with self.admin_connection() as conn:
            _add(
                conn,
                dn,
                {
                    "objectClass": [
                        "top",
                        "person",
                        "organizationalPerson",
                        "inetOrgPerson",
                        "passgateUser",
                    ],
                    "uid": uid,
                    "cn": uid,
                    "sn": uid,
                    "passgateUserId": user_id,
                    "userPassword": password,
                },
            )
        return dn

    def lock(self, dn: str) -> None:
        """Inactivate the account: its binds answer 53 "Account inactivated"."""
        with self.admin_connection() as conn:
            _modify(conn, dn, {"nsAccountLock": "TRUE"})

    def make_must_change(self, dn: str, password: str) -> None:
        """Reset the password as the administrator: the next bind answers changeAfterReset."""
        with self.admin_connection() as conn:
            _modify(conn, dn, {"pwdpolicysubentry": self.policy_dn("must-change")})
            _modify(conn, dn, {"userPassword": password})

    def expire(self, dn: str) -> None:
        """Expire the password, no grace logins left: the user's bind fails as expired."""
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        with self.admin_connection() as conn:
            _modify(conn, dn, {"pwdpolicysubentry": self.policy_dn("expired")})
            _modify(conn, dn, {"passwordExpirationTime": _gentime(past)})

    def make_too_young(self, dn: str) -> None:
        """A change of the password right now is refused (passwordMinAge of one day)."""
        future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        with self.admin_connection() as conn:
            _modify(conn, dn, {"pwdpolicysubentry": self.policy_dn("too-young")})
            _modify(conn, dn, {"passwordAllowChangeTime": _gentime(future)})

    def log_files(self) -> list[Path]:
        return [] if self.workdir is None else [self.workdir / "ns-slapd.log", self.error_log]


def _current_user() -> tuple[str, str]:
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def _modify(
    conn: ldap3.Connection,
    dn: str,
    values: dict[str, str],
    op: str = ldap3.MODIFY_REPLACE,
) -> None:
    changes = {attr: [(op, [value])] for attr, value in values.items()}
    if not conn.modify(dn, changes):
        raise RuntimeError(f"modify {dn} failed: {conn.result}")


def _add(conn: ldap3.Connection, dn: str, attributes: dict[str, str | list[str]]) -> None:
    if not conn.add(dn, attributes=attributes):
        raise RuntimeError(f"add {dn} failed: {conn.result}")


def _run_task(conn: ldap3.Connection, dn: str, attributes: dict[str, str | list[str]]) -> None:
    """Add a cn=tasks entry and wait for its nsTaskExitCode."""
    _add(conn, dn, attributes)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["nsTaskExitCode", "nsTaskLog"])
        if conn.entries and conn.entries[0].entry_attributes_as_dict.get("nsTaskExitCode"):
            values = conn.entries[0].entry_attributes_as_dict
            if str(values["nsTaskExitCode"][0]) != "0":
                raise RuntimeError(f"task {dn} failed: {values}")
            return
        time.sleep(0.1)
    raise RuntimeError(f"task {dn} did not finish within 60s")


def _backend_dn(conn: ldap3.Connection, suffix: str) -> str:
    """The ldbm backend entry that holds ``suffix`` (dscreate names it after the inf section)."""
    conn.search(
        "cn=ldbm database,cn=plugins,cn=config",
        f"(&(objectClass=nsBackendInstance)(nsslapd-suffix={suffix}))",
        search_scope=ldap3.LEVEL,
        attributes=["cn"],
    )
    if not conn.entries:
        raise RuntimeError(f"no backend for {suffix}: {conn.result}")
    dn: str = conn.entries[0].entry_dn
    return dn


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    t0 = time.monotonic()
    ds = DS389()
    with ds:
        print(f"started in {time.monotonic() - t0:.1f}s: {ds.ldap_url} {ds.ldaps_url}")
        print(f"workdir {ds.workdir}, CA {ds.ca_file}")
        dn = ds.add_user("alice", "65f0a1b2c3d4e5f60718293a", "Alice-Pass-2024")
        server = ldap3.Server(ds.ldaps_url, use_ssl=True, tls=ds.tls(), get_info=ldap3.NONE)
        with ldap3.Connection(server, user=dn, password="Alice-Pass-2024", auto_bind=True) as c:
            print("bound as", c.extend.standard.who_am_i())
        # StartTLS on ldap_url (127.0.0.1), then the service account looks the user up
        server = ldap3.Server(ds.ldap_url, tls=ds.tls(), get_info=ldap3.NONE)
        c = ldap3.Connection(server, user=ds.service_dn, password=ds.service_password)
        c.open()
        if not (c.start_tls() and c.bind()):
            raise SystemExit(f"service account: {c.result}")
        c.search(ds.people_dn, "(passgateUserId=65F0A1B2C3D4E5F60718293A)", attributes=["uid"])
        found = [e.entry_dn for e in c.entries]
        c.unbind()
        print("service account found", found)
        if found != [dn]:
            raise SystemExit("passgateUserId search failed")
        t1 = time.monotonic()
    print(f"stopped in {time.monotonic() - t1:.1f}s")
