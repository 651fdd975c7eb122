"""Where a change's time goes: the Server-Timing header, the phase histograms, and the
rules cache that keeps the lockout guard to one read of the entry per change."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from fastapi.testclient import TestClient

from passgate.dev import seed
from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.integration.helpers import change, user_token

NEW = "Timed-N3w-Passw0rd!"
WRONG = "Wrong-Passw0rd!"
WORKSPACE = "/api/workspace/account/change-password"
PHASE = re.compile(r"^([a-z]+);dur=(\d+\.\d{3})$")


def phases(header: str) -> dict[str, float]:
    """``auth;dur=0.041, ...`` -> {"auth": 0.041, ...}, every part checked."""
    found: dict[str, float] = {}
    for part in header.split(", "):
        match = PHASE.match(part)
        assert match, part
        found[match[1]] = float(match[2])
    return found


def operations(client: TestClient) -> Counter[str]:
    """The service account's searches and reads so far (the app's own metrics)."""
    text = client.get("/metrics").text
    counts: Counter[str] = Counter()
    for name in ("search", "read"):
        found = re.search(
            rf'passgate_ldap_operation_seconds_count\{{operation="{name}"\}} (\S+)', text
        )
        if found:
            counts[name] = int(float(found[1]))
    return counts


def test_a_change_says_where_its_time_went(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    with make_client(server_timing=True) as client:
        response = change(client, user.user_id, user.password, NEW, token=token)
    assert response.status_code == 200, response.text
    timing = phases(response.headers["server-timing"])
    assert list(timing)[:2] == ["auth", "body"]
    for name in ("limiter", "lookup", "guard", "bind", "rules", "modify"):
        assert name in timing
    assert list(timing)[-1] == "total"
    assert timing["total"] >= timing["bind"] + timing["modify"]
    header = response.headers["server-timing"]
    for secret in (user.password, NEW, token):
        assert secret not in header


def test_a_refused_change_is_timed_as_far_as_it_went(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    with make_client(server_timing=True) as client:
        response = change(client, user.user_id, WRONG, NEW, token=user_token(issuer, user.user_id))
    assert response.json()["error"]["code"] == 5023, response.text
    timing = phases(response.headers["server-timing"])
    assert {"bind", "response"} <= timing.keys()
    assert not {"rules", "modify"} & timing.keys()


def test_the_workspace_change_is_timed_too(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    with make_client(server_timing=True) as client:
        response = client.post(
            WORKSPACE,
            json={"CurrentPassword": user.password, "NewPassword": NEW},
            headers={"Authorization": f"Bearer {user_token(issuer, user.user_id)}"},
        )
    assert response.status_code == 200, response.text
    assert {"auth", "body", "bind", "modify", "total"} <= phases(
        response.headers["server-timing"]
    ).keys()


def test_no_server_timing_unless_asked_for(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert response.status_code == 200, response.text
    assert "server-timing" not in response.headers


def test_phases_are_histograms_in_the_metrics(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
    text = client.get("/metrics").text
    for name in ("auth", "guard", "bind", "modify", "audit", "total"):
        assert f'passgate_request_phase_seconds_count{{phase="{name}"}} 1.0' in text, name
    for secret in (user.password, NEW, token):
        assert secret not in text


def test_the_guard_reads_the_counter_every_change_and_the_policy_once(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    """Rules are cached (PASSGATE_LDAP_POLICY_CACHE_TTL), the failure counter never is.

    A user's first change finds the entry with a search that reads the
    counter too; later ones (the DN cached) read the entry itself.
    """
    users = [directory.add_user() for _ in range(4)]
    third = "Timed-Thr33-Passw0rd!"
    with make_client() as client:
        before = operations(client)
        for user in users:
            token = user_token(issuer, user.user_id)
            assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
        first = operations(client) - before
        for user in users:
            token = user_token(issuer, user.user_id)
            response = change(client, user.user_id, NEW, third, token=token)
            assert response.status_code == 200, response.text
        second = operations(client) - before - first
    assert first == Counter(search=4, read=1)  # each entry found, the default policy read once
    assert second == Counter(read=4)  # each entry's counter, the policy from the cache
    with make_client(ldap_policy_cache_ttl=0) as client:
        before = operations(client)
        for user in users:
            token = user_token(issuer, user.user_id)
            response = change(client, user.user_id, third, NEW + "2", token=token)
            assert response.status_code == 200, response.text
        uncached = operations(client) - before
    assert uncached == Counter(search=4, read=4)  # the policy on every change


def test_a_counter_near_the_threshold_is_read_again_after_the_lookup(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    """Attempts between the lookup and the entry's turn are not in the lookup's reading."""
    user = directory.add_user()
    assert not directory.can_bind(user.dn, WRONG)  # 1 of 5: 1 + 3 + 1 is not below 5
    with make_client() as client:
        before = operations(client)
        token = user_token(issuer, user.user_id)
        assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200
        assert operations(client) - before == Counter(search=1, read=2)  # policy, entry again


def test_a_cached_policy_still_guards_against_failures_made_elsewhere(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    """The counter is read fresh: failures made after the policy was cached still count."""
    first, second = directory.add_user(), directory.add_user()
    with make_client() as client:
        token = user_token(issuer, first.user_id)
        assert change(client, first.user_id, first.password, NEW, token=token).status_code == 200
        for _ in range(4):  # the suite's default policy locks at 5
            assert not directory.can_bind(second.dn, WRONG)
        response = change(
            client, second.user_id, WRONG, NEW, token=user_token(issuer, second.user_id)
        )
    assert response.status_code == 429, response.text
    assert directory.can_bind(second.dn, second.password)
    assert "pwdAccountLockedTime" not in directory.read(second.dn, "pwdAccountLockedTime")
    assert seed.DEFAULT_POLICY_DN
