"""passgate behind a real Keycloak: its tokens, its federation of the same slapd, its keys.

Every token here is Keycloak's own (direct grant for people, client
credentials for service accounts); a password changed through passgate is
checked by asking Keycloak to sign the person in, which it does by binding
to the directory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.keycloak.conftest import USER_ID_CLAIM, KeycloakRealm, claims, header

NEW_PASSWORD = "Brand-new-Passw0rd!"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

PersonFactory = Callable[..., Any]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def change_v1(client: TestClient, token: str, user_id: str, old: str, new: str) -> Any:
    return client.post(
        f"/v1/users/{user_id}/change-password",
        json={"oldPassword": old, "newPassword": new},
        headers=bearer(token),
    )


def change_workspace(client: TestClient, token: str, old: str, new: str) -> Any:
    return client.post(
        "/api/workspace/account/change-password",
        json={"CurrentPassword": old, "NewPassword": new},
        headers=bearer(token),
    )


def authenticated(client: TestClient, token: str) -> bool:
    """Whether passgate accepts the token, without changing anything.

    Authentication comes before validation: an empty body answers 400 to a
    caller passgate believes and 401 to one it does not.
    """
    response = client.post(
        "/v1/users/000000000000000000000000/change-password", json={}, headers=bearer(token)
    )
    assert response.status_code in (400, 401), response.text
    return response.status_code == 400


def assert_signs_in_only_with(realm: KeycloakRealm, person: Any, new: str, old: str) -> None:
    assert realm.password_grant("password-portal", person.uid, new).status_code == 200
    refused = realm.password_grant("password-portal", person.uid, old)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_grant"


# -- a person changes their own password ----------------------------------------------------


def test_person_changes_password_on_v1(
    realm: KeycloakRealm, passgate: TestClient, add_person: PersonFactory
) -> None:
    person = add_person()
    token = realm.access_token("password-portal", person.uid, person.password)
    assert claims(token)[USER_ID_CLAIM] == person.user_id

    response = change_v1(passgate, token, person.user_id, person.password, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert response.json() == {"status": True, "data": {"passwordChanged": "OK"}}
    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)


def test_person_changes_password_on_workspace(
    realm: KeycloakRealm, passgate: TestClient, add_person: PersonFactory
) -> None:
    person = add_person()
    token = realm.access_token("password-portal", person.uid, person.password)

    response = change_workspace(passgate, token, person.password, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert response.json()["Success"] is True
    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)


def test_token_without_user_id_claim_finds_person_by_username(
    realm: KeycloakRealm, passgate: TestClient, add_person: PersonFactory
) -> None:
    person = add_person()
    token = realm.access_token("password-portal-username", person.uid, person.password)
    payload = claims(token)
    assert USER_ID_CLAIM not in payload
    assert UUID.match(payload["sub"]), payload["sub"]  # Keycloak's own user id
    assert payload["preferred_username"] == person.uid

    response = change_workspace(passgate, token, person.password, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)


# -- helpdesk service accounts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "where"),
    [
        ("passgate-helpdesk", "realm_access"),
        ("passgate-helpdesk-client-role", "resource_access"),
    ],
)
def test_helpdesk_changes_another_users_password_with_the_admin_role(
    realm: KeycloakRealm,
    passgate: TestClient,
    add_person: PersonFactory,
    client_id: str,
    where: str,
) -> None:
    person = add_person()
    token = realm.service_token(client_id)
    payload = claims(token)
    roles = (
        payload["realm_access"]["roles"]
        if where == "realm_access"
        else payload["resource_access"]["passgate"]["roles"]
    )
    assert "password-admin" in roles

    response = change_v1(passgate, token, person.user_id, person.password, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)


def test_service_account_without_the_admin_role_is_forbidden(
    realm: KeycloakRealm, passgate: TestClient, add_person: PersonFactory
) -> None:
    person = add_person()
    token = realm.service_token("passgate-reporting")

    response = change_v1(passgate, token, person.user_id, person.password, NEW_PASSWORD)

    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == 4003


def test_helpdesk_is_forbidden_on_the_workspace_endpoint(
    realm: KeycloakRealm, passgate: TestClient
) -> None:
    token = realm.service_token("passgate-helpdesk")

    response = change_workspace(passgate, token, "Initial-Passw0rd!", NEW_PASSWORD)

    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# -- audience ----------------------------------------------------------------------------


def test_token_for_another_audience_is_refused(
    realm: KeycloakRealm, make_passgate: Callable[..., TestClient], add_person: PersonFactory
) -> None:
    person = add_person()
    token = realm.access_token("other-app", person.uid, person.password)
    assert "passgate" not in claims(token).get("aud", [])
    ours = realm.access_token("password-portal", person.uid, person.password)
    assert "passgate" in claims(ours)["aud"]

    with make_passgate() as checked:
        assert not authenticated(checked, token)
        assert authenticated(checked, ours)
    # The same token passes where the audience is not checked: the refusal is the audience.
    with make_passgate(auth_audience=None) as unchecked:
        assert authenticated(unchecked, token)


# -- key rotation ------------------------------------------------------------------------


def active_rsa_kid(realm: KeycloakRealm) -> str:
    keys = realm.admin("GET", "/keys")
    return str(keys["active"]["RS256"])


def test_key_rotation_without_restarting_passgate(
    realm: KeycloakRealm, make_passgate: Callable[..., TestClient], add_person: PersonFactory
) -> None:
    person = add_person()
    refresh_bound = 2.0  # auth_jwks_cache_ttl: how long a withdrawn key is still trusted
    old_kid = active_rsa_kid(realm)
    # Three tokens of the old key: passgate keeps tokens it verified until
    # they expire (VerifiedTokens), so each is shown to it at one moment only.
    seen, after_rotation, unseen = (
        realm.access_token("password-portal", person.uid, person.password) for _ in range(3)
    )
    assert {header(t)["kid"] for t in (seen, after_rotation, unseen)} == {old_kid}

    with make_passgate(
        auth_jwks_cache_ttl=refresh_bound, auth_jwks_min_refresh_interval=0.5
    ) as client:
        assert authenticated(client, seen)

        realm_id = realm.admin("GET")["id"]
        realm.admin(
            "POST",
            "/components",
            json={
                "name": "rotated-rsa",
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id,
                "config": {
                    "priority": ["1000"],  # above the realm's generated key (100)
                    "enabled": ["true"],
                    "active": ["true"],
                    "algorithm": ["RS256"],
                    "keySize": ["2048"],
                },
            },
        )
        new_kid = active_rsa_kid(realm)
        assert new_kid != old_kid
        # An unknown kid is refetched at most once per min_refresh_interval,
        # counted from the fetch above; Keycloak may rotate faster than that.
        time.sleep(0.6)
        rotated = realm.access_token("password-portal", person.uid, person.password)
        assert header(rotated)["kid"] == new_kid
        # An unknown kid makes passgate fetch the JWKS again: no restart.
        assert authenticated(client, rotated)
        assert authenticated(client, after_rotation)  # the old key is still published

        # Withdraw the old key: remove the component that holds it.
        keys = realm.admin("GET", "/keys")["keys"]
        (old_component,) = {k["providerId"] for k in keys if k.get("kid") == old_kid}
        realm.admin("DELETE", f"/components/{old_component}")
        time.sleep(refresh_bound + 0.5)

        assert not authenticated(client, unseen)
        assert authenticated(client, rotated)


def test_id_tokens_are_refused(
    realm: KeycloakRealm, make_passgate: Callable[..., TestClient], add_person: PersonFactory
) -> None:
    person = add_person()
    response = realm.grant(
        grant_type="password",
        client_id="password-portal",
        username=person.uid,
        password=person.password,
        scope="openid",
    )
    assert response.status_code == 200, response.text
    id_token = response.json()["id_token"]
    assert claims(id_token)["typ"] == "ID"
    # Refused even where the audience is not checked: the token is not an access token.
    for audience in ("passgate", None):
        with make_passgate(auth_audience=audience) as client:
            assert not authenticated(client, id_token)
            assert authenticated(client, response.json()["access_token"])
