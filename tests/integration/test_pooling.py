"""Connection pools and the DN cache, on the real slapd."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import ldap3
import pytest
from fastapi.testclient import TestClient

from passgate.app import directory_from_settings
from passgate.dev.tokens import DevIssuer
from passgate.directory.ldap_directory import LdapDirectory
from passgate.errors import IncorrectOldPassword
from tests.conftest import Directory, SettingsFactory, start_slapd
from tests.integration.helpers import change, user_token


def change_password(ldap: LdapDirectory, dn: str, old: str, new: str) -> None:
    """The change as the service runs it: bind with the old password, set the new."""
    with ldap.bound_as(dn, old) as bound:
        bound.set_password(new)


@pytest.fixture
def ldap(make_settings: SettingsFactory) -> LdapDirectory:
    return directory_from_settings(make_settings(ldap_pool_size=1))


def contains(obj: object, secret: str, seen: set[int] | None = None, depth: int = 0) -> bool:
    """Whether ``secret`` is reachable from ``obj`` (attributes, containers; bounded depth)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return False
    seen.add(id(obj))
    if isinstance(obj, str):
        return secret in obj
    if isinstance(obj, bytes | bytearray):
        return secret.encode() in obj or secret.encode("utf-16-le") in obj
    if isinstance(obj, dict):
        return any(contains(v, secret, seen, depth + 1) for v in obj.values())
    if isinstance(obj, list | tuple | set | frozenset):
        return any(contains(v, secret, seen, depth + 1) for v in obj)
    if hasattr(obj, "__dict__"):
        return any(contains(v, secret, seen, depth + 1) for v in vars(obj).values())
    return False


def test_user_connection_is_reused_and_keeps_no_password(
    ldap: LdapDirectory, directory: Directory
) -> None:
    first, second = directory.add_user(), directory.add_user()
    change_password(ldap, first.dn, first.password, "First-N3w-Passw0rd")
    change_password(ldap, second.dn, second.password, "Second-N3w-Passw0rd")
    assert ldap.user_pool.created == 1  # one connection served both users
    assert ldap.user_pool.idle == 1
    pooled = ldap.user_pool._idle[0].conn
    for secret in (first.password, second.password, "First-N3w-Passw0rd", "Second-N3w-Passw0rd"):
        assert not contains(pooled, secret), "a password stayed on a pooled connection"


def test_failed_rebind_does_not_keep_the_previous_identity(
    ldap: LdapDirectory, directory: Directory
) -> None:
    alice, bob = directory.add_user(), directory.add_user()
    change_password(
        ldap, alice.dn, alice.password, "Alice-N3w-Passw0rd"
    )  # pooled conn bound as alice
    with pytest.raises(IncorrectOldPassword):
        change_password(ldap, bob.dn, "Not-Bobs-Passw0rd", "Bob-N3w-Passw0rd")
    assert ldap.user_pool.created == 1  # the refusal reused, and kept, the same connection
    pooled = ldap.user_pool._idle[0].conn
    assert pooled.extend.standard.who_am_i() in (None, "")  # anonymous, not alice
    # Had the exop run on alice's identity, her password would now be Bob-N3w...
    assert directory.can_bind(alice.dn, "Alice-N3w-Passw0rd")
    assert directory.can_bind(bob.dn, bob.password)


def test_killed_connections_are_replaced(make_settings: SettingsFactory, issuer: DevIssuer) -> None:
    server = start_slapd()
    try:
        own = Directory(server)
        ldap = directory_from_settings(make_settings(ldap_connection_url=server.url))
        user = own.add_user()
        change_password(ldap, ldap.user_dn_for(user.user_id), user.password, "After-Kill-Passw0rd1")
        created = (ldap.service_pool.created, ldap.user_pool.created)
        server.restart()  # every pooled connection is now dead
        change_password(ldap, user.dn, "After-Kill-Passw0rd1", "After-Kill-Passw0rd2")
        assert ldap.user_dn_for(user.user_id, refresh=True) == user.dn
        assert ldap.user_pool.created == created[1] + 1
        assert ldap.service_pool.created == created[0] + 1
        assert own.can_bind(user.dn, "After-Kill-Passw0rd2")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("ttl", "second_change"),
    [(60.0, 200), (0.0, 404)],  # the cached DN still serves; without a cache the id is gone
    ids=["cached", "cache-disabled"],
)
def test_dn_cache_serves_repeat_lookups(
    make_client: Callable[..., TestClient],
    directory: Directory,
    issuer: DevIssuer,
    ttl: float,
    second_change: int,
) -> None:
    client = make_client(ldap_dn_cache_ttl=ttl)
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    first = change(client, user.user_id, user.password, "Cached-N3w-Passw0rd", token=token)
    assert first.status_code == 200
    # The id disappears from the directory; within the TTL a cached DN still serves.
    assert directory.admin.modify(user.dn, {"passgateUserId": [(ldap3.MODIFY_REPLACE, ["f" * 24])]})
    second = change(
        client, user.user_id, "Cached-N3w-Passw0rd", "Cached-N3w-Passw0rd2", token=token
    )
    assert second.status_code == second_change


def test_stale_cached_dn_after_a_rename(
    make_client: Callable[..., TestClient], directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client()
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    assert (
        change(client, user.user_id, user.password, "Before-Move-Passw0rd", token=token).status_code
        == 200
    )
    assert directory.admin.modify_dn(user.dn, f"uid={user.uid}-moved")
    response = change(
        client, user.user_id, "Before-Move-Passw0rd", "After-Move-Passw0rd", token=token
    )
    assert response.status_code == 200, response.text
    assert directory.can_bind(
        f"uid={user.uid}-moved,ou=people,dc=example,dc=org", "After-Move-Passw0rd"
    )


@pytest.mark.parametrize("pool", ["user", "service"])
def test_a_busy_moment_keeps_its_connections_for_the_next(
    make_settings: SettingsFactory, pool: str
) -> None:
    """By default a pool keeps as many idle connections as may be busy at once
    (PASSGATE_LDAP_MAX_CONCURRENCY): at full concurrency none is closed and opened
    again, which cost a connection and a bind per few dozen changes at c=32."""
    ldap = directory_from_settings(make_settings(ldap_max_concurrency=20))
    connections = ldap.user_pool if pool == "user" else ldap.service_pool
    for _ in range(3):
        with contextlib.ExitStack() as busy:
            for _ in range(20):  # more than the old default of 16 idle connections
                busy.enter_context(connections.connection())
    assert connections.created == 20
    assert connections.discarded == 0
    assert connections.idle == 20
    ldap.close()


def test_an_explicit_pool_size_still_bounds_the_idle_connections(
    make_settings: SettingsFactory,
) -> None:
    ldap = directory_from_settings(make_settings(ldap_max_concurrency=20, ldap_pool_size=4))
    with contextlib.ExitStack() as busy:
        for _ in range(6):
            busy.enter_context(ldap.user_pool.connection())
    assert ldap.user_pool.idle == 4
    assert ldap.user_pool.discarded == 2
    ldap.close()


def test_a_connection_whose_use_failed_is_closed_not_kept(ldap: LdapDirectory) -> None:
    lease = ldap.user_pool.connection()
    conn, reused = lease.__enter__()
    assert not reused
    lease.__exit__(RuntimeError, RuntimeError("anything that went wrong on it"), None)
    assert conn.closed
    assert (ldap.user_pool.idle, ldap.user_pool.discarded) == (0, 1)
    with ldap.user_pool.connection() as (again, reused):
        assert again is not conn
        assert not reused
    assert ldap.user_pool.idle == 1
