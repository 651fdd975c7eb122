"""Token claims to callers; API keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from passgate.auth.api_keys import ApiKeyVerifier, load_api_keys
from passgate.auth.authenticator import CompositeAuthenticator, NotConfigured
from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.auth.jwt import TokenVerifier, roles_of
from passgate.auth.keys import StaticKey
from passgate.dev.tokens import DevIssuer
from passgate.errors import ConfigurationError, InvalidCredentials, NoCredentials

ISSUER = DevIssuer("https://sso.example.test/realms/r")


def verifier(**kwargs) -> TokenVerifier:  # type: ignore[no-untyped-def]
    return TokenVerifier(
        StaticKey(ISSUER.private_key.public_key()),
        issuer=ISSUER.issuer,
        audience=kwargs.pop("audience", None),
        **kwargs,
    )


def test_keycloak_user_token() -> None:
    token = ISSUER.token(
        "64b7f0c2a1d3e4f5a6b7c8d1",
        username="alice",
        roles=["offline_access", "password-admin"],
        client_roles={"portal": ["viewer"]},
    )
    caller = verifier().verify(token)
    assert caller == Caller(
        CallerKind.USER,
        "alice",
        "64b7f0c2a1d3e4f5a6b7c8d1",
        "alice",
        frozenset({"offline_access", "password-admin", "viewer"}),
    )


def test_non_hex_subject_is_no_user_id() -> None:
    caller = verifier().verify(ISSUER.token("2f1c6a3e-uuid", username="bob"))
    assert caller.kind is CallerKind.USER
    assert caller.user_id is None
    assert not caller.is_user("2f1c6a3e-uuid")


def test_token_without_any_user_identity_is_a_service_account() -> None:
    caller = verifier().verify(ISSUER.token("2f1c6a3e-uuid"))
    assert caller.kind is CallerKind.SERVICE


def test_service_account_token() -> None:
    caller = verifier().verify(
        ISSUER.token("64b7f0c2a1d3e4f5a6b7c8d1", username="service-account-portal")
    )
    assert caller.kind is CallerKind.SERVICE
    assert not caller.is_user("64b7f0c2a1d3e4f5a6b7c8d1")


def test_is_user_ignores_case() -> None:
    caller = Caller(CallerKind.USER, "a", user_id="ABCDEF0123456789abcdef01")
    assert caller.is_user("abcdef0123456789ABCDEF01")


@pytest.mark.parametrize(
    "claims",
    [
        {"realm_access": "nope"},
        {"realm_access": {"roles": "admin"}},
        {"resource_access": {"c": {"roles": [1, None, "ok"]}}},
        {"resource_access": ["x"]},
        {},
    ],
)
def test_roles_tolerate_odd_shapes(claims: dict[str, object]) -> None:
    assert roles_of(claims) <= {"ok"}


def test_credentials_repr_hides_values() -> None:
    text = repr(Credentials(bearer_token="eyJsecret", api_key="key-secret"))
    assert "secret" not in text


def test_composite_routes_and_refuses() -> None:
    auth = CompositeAuthenticator([verifier(), NotConfigured("API keys", ApiKeyVerifier.handles)])
    with pytest.raises(NoCredentials):
        auth.authenticate(Credentials())
    with pytest.raises(InvalidCredentials):
        auth.authenticate(Credentials(api_key="k"))
    assert auth.authenticate(Credentials(bearer_token=ISSUER.token("x"))).name == "x"


def test_composite_refuses_a_method_not_configured_even_with_another_credential(
    tmp_path: Path,
) -> None:
    keys = ApiKeyVerifier(load_api_keys(_write_keys(tmp_path, [KEY_ENTRY])))
    auth = CompositeAuthenticator([NotConfigured("bearer tokens", TokenVerifier.handles), keys])
    with pytest.raises(InvalidCredentials, match=r"^bearer tokens are not configured$"):
        auth.authenticate(Credentials(bearer_token="eyJ", api_key="k-1"))  # the token decides
    assert not auth.needs_io(Credentials(bearer_token="eyJ"))
    assert auth.authenticate(Credentials(api_key="k-1")).name == "helpdesk"
    with pytest.raises(NoCredentials):
        auth.authenticate(Credentials())


KEY_ENTRY = {"name": "helpdesk", "sha256": hashlib.sha256(b"k-1").hexdigest(), "roles": []}


def _write_keys(tmp_path: Path, entries: object) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(entries))
    return path


def test_api_keys(tmp_path: Path) -> None:
    path = _write_keys(
        tmp_path,
        [
            {
                "name": "helpdesk",
                "sha256": hashlib.sha256(b"k-1").hexdigest(),
                "roles": ["password-admin"],
            }
        ],
    )
    keys = ApiKeyVerifier(load_api_keys(path))
    caller = keys.verify("k-1")
    assert caller.kind is CallerKind.API_KEY
    assert caller.has_role("password-admin")
    with pytest.raises(InvalidCredentials):
        keys.verify("k-2")


@pytest.mark.parametrize(
    "entries",
    [
        {"name": "x"},
        [{"name": "x", "sha256": "zz"}],
        [{"sha256": "a" * 64}],
        [{"name": "x", "sha256": "a" * 64, "roles": "r"}],
        [{"name": "x", "sha256": "a" * 64 + "\n"}],  # $ alone matched before it
    ],
)
def test_bad_api_key_files_name_the_variable(tmp_path: Path, entries: object) -> None:
    with pytest.raises(ConfigurationError, match="PASSGATE_API_KEYS_FILE"):
        load_api_keys(_write_keys(tmp_path, entries))


def test_verified_tokens_are_cached_until_they_expire() -> None:
    from passgate.auth.jwt import VerifiedTokens

    now = [1000.0]
    cache = VerifiedTokens(2, clock=lambda: now[0])
    caller = Caller(CallerKind.USER, "a")
    cache.put("t1", caller, {"exp": 1010, "nbf": 990})
    assert cache.get("t1") is caller
    now[0] = 1010.0
    assert cache.get("t1") is None  # expired: never served
    cache.put("t2", caller, {"exp": 2000, "nbf": 1500})
    assert cache.get("t2") is None  # not yet valid
    cache.put("t3", caller, {"exp": 2000})
    cache.put("t4", caller, {"exp": 2000})
    cache.put("t5", caller, {"exp": 2000})
    assert cache.get("t3") is None  # bounded: the oldest went first
    assert cache.get("t5") is caller
    assert VerifiedTokens(0).get("t5") is None  # size 0 disables


def test_verified_tokens_evict_the_least_recently_used() -> None:
    from passgate.auth.jwt import VerifiedTokens

    now = [1000.0]
    cache = VerifiedTokens(2, clock=lambda: now[0])
    caller = Caller(CallerKind.USER, "a")
    cache.put("t1", caller, {"exp": 2000})
    cache.put("t2", caller, {"exp": 2000})
    assert cache.get("t1") is caller  # t1 is now the most recently used
    cache.put("t3", caller, {"exp": 2000})
    assert cache.get("t2") is None
    assert cache.get("t1") is caller
    cache.put("t4", caller, {"exp": 1000})  # already expired: not kept
    assert cache.get("t4") is None
    assert cache.get("t3") is caller


def test_a_cached_token_with_another_signature_is_verified_afresh() -> None:
    v = verifier()
    token = ISSUER.token("64b7f0c2a1d3e4f5a6b7c8d1", username="alice")
    assert v.verify(token).name == "alice"
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(InvalidCredentials):
        v.verify(forged)


@pytest.mark.parametrize("typ", ["ID", "Refresh", "Logout", 7])
def test_only_access_tokens_are_accepted(typ: object) -> None:
    token = ISSUER.token("64b7f0c2a1d3e4f5a6b7c8d1", username="alice", typ=typ)
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier().verify(token)
