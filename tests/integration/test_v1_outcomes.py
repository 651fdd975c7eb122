"""Every directory outcome of the v1 endpoint, against the real slapd."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import assert_error, change, user_token

NEW = "Brand-N3w-Passw0rd!"
POLICY = "New password rejected by password policy"


def test_success_changes_the_password(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert response.status_code == 200
    assert response.json() == {"status": True, "data": {"passwordChanged": "OK"}}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert directory.can_bind(user.dn, NEW)
    assert not directory.can_bind(user.dn, user.password)


def test_admin_role_may_change_another_users_password(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    helpdesk = issuer.token("helpdesk", username="helpdesk", roles=["password-admin"])
    assert change(client, user.user_id, user.password, NEW, token=helpdesk).status_code == 200
    assert directory.can_bind(user.dn, NEW)


def test_admin_role_from_client_roles(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    tool = issuer.token("tool", username="tool", client_roles={"helpdesk": ["password-admin"]})
    assert change(client, user.user_id, user.password, NEW, token=tool).status_code == 200


def test_userid_is_case_insensitive(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    upper = user.user_id.upper()
    response = change(client, upper, user.password, NEW, token=user_token(issuer, user.user_id))
    assert response.status_code == 200, response.text


def test_wrong_old_password(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, "Not-The-Passw0rd", NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 400, 5023, "Incorrect old password")
    assert directory.can_bind(user.dn, user.password)


def test_unknown_user_is_404(client: TestClient, issuer: DevIssuer) -> None:
    admin = issuer.token("helpdesk", roles=["password-admin"])
    response = change(client, "0" * 24, "Whatever-Passw0rd", NEW, token=admin)
    assert_error(response, 404, 3001, "Entity not found")


def test_own_token_for_unknown_user_is_404(client: TestClient, issuer: DevIssuer) -> None:
    response = change(
        client, "ab" * 12, "Whatever-Passw0rd", NEW, token=user_token(issuer, "ab" * 12)
    )
    assert_error(response, 404, 3001, "Entity not found")


@pytest.mark.parametrize(
    ("new_password", "reason", "message"),
    [
        # policy pwdMinLength 10; the limit is read from the policy entry
        ("Sh0rt-pw!", "passwordTooShort", "The new password must be at least 10 characters."),
        # pwdCheckQuality 2: slapd refuses a pre-hashed value
        (
            "{SSHA}abcdefghijkl",
            "insufficientPasswordQuality",
            "The new password does not meet the directory's quality rules.",
        ),
    ],
)
def test_policy_rejections(
    client: TestClient,
    directory: Directory,
    issuer: DevIssuer,
    new_password: str,
    reason: str,
    message: str,
) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, new_password, token=user_token(issuer, user.user_id)
    )
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"] == [
        {"field": "newPassword", "reason": reason, "message": message}
    ]
    assert directory.can_bind(user.dn, user.password)


def test_too_long(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user(policy_dn=seed.MAX_LENGTH_POLICY_DN)
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, user.password, "Long-Passw0rd-" + "x" * 20, token=token)
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"][0]["reason"] == "passwordTooLong"


def test_history(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
    response = change(client, user.user_id, NEW, user.password, token=token)
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"][0]["reason"] == "passwordInHistory"
    assert directory.can_bind(user.dn, NEW)


def test_same_as_old(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, user.password, token=user_token(issuer, user.user_id)
    )
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"][0]["reason"] == "sameAsOld"


def test_too_young(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user(policy_dn=seed.MIN_AGE_POLICY_DN)
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    body = assert_error(response, 400, 5024, POLICY)
    assert body["error"]["details"][0]["reason"] == "passwordTooYoung"


def test_locked_account(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user()
    directory.replace(user.dn, "pwdAccountLockedTime", "000001010000Z")
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 400, 5026, "Account locked")


def test_locked_by_failed_binds(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    # passgate never makes the failure that locks (its limiter and last-straw guard):
    # the directory's own lockout is reached by binds made elsewhere.
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    for _ in range(5):  # pwdMaxFailure 5
        assert not directory.can_bind(user.dn, "Wrong-Passw0rd!")
    assert "pwdAccountLockedTime" in directory.read(user.dn, "pwdAccountLockedTime")
    # Seen by the guard (the failure state read as the service account) ...
    response = change(make_client(), user.user_id, user.password, NEW, token=token)
    assert_error(response, 400, 5026, "Account locked")
    # ... and, where the guard cannot read the policy, in the bind's own answer.
    blind = make_client(ldap_default_policy_dn="cn=nowhere,dc=example,dc=org")
    response = change(blind, user.user_id, user.password, NEW, token=token)
    assert_error(response, 400, 5026, "Account locked")


def test_expired_password(client: TestClient, directory: Directory, issuer: DevIssuer) -> None:
    user = directory.add_user(policy_dn=seed.EXPIRING_POLICY_DN)
    directory.replace(user.dn, "pwdChangedTime", "20000101000000Z", relax=True)
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 400, 5025, "Password expired")


def test_expired_password_with_wrong_old_password_is_5023(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(policy_dn=seed.EXPIRING_POLICY_DN)
    directory.replace(user.dn, "pwdChangedTime", "20000101000000Z", relax=True)
    response = change(
        client, user.user_id, "Wrong-Passw0rd!", NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 400, 5023, "Incorrect old password")


def test_must_change_after_reset_may_change(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    directory.replace(user.dn, "pwdReset", "TRUE")
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert response.status_code == 200, response.text
    assert "pwdReset" not in directory.read(user.dn, "pwdReset")
    assert directory.can_bind(user.dn, NEW)


def test_user_id_matching_two_entries_is_an_error_not_a_guess(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    first = directory.add_user()
    second = directory.add_user(user_id=first.user_id, password=first.password)
    response = change(
        client, first.user_id, first.password, NEW, token=user_token(issuer, first.user_id)
    )
    assert_error(response, 500, 5000, "Internal error")
    assert directory.can_bind(first.dn, first.password)
    assert directory.can_bind(second.dn, second.password)


def test_dn_template_mapper(make_client, directory: Directory, issuer: DevIssuer) -> None:  # type: ignore[no-untyped-def]
    user = directory.add_user(uid="t" + "c" * 23)
    client = make_client(ldap_user_dn_template="uid=t{userId},ou=people,dc=example,dc=org")
    # Here the userId is what follows "t" in the uid; a crafted value cannot
    # escape the RDN because the API accepts only 24 hex characters anyway.
    user_id = "c" * 23 + "c"
    response = change(client, user_id, user.password, NEW, token=user_token(issuer, user_id))
    assert response.status_code == 404  # uid=tccc...c (25 c) does not exist
    user2 = directory.add_user(uid="t" + "d" * 24)
    response = change(client, "d" * 24, user2.password, NEW, token=user_token(issuer, "d" * 24))
    assert response.status_code == 200, response.text
    assert user.user_id  # the first entry stays untouched
