"""Entries whose DN needs escaping change their password on every directory.

Active Directory's everyday ``CN=Doe\\, John`` under the users container,
multi-valued RDNs (not on AD: it has none), quotes, ``#``, ``+``, ``=``,
backslashes, padded and non-ASCII values. Each entry changes its password
through v1 (found by its userId) and the workspace endpoint (found by its
username), and reads its policy, on each server as that server spells the DN.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import ldap3
import pytest
from fastapi.testclient import TestClient
from ldap3.utils.dn import escape_rdn

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.scenarios.targets import ScenarioUser, Target, new_user_id

OLD = "Initial-Passw0rd-1"
NEW = "Changed-Passw0rd-2"

# RDN value shapes, unescaped; "{t}" is replaced by a per-test tag (values must be unique).
CN_SHAPES = {
    "comma": "Doe{t}, John",
    "quotes, hash, plus": 'Say "hi" #{t}+x',
    "leading hash": "#hash{t}",
    "equals, semicolon, angle brackets": "a=b;c<{t}>",
    "backslash": "back\\slash{t}",
    "leading and trailing spaces": " padded{t} ",
    "non-ASCII": "Jürgen Müller{t}",
}
MULTI_VALUED = "multi-valued cn+uid"
UID_SHAPES = {"uid with comma and plus": "doe, j+{t}"}


def call(
    client: TestClient, endpoint: str, token: str, user_id: str, old: str, new: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint == "v1":
        body = {"oldPassword": old, "newPassword": new}
        return client.post(f"/v1/users/{user_id}/change-password", json=body, headers=headers)
    body = {"CurrentPassword": old, "NewPassword": new}
    return client.post("/api/workspace/account/change-password", json=body, headers=headers)


def _tag() -> str:
    return secrets.token_hex(3)


def _add_inet_org_person(
    conn: ldap3.Connection, parent: str, rdn: str, uid: str, cn: str, password: str
) -> ScenarioUser:
    user = ScenarioUser(f"{rdn},{parent}", new_user_id(), uid, password)
    attributes: dict[str, Any] = {
        "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson", "passgateUser"],
        "uid": uid,
        "cn": cn,
        "sn": "Odd",
        "passgateUserId": user.user_id,
        "userPassword": password,
    }
    assert conn.add(user.dn, attributes=attributes), conn.result
    return user


def add_odd_user(target: Target, shape: str) -> tuple[ScenarioUser, str]:
    """An entry whose RDN has this shape, as each server's own tools would add it; its cn."""
    server, tag = target.server, _tag()
    if "Samba" in target.name:
        from tests.servers.samba_ad import UF_NORMAL_ACCOUNT, unicode_pwd

        sam = "a" + tag
        dn = f"CN={escape_rdn(CN_SHAPES[shape].format(t=tag))},{server.users_dn}"
        conn = server.admin_connection()
        try:
            ok = conn.add(
                dn,
                attributes={
                    "objectClass": "user",
                    "sAMAccountName": sam,
                    "userPrincipalName": f"{sam}@{server.realm.lower()}",
                    "employeeNumber": (user_id := new_user_id()),
                    "unicodePwd": unicode_pwd(OLD),
                    "userAccountControl": str(UF_NORMAL_ACCOUNT),
                },
            )
            assert ok, conn.result
        finally:
            conn.unbind()
        return ScenarioUser(dn, user_id, sam, OLD), CN_SHAPES[shape].format(t=tag)
    if "389" in target.name:
        parent, conn = server.people_dn, server.admin_connection()
    else:
        parent, conn = seed.PEOPLE_DN, server.admin_connection()
    with conn:
        if shape == MULTI_VALUED:
            cn, uid = f"Ann Lee {tag}", "alee" + tag
            rdn = f"cn={escape_rdn(cn)}+uid={escape_rdn(uid)}"
            return _add_inet_org_person(conn, parent, rdn, uid, cn, OLD), cn
        if shape in UID_SHAPES:
            uid = UID_SHAPES[shape].format(t=tag)
            user = _add_inet_org_person(conn, parent, f"uid={escape_rdn(uid)}", uid, uid, OLD)
            return user, uid
        cn, uid = CN_SHAPES[shape].format(t=tag), "o" + tag
        return _add_inet_org_person(conn, parent, f"cn={escape_rdn(cn)}", uid, cn, OLD), cn


def shapes_for(target: Target) -> list[str]:
    shapes = list(CN_SHAPES)
    if "Samba" not in target.name:  # AD has no multi-valued RDNs; its RDN is always CN
        shapes += [MULTI_VALUED, *UID_SHAPES]
    return shapes


@pytest.fixture(params=["default", "cn"])
def username_attribute(request: pytest.FixtureRequest) -> str:
    """The vendor's username attribute, or cn (Keycloak's own default on AD): the RDN's."""
    value: str = request.param
    return value


@pytest.fixture
def client_for(
    make_client: Callable[..., TestClient], username_attribute: str
) -> Callable[[Target], TestClient]:
    def build(target: Target) -> TestClient:
        # The names check reads the username from the RDN when the RDN holds it:
        # on everywhere (389's target turns it off for its own quality scenario).
        settings = {**target.settings, "policy_contains_username": True}
        if username_attribute != "default":
            settings["ldap_username_attribute"] = username_attribute
        return make_client(**settings)

    return build


def test_every_dn_shape_changes_its_password_through_both_endpoints(
    target: Target,
    client_for: Callable[[Target], TestClient],
    issuer: DevIssuer,
    username_attribute: str,
) -> None:
    client = client_for(target)
    failures = []
    for shape in shapes_for(target):
        for endpoint in ("v1", "workspace"):
            user, cn = add_odd_user(target, shape)
            username = cn if username_attribute == "cn" else user.username
            # v1 finds the entry by its userId; the workspace by the username
            # (a Keycloak-style UUID subject carries no 24-hex id).
            subject = user.user_id if endpoint == "v1" else "9b1c7d0e-0b5a-4a57-9d7e-uuid"
            token = issuer.token(subject, username=username)
            response = call(client, endpoint, token, user.user_id, OLD, NEW)
            if response.status_code != 200 or not target.can_bind(user.dn, NEW):
                failures.append((shape, endpoint, user.dn, response.status_code, response.text))
    assert not failures, failures


def test_every_dn_shape_reads_its_policy(
    target: Target, client_for: Callable[[Target], TestClient], issuer: DevIssuer
) -> None:
    client = client_for(target)
    failures = []
    for shape in shapes_for(target):
        user, _ = add_odd_user(target, shape)
        token = issuer.token(user.user_id, username=user.username)
        for path in ("/v1/password-policy", "/api/workspace/account/password-policy"):
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                failures.append((shape, path, user.dn, response.status_code, response.text))
    assert not failures, failures
