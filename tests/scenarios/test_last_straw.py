"""The last-straw guard on real directories: passgate is never the reason an account locks.

Each directory here locks an account after 5 failed binds (389-DS
``passwordMaxFailure``, Samba's domain ``lockoutThreshold``; OpenLDAP's
default policy ``pwdMaxFailure``). Four failures are made straight against
the directory, as another application would; then no request to passgate,
on either endpoint, with a wrong or the right password, reaches a bind: it
answers 429 / 4029 with ``Retry-After``, and the account still binds with
its right password afterwards.

OpenLDAP joins the matrix once its dialect reads the failure state (its
reader is the OpenLDAP dialect's own work); until then it is left out
rather than marked as an expected failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import ldap3
import pytest
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer
from passgate.directory.dialects.base import Dialect
from passgate.directory.dialects.openldap import OpenLdapDialect
from tests.scenarios.targets import ScenarioUser, Target
from tests.scenarios.test_scenarios import NEW, OLD, call

WRONG = "Not-The-Passw0rd-9"
THRESHOLD = 5
# How long each directory counts a failure (389 passwordResetFailureCount 600 s,
# Samba's observation window 30 min, OpenLDAP pwdFailureCountInterval 900 s).
LONGEST_WINDOW = 1800

GUARDED = ["ds389", "samba"]
if OpenLdapDialect.read_failure_state is not Dialect.read_failure_state:
    GUARDED.insert(0, "openldap")


@pytest.fixture(params=GUARDED)
def guarded(request: pytest.FixtureRequest) -> Target:
    found: Target = request.getfixturevalue(request.param)
    return found


def fail_directly(target: Target, user: ScenarioUser, times: int) -> None:
    for _ in range(times):
        assert not target.can_bind(user.dn, WRONG)


def assert_refused(response: httpx.Response, endpoint: str) -> None:
    assert response.status_code == 429, (endpoint, response.text)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= LONGEST_WINDOW, retry_after
    body: dict[str, Any] = response.json()
    if endpoint == "v1":
        assert body["error"]["code"] == 4029
        assert body["error"]["message"] == "Too many attempts"
    else:
        assert body["status"] == 429  # problem details


@pytest.mark.parametrize("endpoint", ["v1", "workspace"])
def test_four_failures_elsewhere_then_passgate_never_binds(
    guarded: Target,
    endpoint: str,
    make_client: Callable[..., TestClient],
    issuer: DevIssuer,
) -> None:
    client = make_client(**guarded.settings)
    user = guarded.add_user(OLD)
    token = issuer.token(user.user_id, username=user.username)
    fail_directly(guarded, user, THRESHOLD - 1)
    # Wrong and right old passwords alike: the guard decides before any bind.
    for old in (WRONG, OLD, WRONG, WRONG, OLD, WRONG):
        assert_refused(call(client, endpoint, token, user.user_id, old, NEW), endpoint)
    assert guarded.can_bind(user.dn, OLD), "the account must not be locked"
    assert not guarded.can_bind(user.dn, NEW), "nothing may have changed"


def test_the_other_endpoint_and_identifier_share_the_directory_count(
    guarded: Target, make_client: Callable[..., TestClient], issuer: DevIssuer
) -> None:
    """Three failures elsewhere, one through v1: the workspace endpoint then refuses."""
    client = make_client(**guarded.settings)
    user = guarded.add_user(OLD)
    token = issuer.token(user.user_id, username=user.username)
    fail_directly(guarded, user, THRESHOLD - 2)
    first = call(client, "v1", token, user.user_id, WRONG, NEW)
    assert first.status_code == 400, first.text  # the 4th failure, made by passgate
    name_only = issuer.token("not-a-24-hex-id", username=user.username)
    assert_refused(call(client, "workspace", name_only, user.user_id, OLD, NEW), "workspace")
    assert guarded.can_bind(user.dn, OLD), "the account must not be locked"


def test_below_the_threshold_passgate_still_changes(
    guarded: Target, make_client: Callable[..., TestClient], issuer: DevIssuer
) -> None:
    """Three failures elsewhere leave room: the right password changes it (no false 429)."""
    client = make_client(**guarded.settings)
    user = guarded.add_user(OLD)
    token = issuer.token(user.user_id, username=user.username)
    fail_directly(guarded, user, THRESHOLD - 2)
    response = call(client, "v1", token, user.user_id, OLD, NEW)
    assert response.status_code == 200, response.text
    assert guarded.can_bind(user.dn, NEW)


# -- Active Directory: the effective policy is the resultant PSO -------------------------------

TICKS_PER_DAY = 864_000_000_000
PSO_MIN_LENGTH = 14


def add_pso(samba: Target, name: str, user: ScenarioUser, **values: str) -> str:
    """A fine-grained policy applying to ``user`` (precedence 3: before the min-age one)."""
    server: Any = samba.server
    dn = f"CN={name},{server.pso_container}"
    admin = server.admin_connection()
    try:
        attributes = {
            "objectClass": "msDS-PasswordSettings",
            "msDS-PasswordSettingsPrecedence": "3",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "3",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "10",
            "msDS-MinimumPasswordAge": "0",
            "msDS-MaximumPasswordAge": str(-42 * TICKS_PER_DAY),
            "msDS-LockoutThreshold": "5",
            "msDS-LockoutObservationWindow": str(-TICKS_PER_DAY // 48),
            "msDS-LockoutDuration": str(-TICKS_PER_DAY // 48),
            "msDS-PSOAppliesTo": user.dn,
            **values,
        }
        assert admin.add(dn, attributes=attributes), admin.result
    finally:
        admin.unbind()
    return dn


def test_ad_policy_endpoint_and_refusal_name_the_pso_limit(
    samba: Target, make_client: Callable[..., TestClient], issuer: DevIssuer
) -> None:
    client = make_client(**samba.settings)
    user = samba.add_user(OLD)
    pso = add_pso(samba, "passgate-long", user, **{"msDS-MinimumPasswordLength": "14"})
    admin = issuer.token("ab" * 12, roles=["password-admin"])
    for path, token in [
        (f"/v1/password-policy?userId={user.user_id}", admin),
        ("/api/workspace/account/password-policy", issuer.token(user.user_id)),
    ]:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body = response.json()
        data = body["data"] if "data" in body else body["Data"]
        assert data["minLength"] == PSO_MIN_LENGTH, data
        assert data["directorySource"].lower() == pso.lower(), data
    twelve = "Twelve-ch4rs"
    response = call(client, "v1", issuer.token(user.user_id), user.user_id, OLD, twelve)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == [
        {
            "field": "newPassword",
            "reason": "passwordTooShort",
            "message": "The new password must be at least 14 characters.",
        }
    ]
    assert samba.can_bind(user.dn, OLD)


def test_ad_guard_uses_the_pso_threshold(
    samba: Target, make_client: Callable[..., TestClient], issuer: DevIssuer
) -> None:
    """A PSO with threshold 3 (the domain says 5): two failures elsewhere are the last straw."""
    client = make_client(**samba.settings)
    user = samba.add_user(OLD)
    add_pso(samba, "passgate-three", user, **{"msDS-LockoutThreshold": "3"})
    fail_directly(samba, user, 2)
    token = issuer.token(user.user_id, username=user.username)
    for endpoint in ("v1", "workspace"):
        assert_refused(call(client, endpoint, token, user.user_id, WRONG, NEW), endpoint)
    assert samba.can_bind(user.dn, OLD), "the account must not be locked"


def test_389_failure_state_is_read_as_the_service_account(ds389: Target) -> None:
    """The counters are operational attributes: the service account reads them by name."""
    user = ds389.add_user(OLD)
    fail_directly(ds389, user, 2)
    server: Any = ds389.server
    conn = ldap3.Connection(
        ldap3.Server(server.ldaps_url, use_ssl=True, tls=server.tls()),
        user=server.service_dn,
        password=server.service_password,
        auto_bind=True,
    )
    try:
        conn.search(user.dn, "(objectClass=*)", ldap3.BASE, attributes=["passwordRetryCount"])
        assert str(conn.entries[0].passwordRetryCount.value) == "2"
    finally:
        conn.unbind()
