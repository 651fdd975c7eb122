"""``PASSGATE_LDAP_CUSTOM_USER_FILTER`` against the real slapd: outside it is 404, like unknown.

Keycloak's ``customUserSearchFilter`` keeps people out of sign-in (e.g.
disabled accounts); passgate ANDs the same filter into every lookup (by
userId, by username, and the template mapper's base-scope read), so they
cannot change a password through it either.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change

NEW = "Filtered-N3w-Passw0rd!"
ONLY_ACTIVE = "(!(employeeType=disabled))"
WORKSPACE = "/api/workspace/account/change-password"


@pytest.fixture(params=["search", "template"])
def filtered(request: pytest.FixtureRequest, make_client: Callable[..., TestClient]) -> TestClient:
    overrides: dict[str, Any] = {"ldap_custom_user_filter": ONLY_ACTIVE}
    if request.param == "template":
        # The users below have uid == passgateUserId, so both mappers name the same entry.
        overrides["ldap_user_dn_template"] = f"uid={{userId}},{seed.PEOPLE_DN}"
    return make_client(**overrides)


def add(directory: Directory, **extra: str) -> seed.User:
    user_id = secrets.token_hex(12)
    return directory.add_user(user_id=user_id, uid=user_id, extra=dict(extra))


def workspace(client: TestClient, token: str, old: str) -> int:
    response = client.post(
        WORKSPACE,
        headers={"Authorization": f"Bearer {token}"},
        json={"CurrentPassword": old, "NewPassword": NEW},
    )
    return response.status_code


def test_outside_the_filter_is_404_like_unknown(
    filtered: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    excluded = add(directory, employeeType="disabled")
    admin = issuer.token("helpdesk", roles=["password-admin"])
    for user_id in (excluded.user_id, "0" * 24):  # filtered out, and nobody at all
        response = change(filtered, user_id, excluded.password, NEW, token=admin)
        assert_error(response, 404, 3001, "Entity not found")
    own = issuer.token(excluded.user_id, username=excluded.uid)
    response = change(filtered, excluded.user_id, excluded.password, NEW, token=own)
    assert_error(response, 404, 3001, "Entity not found")
    # By username (a token whose subject is Keycloak's UUID): the same.
    by_name = issuer.token("0d6f3a2e-keycloak-uuid", username=excluded.uid)
    assert workspace(filtered, by_name, excluded.password) == 404
    assert directory.can_bind(excluded.dn, excluded.password)


def test_inside_the_filter_changes_as_before(
    filtered: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    included = add(directory, employeeType="staff")
    own = issuer.token(included.user_id, username=included.uid)
    assert change(filtered, included.user_id, included.password, NEW, token=own).status_code == 200
    other = add(directory)  # no employeeType at all: inside the filter
    by_name = issuer.token("0d6f3a2e-keycloak-uuid", username=other.uid)
    assert workspace(filtered, by_name, other.password) == 200
    assert directory.can_bind(other.dn, NEW)
