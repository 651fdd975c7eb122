"""A throwaway Samba 4.17 Active Directory domain controller for the test suite (no pytest).

The AD counterpart of :mod:`passgate.dev.slapd`. :meth:`SambaAD.start` provisions
a one-DC domain with ``samba-tool domain provision --targetdir`` into a private
temporary directory (configuration, databases, TLS files, logs, pid files and
sockets all live there; ``/etc/samba`` is neither read nor written), applies the
domain password settings, runs ``samba -F`` as a child process in its own
session and polls readiness with a real LDAPS bind as Administrator.
:meth:`SambaAD.stop` terminates the whole process group and removes every file.
Provision + start take about 4-5 s on two cores; start one per test session.

Address
-------
Samba's AD LDAP server has no port option: it always listens on 389 (LDAP and
StartTLS), 636 (LDAPS) and 3268/3269 (global catalog). Each instance therefore
gets its own loopback address (default ``127.0.0.3``), which :meth:`start` adds
to ``lo`` when missing (``ip addr add 127.0.0.3/8 dev lo``; needs root /
CAP_NET_ADMIN; the alias is left in place), with ``interfaces = <ip>`` and
``bind interfaces only = yes``. Only the ``ldap`` service runs (no KDC, DNS,
SMB, RPC): LDAP password changes, lockout and fine-grained password policies
all happen inside the LDAP server. Simple binds over cleartext ``ldap://``
are refused (8 strongerAuthRequired): use StartTLS or LDAPS.

TLS
---
Samba generates at first start a self-signed CA (``<dir>/private/tls/ca.pem``)
and a server certificate ``CN=DC1.passgate.test`` (lower-case realm) with **no
subjectAltName**, valid two years. Connecting to the IP and checking the IP
fails (``IP address mismatch``; ldap3: ``doesn't match any name in
['127.0.0.3']``) and the name is in no resolver, so a validating client
connects by IP and checks the certificate against the name ``tls_name``:
with ldap3, ``Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file,
valid_names=[tls_name])`` (see :meth:`SambaAD.tls`; what :meth:`admin_connection`
uses); with plain ``ssl``, ``wrap_socket(..., server_hostname=tls_name)``, which
works only while ``SSLContext.hostname_checks_common_name`` is true (the default
with Python 3.11 / OpenSSL 3.0: the name is matched against the CN, case
insensitively). Tests that do not care may use ``validate=ssl.CERT_NONE``.

Password policy
---------------
Domain settings (``samba-tool domain passwordsettings set`` on the offline
database): complexity on, minimum length 10, history 3, minimum age 0, maximum
age 42 days, lockout after 5 bad passwords for 30 minutes (observation window
30 minutes): a locked user stays locked for the rest of a test session
(or until an administrator writes ``lockoutTime: 0``). Wrong old passwords in
``unicodePwd`` changes count as bad passwords too.

The service account (``CN=passgate-svc,CN=Users,...``, a plain domain user:
AD lets authenticated users read users) has DONT_EXPIRE_PASSWORD and a
fine-grained password policy of its own (PSO ``passgate-service``,
``msDS-PasswordSettings`` in ``CN=Password Settings Container,CN=System,<base>``,
created over LDAP) with no lockout threshold, so failed binds as the service
account never lock it out (measured: 7 wrong binds, then the right one works).

Expired passwords (:meth:`SambaAD.expire`): over LDAP, ``pwdLastSet`` only
accepts 0 and -1 (80 ``00000057: setup_last_set_field: pwdLastSet must be 0
or -1 only!``), Samba's private bypass control is refused from the network
(12), and a PSO with a tiny ``msDS-MaximumPasswordAge`` does not help:
Samba treats any maximum age of one day or less as "never expires"
(``msDS-UserPasswordExpiryTimeComputed`` 9223372036854775807). So
:meth:`expire` writes ``pwdLastSet`` = 100 days ago (beyond the domain's
42-day maximum age) straight into ``sam.ldb`` through Samba's own Python
bindings, as the local system session, with the control
``DSDB_CONTROL_PASSWORD_BYPASS_LAST_SET`` (1.3.6.1.4.1.7165.4.3.20). The
running server sees the change at once (binds answer ``data 532``,
``msDS-User-Account-Control-Computed`` has UF_PASSWORD_EXPIRED); it takes
~0.2 s, run with the interpreter named in ``samba-tool``'s ``#!`` line.

Run ``python3 -m tests.servers.samba_ad`` (from the project root) for a smoke run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import ldap3
from ldap3.core.exceptions import LDAPBindError, LDAPException
from ldap3.protocol.formatters.formatters import format_sid
from ldap3.utils.dn import escape_rdn

from passgate.dev.process import LocalServer, find_program
from tests.servers import random_password

log = logging.getLogger(__name__)

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")
SCHEMA_DIR = Path("/usr/share/samba/setup/ad-schema")  # Debian package samba-ad-provision

# userAccountControl bits
UF_ACCOUNTDISABLE = 0x0002
UF_NORMAL_ACCOUNT = 0x0200
UF_DONT_EXPIRE_PASSWD = 0x10000

# AD intervals are negative counts of 100 ns ticks
TICKS_PER_SECOND = 10_000_000
MIN_PASSWORD_LENGTH = 10
HISTORY_LENGTH = 3
MAX_PASSWORD_AGE_DAYS = 42
LOCKOUT_MINUTES = 30  # lockout duration and observation window
NEVER = -0x8000000000000000  # msDS-MaximumPasswordAge: passwords never expire
FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
BYPASS_LAST_SET = "1.3.6.1.4.1.7165.4.3.20"  # DSDB_CONTROL_PASSWORD_BYPASS_LAST_SET_OID

# Run by Samba's own Python (see SambaAD.expire): a trusted local write of pwdLastSet.
_SET_PWD_LAST_SET = f"""
import sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

conf, url, dn, value = sys.argv[1:]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
msg = ldb.Message(ldb.Dn(db, dn))
msg["pwdLastSet"] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, "pwdLastSet")
db.modify(msg, controls=["local_oid:{BYPASS_LAST_SET}:1"])
"""


class SambaUnavailable(RuntimeError):
    """Samba AD DC (or the permission to add a loopback address) is missing on this machine."""


def _find(name: str) -> Path:
    return find_program(
        name,
        SBIN_DIRS,
        SambaUnavailable,
        "install the Debian packages samba samba-ad-dc samba-ad-provision "
        "samba-dsdb-modules samba-vfs-modules winbind",
    )


def _samba_env() -> dict[str, str]:
    # samba-tool and Samba's bindings run with the system Python, not the test's virtualenv
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}


def filetime(when: dt.datetime) -> int:
    """A datetime as an AD FILETIME (100 ns ticks since 1601-01-01 UTC)."""
    return int((when - FILETIME_EPOCH).total_seconds()) * TICKS_PER_SECOND


def unicode_pwd(password: str) -> bytes:
    """The ``unicodePwd`` value for a password: quoted, UTF-16-LE."""
    return f'"{password}"'.encode("utf-16-le")


def ensure_loopback_address(ip: str) -> None:
    """Add ``ip/8`` to ``lo`` unless it is there (Samba listens on nothing otherwise)."""
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise SambaUnavailable(f"ip addr show failed: {shown.stderr.strip()}")
    if f"inet {ip}/" in shown.stdout:
        return
    added = subprocess.run(
        ["ip", "addr", "add", f"{ip}/8", "dev", "lo"], capture_output=True, text=True, check=False
    )
    if added.returncode != 0:
        raise SambaUnavailable(f"cannot add {ip} to lo (needs root): {added.stderr.strip()}")
    log.info("added %s to lo", ip)


def _listening(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((ip, port)) == 0


@dataclass
class SambaAD(LocalServer):
    """One ``samba`` process (LDAP service only) serving the domain PASSGATE.TEST."""

    program: ClassVar[str] = "samba"

    ip: str = "127.0.0.3"
    realm: str = "PASSGATE.TEST"
    domain: str = "PASSGATE"  # NetBIOS name
    base_dn: str = "DC=passgate,DC=test"
    users_dn: str = "CN=Users,DC=passgate,DC=test"
    host_name: str = "dc1"
    admin_password: str = field(default="Admin-Pass-123!", repr=False)
    service_name: str = "passgate-svc"
    service_password: str = field(default_factory=random_password, repr=False)
    lockout_threshold: int = 5  # domain policy; lock_out() binds this many times
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def admin_dn(self) -> str:
        return f"CN=Administrator,{self.users_dn}"

    @property
    def service_dn(self) -> str:
        return f"CN={self.service_name},{self.users_dn}"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.ip}:389"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.ip}:636"

    @property
    def tls_name(self) -> str:
        """The server certificate's only name (its CN; there is no subjectAltName)."""
        return f"{self.host_name.upper()}.{self.realm.lower()}"

    @property
    def ca_file(self) -> Path:
        """The CA Samba generated at first start; it signed the server certificate."""
        return self._dir / "private" / "tls" / "ca.pem"

    @property
    def smb_conf(self) -> Path:
        return self._dir / "etc" / "smb.conf"

    @property
    def pso_container(self) -> str:
        return f"CN=Password Settings Container,CN=System,{self.base_dn}"

    @property
    def service_pso_dn(self) -> str:
        return f"CN=passgate-service,{self.pso_container}"

    @property
    def _dir(self) -> Path:
        assert self.workdir is not None, "not started"
        return self.workdir

    # -- life cycle -------------------------------------------------------

    def start(self) -> Self:
        self._samba = _find("samba")
        self._samba_tool = _find("samba-tool")
        if not SCHEMA_DIR.is_dir():
            raise SambaUnavailable(f"{SCHEMA_DIR} not found (install samba-ad-provision)")
        ensure_loopback_address(self.ip)
        for port in (389, 636):
            if _listening(self.ip, port):
                raise RuntimeError(f"something already listens on {self.ip}:{port}")
        self.workdir = Path(tempfile.mkdtemp(prefix="passgate-samba-"))
        try:
            t0 = time.monotonic()
            self._provision()
            t1 = time.monotonic()
            self._launch()
            t2 = time.monotonic()
            self._configure()
            self.timings.update(provision=t1 - t0, launch=t2 - t1, configure=time.monotonic() - t2)
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, args: list[str], what: str) -> None:
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=_samba_env(),
        )
        with open(self._dir / "log" / "setup.log", "a") as f:
            f.write(f"$ {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"{what} failed ({result.returncode}):\n{tail}")

    def _provision(self) -> None:
        w = self._dir
        for sub in ("etc", "run", "log"):
            (w / sub).mkdir()
        # An empty smb.conf as the loadparm source: otherwise provision copies the
        # system /etc/samba/smb.conf's globals (and shares) into the new one.
        self.smb_conf.touch()
        self._run(
            [
                str(self._samba_tool),
                "domain",
                "provision",
                "-s",
                str(self.smb_conf),
                f"--realm={self.realm}",
                f"--domain={self.domain}",
                "--server-role=dc",
                "--dns-backend=NONE",
                f"--adminpass={self.admin_password}",
                f"--targetdir={w}",
                f"--host-name={self.host_name}",
                f"--host-ip={self.ip}",
                f"--option=interfaces={self.ip}",
                "--option=bind interfaces only=yes",
                "--option=server services=ldap",
                f"--option=log file={w}/log/log.%m",
                f"--option=pid directory={w}/run",
                f"--option=ncalrpc dir={w}/run/ncalrpc",
                f"--option=winbindd socket directory={w}/run/winbindd",
                f"--option=ntp signd socket directory={w}/run/ntp_signd",
            ],
            "samba-tool domain provision",
        )
        self._run(
            [
                str(self._samba_tool),
                "domain",
                "passwordsettings",
                "set",
                "-s",
                str(self.smb_conf),
                f"-H{w}/private/sam.ldb",
                "--complexity=on",
                "--min-pwd-age=0",
                f"--max-pwd-age={MAX_PASSWORD_AGE_DAYS}",
                f"--history-length={HISTORY_LENGTH}",
                f"--min-pwd-length={MIN_PASSWORD_LENGTH}",
                f"--account-lockout-threshold={self.lockout_threshold}",
                f"--account-lockout-duration={LOCKOUT_MINUTES}",
                f"--reset-account-lockout-after={LOCKOUT_MINUTES}",
            ],
            "samba-tool domain passwordsettings set",
        )
        # Samba, like Windows, accepts the previous password for 60 minutes after
        # a change; the tests check that it stops working. (provision drops this
        # option, so it is appended here.)
        with self.smb_conf.open("a") as conf:
            conf.write("\n[global]\n\told password allowed period = 0\n")

    def _launch(self) -> None:
        w = self._dir
        argv = [str(self._samba), "-F", "-s", str(self.smb_conf), "-l", str(w / "log")]
        self._spawn(argv, w / "log" / "samba.out", ready_within=30.0, poll=0.1)

    def answers(self) -> None:
        if not self.ca_file.exists():  # made at first start, before LDAPS listens
            raise LDAPException("no TLS certificate yet")
        self.admin_connection().unbind()

    def _configure(self) -> None:
        """The service account and its fine-grained password policy (never locked out)."""
        conn = self.admin_connection()
        try:
            self._add(
                conn,
                self.service_dn,
                {
                    "objectClass": "user",
                    "sAMAccountName": self.service_name,
                    "unicodePwd": unicode_pwd(self.service_password),
                    "userAccountControl": str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD),
                    "description": "passgate service account (searches users)",
                },
            )
            minutes = -LOCKOUT_MINUTES * 60 * TICKS_PER_SECOND
            self._add(
                conn,
                self.service_pso_dn,
                {
                    "objectClass": "msDS-PasswordSettings",
                    "msDS-PasswordSettingsPrecedence": "1",
                    "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
                    "msDS-PasswordHistoryLength": str(HISTORY_LENGTH),
                    "msDS-PasswordComplexityEnabled": "TRUE",
                    "msDS-MinimumPasswordLength": str(MIN_PASSWORD_LENGTH),
                    "msDS-MinimumPasswordAge": "0",
                    "msDS-MaximumPasswordAge": str(NEVER),
                    "msDS-LockoutThreshold": "0",
                    "msDS-LockoutObservationWindow": str(minutes),
                    "msDS-LockoutDuration": str(minutes),
                    "msDS-PSOAppliesTo": self.service_dn,
                },
            )
            conn.search(self.service_dn, "(objectClass=*)", ldap3.BASE, attributes=["objectSid"])
            service_sid = format_sid(conn.entries[0].objectSid.raw_values[0])
        finally:
            conn.unbind()
        self.grant_pso_read(service_sid)

    def grant_pso_read(self, sid: str) -> None:
        """Let ``sid`` read the fine-grained password policies (PSOs), as passgate needs.

        AD lets only administrators read them by default (Samba too: measured,
        a plain user reads no attribute of a PSO). The right passgate documents:
        read property, list, read control on the Password Settings Container,
        inherited by the PSOs in it. Written locally with samba-tool dsacl.
        """
        self._run(
            [
                str(self._samba_tool),
                "dsacl",
                "set",
                "-s",
                str(self.smb_conf),
                f"-H{self._dir}/private/sam.ldb",
                f"--objectdn={self.pso_container}",
                f"--sddl=(A;CI;RPLCLORC;;;{sid})",
            ],
            "samba-tool dsacl set",
        )

    def stop(self) -> None:
        """Stop every samba process and remove every file; safe to call twice."""
        if self.process is not None:
            pgid = self.process.pid
            self._end_process(timeout=15)
            # workers die with the root process; make sure no straggler keeps the ports
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- connections --------------------------------------------------------

    def tls(self, validate: bool = True) -> ldap3.Tls:
        """Validate against the Samba CA and the certificate's CN (connecting by IP)."""
        if not validate:
            return ldap3.Tls(validate=ssl.CERT_NONE)
        return ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(self.ca_file),
            valid_names=[self.tls_name],
        )

    def server(self, *, ldaps: bool = True, get_info: str = ldap3.NONE) -> ldap3.Server:
        return ldap3.Server(
            self.ip,
            port=636 if ldaps else 389,
            use_ssl=ldaps,
            tls=self.tls(),
            get_info=get_info,
            connect_timeout=3,
        )

    def connection(self, user: str, password: str, *, bind: bool = True) -> ldap3.Connection:
        """An LDAPS connection for ``user`` (a DN); bound (raising on failure) unless bind=False."""
        conn = ldap3.Connection(
            self.server(), user=user, password=password, receive_timeout=10, raise_exceptions=False
        )
        conn.open()
        if bind and not conn.bind():
            result = dict(conn.result)
            conn.unbind()
            raise LDAPBindError(f"bind as {user} failed: {result}")
        return conn

    def admin_connection(self) -> ldap3.Connection:
        """Bound as Administrator over LDAPS (for seeding and inspection only)."""
        return self.connection(self.admin_dn, self.admin_password)

    def log_files(self) -> list[Path]:
        if self.workdir is None:
            return []
        return [self.workdir / "log" / name for name in ("samba.out", "log.samba")]

    # -- users and their states ---------------------------------------------

    @staticmethod
    def _add(conn: ldap3.Connection, dn: str, attributes: dict[str, object]) -> None:
        if not conn.add(dn, attributes=attributes):
            raise RuntimeError(f"add {dn} failed: {conn.result}")

    def _modify(self, dn: str, changes: dict[str, list[tuple[str, list[object]]]]) -> None:
        conn = self.admin_connection()
        try:
            if not conn.modify(dn, changes):
                raise RuntimeError(f"modify {dn} failed: {conn.result}")
        finally:
            conn.unbind()

    def add_user(self, sam: str, user_id: str, password: str) -> str:
        """An enabled user ``CN=<sam>,CN=Users,...``; ``employeeNumber`` holds the passgate id.

        (``employeeID`` is capped at 16 characters in the AD schema; a 24-hex id does not fit.)
        """
        dn = f"CN={escape_rdn(sam)},{self.users_dn}"
        conn = self.admin_connection()
        try:
            self._add(
                conn,
                dn,
                {
                    "objectClass": "user",
                    "sAMAccountName": sam,
                    "userPrincipalName": f"{sam}@{self.realm.lower()}",
                    "employeeNumber": user_id,
                    "unicodePwd": unicode_pwd(password),
                    "userAccountControl": str(UF_NORMAL_ACCOUNT),
                },
            )
        finally:
            conn.unbind()
        return dn

    def user_account_control(self, dn: str) -> int:
        conn = self.admin_connection()
        try:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["userAccountControl"])
            return int(conn.entries[0].userAccountControl.value)
        finally:
            conn.unbind()

    def disable(self, dn: str) -> None:
        """ACCOUNTDISABLE in userAccountControl: binds answer ``data 533``."""
        uac = self.user_account_control(dn) | UF_ACCOUNTDISABLE
        self._modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(uac)])]})

    def lock_out(self, dn: str) -> None:
        """Bind with a wrong password until the lockout threshold: binds answer ``data 775``."""
        for _ in range(self.lockout_threshold):
            conn = self.connection(dn, f"Wrong-{secrets.token_hex(6)}-1", bind=False)
            ok = conn.bind()
            conn.unbind()
            if ok:
                raise RuntimeError(f"a wrong password was accepted for {dn}")
        conn = self.admin_connection()
        try:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["lockoutTime"])
            locked = conn.entries[0].lockoutTime.raw_values
        finally:
            conn.unbind()
        if not locked or locked[0] in (b"0", b""):
            raise RuntimeError(f"{dn} not locked out after {self.lockout_threshold} bad binds")

    def make_must_change(self, dn: str) -> None:
        """pwdLastSet=0 ("must change at next logon"): binds answer ``data 773``."""
        self._modify(dn, {"pwdLastSet": [(ldap3.MODIFY_REPLACE, ["0"])]})

    def expire(self, dn: str) -> None:
        """pwdLastSet 100 days ago (domain maximum age 42 days): binds answer ``data 532``.

        Written locally into sam.ldb (see the module docstring: LDAP cannot do it).
        """
        when = filetime(dt.datetime.now(dt.UTC) - dt.timedelta(days=100))
        result = subprocess.run(
            [
                self._samba_python(),
                "-c",
                _SET_PWD_LAST_SET,
                str(self.smb_conf),
                str(self._dir / "private" / "sam.ldb"),
                dn,
                str(when),
            ],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=_samba_env(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"setting pwdLastSet of {dn} failed:\n{result.stderr[-2000:]}")

    def _samba_python(self) -> str:
        """The interpreter that has Samba's bindings: the one samba-tool runs with."""
        with open(self._samba_tool, "rb") as f:
            words = f.readline().decode(errors="replace").removeprefix("#!").split()
        if words and words[0].endswith("/env"):
            words = words[1:]
        return words[0] if words and "python" in words[0] else "/usr/bin/python3"

    def expire_account(self, dn: str) -> None:
        """accountExpires one day in the past: binds answer ``data 701``."""
        past = filetime(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        self._modify(dn, {"accountExpires": [(ldap3.MODIFY_REPLACE, [str(past)])]})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    started = time.monotonic()
    ad = SambaAD()
    with ad:
        print(f"started in {time.monotonic() - started:.1f}s {ad.timings} at {ad.ldaps_url}")
        workdir = ad.workdir
        assert workdir is not None
        uid = secrets.token_hex(12)
        pw = random_password()
        user_dn = ad.add_user("smoke.user", uid, pw)
        c = ad.connection(user_dn, pw)
        print("user bind:", c.result["description"])
        c.unbind()
        svc = ad.connection(ad.service_dn, ad.service_password)
        svc.search(ad.base_dn, f"(&(objectClass=user)(employeeNumber={uid.upper()}))")
        print("service search:", [e.entry_dn for e in svc.entries])
        svc.unbind()
        ad.make_must_change(user_dn)
        c = ad.connection(user_dn, pw, bind=False)
        c.bind()
        print("must-change bind:", c.result["result"], c.result["message"])
        c.unbind()
        stopping = time.monotonic()
    print(f"stopped in {time.monotonic() - stopping:.1f}s; {workdir} exists: {workdir.exists()}")
