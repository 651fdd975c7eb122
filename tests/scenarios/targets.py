"""The directories the scenario suite runs against, behind one small interface.

A target knows how to start its server, make users in each state the
scenarios need, and what passgate settings point at it. Expectations that
differ by server (Samba 4.17 has no policy-hints control, so a must-change
user gets 5025) are data here, not branches in the tests.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ldap3

from passgate.dev import seed
from passgate.dev.slapd import Slapd

RELAX = "1.3.6.1.4.1.4203.666.5.12"


@dataclass
class ScenarioUser:
    dn: str
    user_id: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Outcome:
    """What passgate must answer: v1 status/code/reason and workspace status/Code."""

    status: int
    code: int | None = None
    reason: str | None = None

    @property
    def workspace_code(self) -> str | None:
        return {
            5023: "IncorrectPassword",
            5024: "PasswordPolicy",
            5025: "PasswordExpired",
            5026: "AccountLocked",
            3001: "NotFound",
        }.get(self.code or 0)


@dataclass
class Target:
    name: str
    settings: dict[str, Any]
    add_user: Callable[[str], ScenarioUser]
    can_bind: Callable[[str, str], bool]
    change_as_user: Callable[[ScenarioUser, str], None]
    lock: Callable[[ScenarioUser], None]
    expire: Callable[[ScenarioUser], None]
    must_change: Callable[[ScenarioUser], None]
    too_young: Callable[[ScenarioUser], None] | None
    quality_refused: Callable[[ScenarioUser], str]
    pause: Callable[[], None]
    resume: Callable[[], None]
    expected: dict[str, Outcome] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    # The started server (Slapd, DS389, SambaAD), for tests that add entries of their own.
    server: Any = field(default=None, repr=False)


def new_user_id() -> str:
    return secrets.token_hex(12)


# -- OpenLDAP ---------------------------------------------------------------------------


def openldap_target(server: Slapd) -> Target:
    admin = server.admin_connection()

    def add_user(password: str) -> ScenarioUser:
        uid = "s" + secrets.token_hex(5)
        user = ScenarioUser(f"uid={uid},{seed.PEOPLE_DN}", new_user_id(), uid, password)
        ok = admin.add(
            user.dn,
            attributes={
                "objectClass": ["inetOrgPerson", "passgateUser"],
                "uid": uid,
                "cn": uid,
                "sn": uid,
                "passgateUserId": user.user_id,
                "userPassword": password,
            },
        )
        assert ok, admin.result
        return user

    def replace(user: ScenarioUser, attribute: str, value: str, relax: bool = False) -> None:
        controls = [(RELAX, True, None)] if relax else None
        ok = admin.modify(
            user.dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]}, controls=controls
        )
        assert ok, admin.result

    def can_bind(dn: str, password: str) -> bool:
        conn = ldap3.Connection(
            ldap3.Server(server.host, port=server.port), user=dn, password=password
        )
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()

    def change_as_user(user: ScenarioUser, new: str) -> None:
        conn = ldap3.Connection(
            ldap3.Server(server.host, port=server.port),
            user=user.dn,
            password=user.password,
            auto_bind=True,
        )
        assert conn.extend.standard.modify_password(old_password=user.password, new_password=new), (
            conn.result
        )
        conn.unbind()
        user.password = new

    def expire(user: ScenarioUser) -> None:
        replace(user, "pwdPolicySubentry", seed.EXPIRING_POLICY_DN)
        replace(user, "pwdChangedTime", "20000101000000Z", relax=True)

    def too_young(user: ScenarioUser) -> None:
        # ppolicy records pwdChangedTime only under a policy with an age limit.
        replace(user, "pwdPolicySubentry", seed.MIN_AGE_POLICY_DN)
        now = time.strftime("%Y%m%d%H%M%SZ", time.gmtime())
        replace(user, "pwdChangedTime", now, relax=True)

    return Target(
        name="OpenLDAP 2.5 (slapd, ppolicy)",
        settings={"ldap_connection_url": server.url},
        add_user=add_user,
        can_bind=can_bind,
        change_as_user=change_as_user,
        lock=lambda u: replace(u, "pwdAccountLockedTime", "000001010000Z"),
        expire=expire,
        must_change=lambda u: replace(u, "pwdReset", "TRUE"),
        too_young=too_young,
        quality_refused=lambda u: "{SSHA}abcdefghijkl",  # pwdCheckQuality 2 refuses hashed values
        pause=server.pause,
        resume=server.resume,
        notes={"quality": "a pre-hashed `{SSHA}` value (pwdCheckQuality 2)"},
        server=server,
    )


# -- 389 Directory Server ----------------------------------------------------------------


def ds389_target(server: Any) -> Target:
    """``server`` is a started :class:`tests.servers.ds389.DS389`."""

    def connect(dn: str, password: str) -> ldap3.Connection:
        tls = server.tls()
        host = ldap3.Server("localhost", port=server.tls_port, use_ssl=True, tls=tls)
        return ldap3.Connection(host, user=dn, password=password)

    def add_user(password: str) -> ScenarioUser:
        uid = "d" + secrets.token_hex(5)
        user_id = new_user_id()
        return ScenarioUser(server.add_user(uid, user_id, password), user_id, uid, password)

    def can_bind(dn: str, password: str) -> bool:
        conn = connect(dn, password)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()

    def change_as_user(user: ScenarioUser, new: str) -> None:
        conn = connect(user.dn, user.password)
        assert conn.bind(), conn.result
        assert conn.extend.standard.modify_password(old_password=user.password, new_password=new), (
            conn.result
        )
        conn.unbind()
        user.password = new

    return Target(
        name="389 Directory Server 2.3",
        settings={
            "ldap_connection_url": server.ldaps_url,
            "ldap_ca_file": server.ca_file,
            "ldap_vendor": "rhds",
            "ldap_bind_dn": server.service_dn,
            "ldap_bind_credential": server.service_password,
            "ldap_users_dn": server.people_dn,
            # The quality scenario is 389's own uid check; passgate's would answer first.
            "policy_contains_username": False,
            "ldap_default_policy_dn": None,  # cn=config
        },
        add_user=add_user,
        can_bind=can_bind,
        change_as_user=change_as_user,
        lock=lambda u: server.lock(u.dn),
        expire=lambda u: server.expire(u.dn),
        must_change=lambda u: server.make_must_change(u.dn, u.password),
        too_young=lambda u: server.make_too_young(u.dn),
        quality_refused=lambda u: f"My-{u.username}-Passw0rd",  # contains the uid
        pause=server.pause,
        resume=server.resume,
        server=server,
        notes={
            "too short": "389 says quality (5); refined from passwordMinLength",
            "insufficient quality": "a password containing the uid (passwordCheckSyntax)",
            "locked": "nsAccountLock (bind 53)",
        },
    )


# -- Samba AD ---------------------------------------------------------------------------

SAMBA_MIN_AGE_PSO = "CN=passgate-min-age,CN=Password Settings Container,CN=System,{base}"
TICKS_PER_DAY = 864_000_000_000


def samba_target(server: Any) -> Target:
    """``server`` is a started :class:`tests.servers.samba_ad.SambaAD`."""
    from tests.servers.samba_ad import unicode_pwd

    min_age_pso = SAMBA_MIN_AGE_PSO.format(base=server.base_dn)
    admin = server.admin_connection()
    ok = admin.add(
        min_age_pso,
        attributes={
            "objectClass": "msDS-PasswordSettings",
            "msDS-PasswordSettingsPrecedence": "5",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "3",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "10",
            "msDS-MinimumPasswordAge": str(-TICKS_PER_DAY),
            "msDS-MaximumPasswordAge": str(-42 * TICKS_PER_DAY),
            "msDS-LockoutThreshold": "0",
            "msDS-LockoutObservationWindow": str(-TICKS_PER_DAY // 48),
            "msDS-LockoutDuration": str(-TICKS_PER_DAY // 48),
        },
    )
    assert ok, admin.result

    def add_user(password: str) -> ScenarioUser:
        sam = "a" + secrets.token_hex(5)
        user_id = new_user_id()
        return ScenarioUser(server.add_user(sam, user_id, password), user_id, sam, password)

    def can_bind(dn: str, password: str) -> bool:
        conn = server.connection(dn, password, bind=False)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()

    def change_as_user(user: ScenarioUser, new: str) -> None:
        conn = server.connection(user.dn, user.password)
        ok = conn.modify(
            user.dn,
            {
                "unicodePwd": [
                    (ldap3.MODIFY_DELETE, [unicode_pwd(user.password)]),
                    (ldap3.MODIFY_ADD, [unicode_pwd(new)]),
                ]
            },
        )
        assert ok, conn.result
        conn.unbind()
        user.password = new

    def too_young(user: ScenarioUser) -> None:
        ok = admin.modify(min_age_pso, {"msDS-PSOAppliesTo": [(ldap3.MODIFY_ADD, [user.dn])]})
        assert ok, admin.result

    return Target(
        name="Samba AD 4.17",
        settings={
            "ldap_connection_url": server.ldaps_url,
            "ldap_ca_file": server.ca_file,
            "ldap_tls_server_name": server.tls_name,
            "ldap_vendor": "ad",
            "ldap_bind_dn": server.service_dn,
            "ldap_bind_credential": server.service_password,
            "ldap_users_dn": server.users_dn,
            "ldap_default_policy_dn": None,  # the domain object
        },
        add_user=add_user,
        can_bind=can_bind,
        change_as_user=change_as_user,
        lock=lambda u: server.lock_out(u.dn),
        expire=lambda u: server.expire(u.dn),
        must_change=lambda u: server.make_must_change(u.dn),
        too_young=too_young,
        quality_refused=lambda u: "alllowercaseletters",  # complexity: one character class
        pause=server.pause,
        resume=server.resume,
        server=server,
        # No password-policy hints control in Samba 4.17 (critical: 12), so a user
        # who must change or whose password expired cannot be served (contract 3).
        expected={"must change": Outcome(400, 5025), "expired": Outcome(400, 5025)},
        notes={
            "must change": "773; no policy-hints control in Samba 4.17, so 5025",
            "expired": "532; no policy-hints control in Samba 4.17, so 5025",
            "locked": "locked out after 5 bad binds (775)",
            "insufficient quality": "complexity (one character class)",
            "too young": "fine-grained policy (PSO) with a 1-day minimum age",
        },
    )
