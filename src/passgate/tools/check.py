"""``passgate check``: the configured settings, tried against the real directory and issuer.

One line per check with a verdict (OK, WARN, FAIL, SKIP) and, for anything
but OK, what to change. Exit code 0 when nothing failed, 1 otherwise, 2 when
the settings themselves do not load. Never prints a password.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

import ldap3

from passgate import vendors
from passgate.auth.api_keys import load_api_keys
from passgate.auth.jwt import load_public_key
from passgate.auth.keys import http_fetch, parse_jwks
from passgate.config import LimiterSettings, Settings, env_name, is_loopback
from passgate.directory.base import Directory
from passgate.directory.connection import Connector, close_quietly
from passgate.directory.ldap_directory import LdapDirectory
from passgate.directory.rootdse import RootDse, all_values, first_value
from passgate.errors import ConfigurationError, PassgateError
from passgate.policy.local import LocalRules
from passgate.policy.model import DirectoryPolicy


@dataclass(frozen=True)
class Verdict:
    status: str  # OK, WARN, FAIL, SKIP
    check: str
    detail: str = ""

    def line(self) -> str:
        return f"[{self.status:>4}] {self.check}" + (f": {self.detail}" if self.detail else "")


def ok(check: str, detail: str = "") -> Verdict:
    return Verdict("OK", check, detail)


def warn(check: str, detail: str) -> Verdict:
    return Verdict("WARN", check, detail)


def fail(check: str, detail: str) -> Verdict:
    return Verdict("FAIL", check, detail)


def skip(check: str, detail: str) -> Verdict:
    return Verdict("SKIP", check, detail)


@dataclass(frozen=True)
class LockoutFacts:
    """Where a vendor keeps the lockout counter, for the operator's messages."""

    attributes: str  # what the service account must read
    where: str  # on which entries
    window: str  # the policy attribute that says how long a failure counts


LOCKOUT_FACTS = {
    "other": LockoutFacts(
        "pwdFailureTime, pwdAccountLockedTime and the policy's pwdMaxFailure, "
        "pwdFailureCountInterval, pwdLockout",
        "the users and the ppolicy entries (slapd ACLs often hide pwdFailureTime)",
        "pwdFailureCountInterval",
    ),
    "rhds": LockoutFacts(
        "passwordRetryCount, retryCountResetTime, accountUnlockTime and the policy's "
        "passwordLockout, passwordMaxFailure, passwordUnlock",
        'the users (operational attributes: an ACI naming them, or targetattr="*") and '
        "cn=config or the user's pwdpolicysubentry",
        "passwordResetFailureCount",
    ),
    "ad": LockoutFacts(
        "badPwdCount, badPasswordTime, lockoutTime, msDS-ResultantPSO and the lockout "
        "threshold, observation window and duration",
        "the users, the domain object and CN=Password Settings Container,CN=System "
        "(only administrators read PSOs by default)",
        "lockOutObservationWindow (msDS-LockoutObservationWindow in a PSO)",
    ),
}


def lockout_verdicts(
    directory: Directory, vendor: str, sample_dn: str | None, limiter: LimiterSettings
) -> Iterator[Verdict]:
    """What the last-straw guard can read, and whether the limiter alone keeps accounts open.

    ``sample_dn``: a user entry to try (the first found), None when there is none.
    """
    facts = LOCKOUT_FACTS.get(vendor, LOCKOUT_FACTS["other"])
    check = "directory failure state"
    if sample_dn is None:
        yield skip(check, "no user to try in the users DN")
    else:
        state = directory.failure_state(sample_dn)
        if state is None:
            yield warn(
                check,
                f"cannot read {facts.attributes} for {sample_dn}: passgate falls back to its "
                f"attempt limiter; grant the service account read on {facts.where}",
            )
        else:
            threshold = state.max_failures or "no lockout"
            yield ok(check, f"{state.failures} failure(s) of {threshold} on {sample_dn}")
    policy = directory.policy_for(None) or (directory.policy_for(sample_dn) if sample_dn else None)
    yield from _limiter_verdict(policy, facts, limiter)
    if vendor != "ad":
        yield from _expiry_verdict(policy)


def _limiter_verdict(
    policy: DirectoryPolicy | None, facts: LockoutFacts, limiter: LimiterSettings
) -> Iterator[Verdict]:
    check = "limiter below the directory's lockout"
    failures, window = env_name("limiter_user_failures"), env_name("limiter_window")
    if policy is None or policy.max_failures is None:
        yield skip(check, "the directory's lockout threshold is not readable")
        return
    most = policy.max_failures
    counted = policy.failure_window_seconds
    if most == 0:
        yield ok(check, f"the directory never locks ({policy.source})")
    elif not 0 < limiter.user_failures < most:
        yield warn(
            check,
            f"{failures}={limiter.user_failures} but the directory locks after {most} "
            f"({policy.source}): set it to at most {most - 1}; until then only the guard "
            "protects",
        )
    elif counted is None:
        yield warn(
            check,
            f"{facts.window} not readable: the limiter's window cannot be compared; only the "
            "guard protects",
        )
    elif counted == 0:
        yield warn(
            check,
            f"the directory counts failures until the next good bind ({facts.window} 0, "
            f"{policy.source}): no {window} covers that; only the guard protects",
        )
    elif limiter.window < counted:
        yield warn(
            check,
            f"{window}={limiter.window:g} is shorter than the {counted} s the directory counts "
            f"a failure ({facts.window}, {policy.source}): set it to at least {counted}",
        )
    else:
        yield ok(
            check,
            f"{limiter.user_failures} failure(s) per {limiter.window:g} s < {most} per "
            f"{counted} s ({policy.source}); failures made elsewhere are the guard's",
        )


def _expiry_verdict(policy: DirectoryPolicy | None) -> Iterator[Verdict]:
    check = "expired passwords can be changed"
    if policy is None:
        yield skip(check, "the directory's password policy is not readable")
    elif not policy.max_age_seconds:
        yield ok(check, f"passwords do not expire ({policy.source})")
    elif not policy.grace_logins:
        yield warn(
            check,
            f"passwords expire after {policy.max_age_seconds} s with no grace logins "
            f"({policy.source}): the expired user's bind fails, so passgate answers 5025; "
            "allow at least 1 (OpenLDAP pwdGraceAuthNLimit, 389 passwordGraceLimit)",
        )
    else:
        yield ok(check, f"{policy.grace_logins} grace login(s) after expiry ({policy.source})")


class Checker:
    def __init__(self, settings: Settings, fetch: Callable[[str, float], bytes] = http_fetch):
        self.settings = settings
        self._fetch = fetch

    def run(self) -> Iterator[Verdict]:
        yield from self._startup()
        try:
            Connector(self.settings.ldap)
        except ConfigurationError as exc:  # TLS settings ldap3 refuses (a CA file gone since)
            yield fail("directory TLS settings", str(exc))
            yield skip("connections, users DN, schema, RootDSE", "no usable TLS settings")
            yield from self._issuer()
            return
        yield from self._urls()
        conn = None
        try:
            conn = Connector(self.settings.ldap).service_connection()
        except PassgateError as exc:
            yield fail(
                "service account bind",
                f"{exc.log_message} (check {env_name('ldap_bind_dn')} and "
                f"{env_name('ldap_bind_credential')})",
            )
        if conn is None:
            yield skip("users DN, schema, RootDSE", "no service connection")
        else:
            yield ok("service account bind", self.settings.ldap.bind_dn)
            try:
                yield from self._directory(conn)
            finally:
                close_quietly(conn)
        yield from self._issuer()

    # -- what serve builds at start ---------------------------------------------------

    def _startup(self) -> Iterator[Verdict]:
        """The parts ``serve`` builds from files before it answers (the forbidden list)."""
        try:
            LocalRules.from_settings(self.settings.policy)
        except ConfigurationError as exc:
            yield fail("local password rules", str(exc))
        else:
            forbidden = self.settings.policy.forbidden_file
            yield ok("local password rules", f"forbidden list {forbidden}" if forbidden else "")

    # -- connections -----------------------------------------------------------------

    def _urls(self) -> Iterator[Verdict]:
        s = self.settings
        for url in s.ldap.urls:
            connector = Connector(s.ldap.model_copy(update={"connection_url": url}))
            try:
                conn = connector.open()
            except PassgateError:
                yield fail(f"connect {url}", connector.last_failure or "no answer")
                continue
            secured = conn.server.ssl or (s.ldap.start_tls and conn.tls_started)
            close_quietly(conn)
            if secured:
                cas = s.ldap.ca_file or "the system CAs"
                yield ok(f"connect {url}", f"TLS verified against {cas}")
            elif s.ldap.allow_insecure or is_loopback(urlsplit(url).hostname):
                yield warn(
                    f"connect {url}",
                    "cleartext: passwords cross the network unencrypted; use ldaps:// or "
                    f"{env_name('ldap_start_tls')}=true",
                )
            else:
                yield ok(f"connect {url}")

    # -- the directory -----------------------------------------------------------------

    def _directory(self, conn: ldap3.Connection) -> Iterator[Verdict]:
        s = self.settings
        found = conn.search(s.ldap.users_dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
        if found:
            yield ok("users DN exists", s.ldap.users_dn)
        else:
            yield fail(
                "users DN exists",
                f"{env_name('ldap_users_dn')}={s.ldap.users_dn}: "
                f"{conn.result.get('description')} (is it spelled right, and may the service "
                "account read it?)",
            )
        conn.search(
            "",
            "(objectClass=*)",
            ldap3.BASE,
            attributes=[*RootDse.ATTRIBUTES, "subschemaSubentry"],
        )
        root = conn.response[0]["attributes"] if conn.response else {}
        yield from self._vendor(RootDse.from_entry(root))
        yield from self._schema(conn, first_value(root.get("subschemaSubentry")))
        yield from self._lockout(conn)

    def _lockout(self, conn: ldap3.Connection) -> Iterator[Verdict]:
        """The guard's reads, tried as passgate makes them (the service account, the dialect)."""
        s = self.settings
        classes = "".join(f"(objectClass={c})" for c in s.ldap.object_classes)
        conn.search(
            s.ldap.users_dn,
            f"(&{classes}({s.ldap.user_id_attribute}=*))",
            ldap3.SUBTREE,
            attributes=["1.1"],
            size_limit=1,
        )
        found = [r["dn"] for r in conn.response or [] if r.get("type") == "searchResEntry"]
        try:
            directory = LdapDirectory.from_settings(s.ldap)
        except ConfigurationError as exc:
            yield fail("directory failure state", str(exc))
            return
        try:
            yield from lockout_verdicts(
                directory, s.ldap.vendor, found[0] if found else None, s.limiter
            )
        finally:
            directory.close()

    def _vendor(self, root: RootDse) -> Iterator[Verdict]:
        s = self.settings
        vendor_name = root.vendor_name
        seen = vendor_name or ("Active Directory" if root.is_active_directory else "unnamed")
        version = root.vendor_version
        facts = vendors.facts_for(s.ldap.vendor)
        hint = facts.vendor_name_hint
        if facts.active_directory != root.is_active_directory or (
            hint and hint not in vendor_name.lower()
        ):
            yield warn(
                "RootDSE vendor",
                f"{seen} {version}".strip() + f", but {env_name('ldap_vendor')}={s.ldap.vendor} "
                f"({facts.display_name})",
            )
        else:
            yield ok("RootDSE vendor", f"{seen} {version}".strip())
        if facts.password_modify_oid is not None:
            if facts.password_modify_oid in root.extensions:
                yield ok("Password Modify extended operation", facts.password_modify_oid)
            else:
                yield warn(
                    "Password Modify extended operation",
                    "not advertised: passgate falls back to a userPassword modify as the user",
                )
        # The control the dialect uses (AD: not the older ...2066, which it never sends).
        control = facts.policy_control_oid
        if control is None:
            return
        if control in root.controls:
            yield ok(facts.policy_control_name, control)
        elif facts.active_directory:
            yield warn(
                facts.policy_control_name,
                "not advertised: users who must change or whose password expired get "
                "5025 (Samba 4.17 has none)",
            )
        else:
            yield warn(
                facts.policy_control_name,
                "not advertised: locked, expired and policy refusals come without reasons "
                "(OpenLDAP: load the ppolicy overlay)",
            )

    def _schema(self, conn: ldap3.Connection, subschema: str) -> Iterator[Verdict]:
        s = self.settings
        attribute = s.ldap.user_id_attribute
        if not subschema:
            yield skip(f"attribute {attribute} in the schema", "no subschemaSubentry in RootDSE")
            return
        conn.search(subschema, "(objectClass=*)", ldap3.BASE, attributes=["attributeTypes"])
        types = (
            set(all_values(conn.response[0]["attributes"].get("attributeTypes")))
            if conn.response
            else set()
        )
        if not types:
            yield skip(f"attribute {attribute} in the schema", "the schema is not readable")
            return
        wanted = attribute.lower()
        known = any(f"'{wanted}'" in t.lower() for t in types)
        if known:
            yield ok(f"attribute {attribute} in the schema")
        else:
            yield fail(
                f"attribute {attribute} in the schema",
                f"unknown to the server: load ldap_schema/ (passgateUserId) or set "
                f"{env_name('ldap_user_id_attribute')} to an attribute it has",
            )
            return
        yield from self._index(conn, attribute)

    def _index(self, conn: ldap3.Connection, attribute: str) -> Iterator[Verdict]:
        """Only where the service account may read the server's configuration."""
        conn.search("cn=config", "(olcDbIndex=*)", ldap3.SUBTREE, attributes=["olcDbIndex"])
        indexes = [
            i.lower()
            for r in conn.response or []
            if r.get("type") == "searchResEntry"
            for i in all_values(r["attributes"].get("olcDbIndex"))
        ]
        if not indexes:
            yield skip(
                f"index on {attribute}",
                "not detectable (cn=config not readable); OpenLDAP wants "
                f"'olcDbIndex: {attribute} eq', 389-DS an equality index",
            )
        elif any(attribute.lower() in i.split()[0].split(",") for i in indexes if i.split()):
            yield ok(f"index on {attribute}")
        else:
            yield warn(f"index on {attribute}", f"none: add 'olcDbIndex: {attribute} eq'")

    # -- the token issuer ------------------------------------------------------------------

    def _issuer(self) -> Iterator[Verdict]:
        s = self.settings
        if s.auth.jwks_url:
            try:
                keys = parse_jwks(json.loads(self._fetch(s.auth.jwks_url, s.auth.jwks_timeout)))
            except Exception as exc:  # network, JSON and JWKS errors alike
                yield fail(
                    "token issuer JWKS",
                    f"{s.auth.jwks_url}: {type(exc).__name__}: {str(exc)[:200]}",
                )
            else:
                if keys:
                    yield ok(
                        "token issuer JWKS", f"{len(keys)} signing key(s) at {s.auth.jwks_url}"
                    )
                else:
                    yield fail("token issuer JWKS", f"{s.auth.jwks_url} holds no signing key")
        elif s.auth.public_key_file is not None:
            try:
                load_public_key(s.auth.public_key_file)
                yield ok("token issuer key", str(s.auth.public_key_file))
            except ConfigurationError as exc:
                yield fail("token issuer key", str(exc))
        if s.auth.api_keys_file is not None:
            try:
                yield ok("API keys", f"{len(load_api_keys(s.auth.api_keys_file))} key(s)")
            except ConfigurationError as exc:
                yield fail("API keys", str(exc))


def run_check(settings: Settings, out: TextIO, **kwargs: Callable[[str, float], bytes]) -> int:
    failed = False
    for verdict in Checker(settings, **kwargs).run():
        print(verdict.line(), file=out, flush=True)
        failed = failed or verdict.status == "FAIL"
    print("passgate check: " + ("FAILED" if failed else "all good"), file=out)
    return 1 if failed else 0
