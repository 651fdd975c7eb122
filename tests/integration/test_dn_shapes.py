"""Every DN shape a directory returns works on every path, on the real slapd.

Entries are added with properly escaped DNs (RFC 4514) whose RDN values hold
the characters that need escaping (``,`` ``+`` ``"`` ``\\`` ``#`` ``=`` ``;``
``<`` ``>``, leading and trailing spaces), non-ASCII letters, and
multi-valued RDNs; slapd hands them back in its own form (hex escapes
included). Each changes its password through v1 and the workspace endpoint,
reads its policy, and survives a connection cut after the modify was sent
(the settlement binds with the DN).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import ldap3
import pytest
from fastapi.testclient import TestClient
from ldap3.utils.dn import escape_rdn

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.faultproxy import Cut, FaultProxy
from tests.integration.helpers import change, change_through, user_token

NEW = "Brand-N3w-Passw0rd!"
WORKSPACE = "/api/workspace/account/change-password"


@dataclass(frozen=True)
class Shape:
    """An RDN: its attribute/value pairs (several: a multi-valued RDN), values unescaped."""

    name: str
    pairs: tuple[tuple[str, str], ...]


SHAPES = [
    Shape("comma", (("cn", "Doe, John"),)),
    Shape("plus in value", (("uid", "a+b"),)),
    Shape("multi-valued", (("cn", "Ann Lee"), ("uid", "alee"))),
    Shape("multi-valued, uid first", (("uid", "blee"), ("cn", "Bob Lee"))),
    Shape("quotes", (("cn", 'Say "hi"'),)),
    Shape("backslash", (("cn", "back\\slash"),)),
    Shape("hash first", (("cn", "#hash"),)),
    Shape("leading and trailing spaces", (("cn", " padded "),)),
    Shape("equals and semicolon", (("cn", "a=b;c"),)),
    Shape("angle brackets", (("cn", "<x>"),)),
    Shape("non-ASCII", (("cn", "Jürgen Müller"),)),
    Shape("non-ASCII uid", (("uid", "jürgen"),)),
    Shape("uid with comma and quote", (("uid", 'doe, "j"'),)),
    Shape("uid with hash and backslash", (("uid", "#jd\\x"),)),
    Shape("everything", (("cn", ' #Doe, "J" +x=\\y; '),)),
]


@dataclass(frozen=True)
class OddUser:
    dn: str
    uid: str
    user_id: str
    password: str


AddOdd = Callable[[Shape], OddUser]


@pytest.fixture
def add_odd(directory: Directory) -> AddOdd:
    def add(shape: Shape) -> OddUser:
        tag = secrets.token_hex(3)
        # Unique per test: the RDN values get a suffix that keeps their odd edges.
        pairs = [(a, f"{v[:-1]}{tag}{v[-1]}" if len(v) > 1 else v + tag) for a, v in shape.pairs]
        rdn = "+".join(f"{a}={escape_rdn(v)}" for a, v in pairs)
        values = dict(pairs)
        uid = values.get("uid", "u" + tag)
        cn = values.get("cn", uid)
        user = OddUser(f"{rdn},{seed.PEOPLE_DN}", uid, secrets.token_hex(12), "Initial-Passw0rd!")
        attributes = {
            "objectClass": ["inetOrgPerson", "passgateUser"],
            "cn": cn,
            "sn": "Odd",
            "uid": uid,
            "passgateUserId": user.user_id,
            "userPassword": user.password,
        }
        assert directory.admin.add(user.dn, attributes=attributes), directory.admin.result
        return user

    return add


def returned_dn(directory: Directory, user: OddUser) -> str:
    """The DN as the server writes it in search results (may differ from how it was added)."""
    found = directory.admin.search(
        seed.PEOPLE_DN, f"(passgateUserId={user.user_id})", ldap3.SUBTREE, attributes=["1.1"]
    )
    assert found, directory.admin.result
    dn: str = directory.admin.response[0]["dn"]
    return dn


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_v1_change(
    client: TestClient, directory: Directory, issuer: DevIssuer, add_odd: AddOdd, shape: Shape
) -> None:
    user = add_odd(shape)
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, user.password, NEW, token=token)
    assert response.status_code == 200, (returned_dn(directory, user), response.text)
    assert directory.can_bind(user.dn, NEW)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_workspace_change_found_by_username(
    client: TestClient, directory: Directory, issuer: DevIssuer, add_odd: AddOdd, shape: Shape
) -> None:
    user = add_odd(shape)
    token = issuer.token("5d0c3e8e-5a1f-4f55-9d1c-uuid", username=user.uid)  # Keycloak's sub
    body = {"CurrentPassword": user.password, "NewPassword": NEW}
    response = client.post(WORKSPACE, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (returned_dn(directory, user), response.text)
    assert directory.can_bind(user.dn, NEW)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_policy_read(
    client: TestClient, directory: Directory, issuer: DevIssuer, add_odd: AddOdd, shape: Shape
) -> None:
    user = add_odd(shape)
    token = user_token(issuer, user.user_id)
    response = client.get("/v1/password-policy", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (returned_dn(directory, user), response.text)
    # seed.policy(): the default policy's numbers, read with the DN as the search base.
    assert response.json()["data"]["minLength"] == 10


UID_IN_RDN = [s for s in SHAPES if any(a == "uid" for a, _ in s.pairs)]


@pytest.mark.parametrize("shape", UID_IN_RDN, ids=lambda s: s.name)
def test_the_username_in_the_rdn_is_checked_by_value(
    client: TestClient, directory: Directory, issuer: DevIssuer, add_odd: AddOdd, shape: Shape
) -> None:
    """The names check reads the username from the RDN unescaped: a password holding it fails."""
    user = add_odd(shape)
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, user.password, f"Xy9!{user.uid}Q", token=token)
    assert response.status_code == 400, (returned_dn(directory, user), response.text)
    assert response.json()["error"]["details"][0]["reason"] == "containsUsername"
    assert directory.can_bind(user.dn, user.password)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_lost_modify_is_settled_with_the_dn(
    make_client: Callable[..., TestClient],
    slapd: Slapd,
    directory: Directory,
    issuer: DevIssuer,
    add_odd: AddOdd,
    shape: Shape,
) -> None:
    user = add_odd(shape)
    proxy = FaultProxy(slapd.port, Cut.AFTER_FORWARDING)
    response = change_through(proxy, make_client, issuer, user, NEW)
    assert proxy.tripped.is_set(), response.text
    assert directory.can_bind(user.dn, NEW)
    assert response.status_code == 200, response.text
