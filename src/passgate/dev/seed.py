"""Directory content for the demo and the tests: base entries, policies, users.

Everything is plain LDIF text so that it can be loaded offline with
``slapadd -n1`` (which also accepts operational attributes such as
``pwdChangedTime``, needed for an already-expired password).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ldap3.utils.dn import escape_rdn

SUFFIX = "dc=example,dc=org"
PEOPLE_DN = f"ou=people,{SUFFIX}"
POLICIES_DN = f"ou=policies,{SUFFIX}"
SERVICE_DN = f"cn=passgate,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "passgate-service-secret"
DEFAULT_POLICY_DN = f"cn=default,{POLICIES_DN}"
SERVICE_POLICY_DN = f"cn=service,{POLICIES_DN}"
EXPIRING_POLICY_DN = f"cn=expiring,{POLICIES_DN}"
MIN_AGE_POLICY_DN = f"cn=min-age,{POLICIES_DN}"
MAX_LENGTH_POLICY_DN = f"cn=max-length,{POLICIES_DN}"


def passgate_settings(ldap_url: str, issuer: str, public_key_file: Path) -> dict[str, Any]:
    """Settings (field name -> value) for passgate in front of a directory seeded from here."""
    return {
        "ldap_connection_url": ldap_url,
        "ldap_bind_dn": SERVICE_DN,
        "ldap_bind_credential": SERVICE_PASSWORD,
        "ldap_users_dn": PEOPLE_DN,
        "ldap_default_policy_dn": DEFAULT_POLICY_DN,
        "auth_public_key_file": public_key_file,
        "auth_issuer": issuer,
    }


def ssha(password: str) -> str:
    """An RFC 2307 ``{SSHA}`` value, as slapd's default ``olcPasswordHash`` writes it."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - slapd's own scheme
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _entry(dn: str, attrs: list[tuple[str, str]]) -> str:
    lines = [f"dn: {dn}"]
    for name, value in attrs:
        if value and (value[0] in " :<" or not value.isascii() or value.endswith(" ")):
            lines.append(f"{name}:: {base64.b64encode(value.encode()).decode()}")
        else:
            lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


def policy(dn: str, **overrides: str) -> str:
    """A ``pwdPolicy`` entry (OpenLDAP ppolicy overlay, draft-behera) with strict defaults."""
    values = {
        "pwdAttribute": "userPassword",
        "pwdMinLength": "10",
        "pwdInHistory": "3",
        "pwdCheckQuality": "2",
        "pwdMaxFailure": "5",
        "pwdLockout": "TRUE",
        "pwdLockoutDuration": "900",
        "pwdFailureCountInterval": "900",
        "pwdMustChange": "TRUE",
        "pwdAllowUserChange": "TRUE",
        "pwdSafeModify": "FALSE",
        "pwdMinAge": "0",
        "pwdMaxAge": "0",
        "pwdGraceAuthNLimit": "0",
    }
    values.update(overrides)
    cn = dn.split(",", 1)[0].split("=", 1)[1]
    attrs = [("objectClass", "device"), ("objectClass", "pwdPolicy"), ("cn", cn)]
    attrs += list(values.items())
    return _entry(dn, attrs)


@dataclass
class User:
    uid: str
    user_id: str
    password: str = field(repr=False)
    cn: str = ""
    policy_dn: str | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)

    @property
    def dn(self) -> str:
        return f"uid={escape_rdn(self.uid)},{PEOPLE_DN}"

    def ldif(self) -> str:
        attrs = [
            ("objectClass", "inetOrgPerson"),
            ("objectClass", "passgateUser"),
            ("uid", self.uid),
            ("cn", self.cn or self.uid.capitalize()),
            ("sn", self.uid.capitalize()),
            ("passgateUserId", self.user_id),
            ("userPassword", ssha(self.password)),
        ]
        if self.policy_dn:
            attrs.append(("pwdPolicySubentry", self.policy_dn))
        return _entry(self.dn, attrs + self.extra)


def base_ldif() -> str:
    """Suffix, organisational units, the service account and the password policies."""
    parts = [
        _entry(
            SUFFIX,
            [
                ("objectClass", "dcObject"),
                ("objectClass", "organization"),
                ("dc", "example"),
                ("o", "Example"),
            ],
        ),
        *(
            _entry(f"ou={ou},{SUFFIX}", [("objectClass", "organizationalUnit"), ("ou", ou)])
            for ou in ("people", "services", "policies")
        ),
        policy(DEFAULT_POLICY_DN),
        # The service account must never be locked out by failed user binds.
        policy(SERVICE_POLICY_DN, pwdLockout="FALSE", pwdMustChange="FALSE", pwdInHistory="0"),
        # Passwords older than a day expire, with no grace logins.
        policy(EXPIRING_POLICY_DN, pwdMaxAge="86400"),
        policy(MIN_AGE_POLICY_DN, pwdMinAge="3600"),
        policy(MAX_LENGTH_POLICY_DN, pwdMaxLength="20"),
        _entry(
            SERVICE_DN,
            [
                ("objectClass", "applicationProcess"),
                ("objectClass", "simpleSecurityObject"),
                ("cn", "passgate"),
                ("userPassword", ssha(SERVICE_PASSWORD)),
                ("pwdPolicySubentry", SERVICE_POLICY_DN),
            ],
        ),
    ]
    return "\n".join(parts)
