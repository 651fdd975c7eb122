"""Only access tokens; the azp allow-list; where the admin role may come from."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest

from passgate.auth.authenticator import authenticator_from_settings
from passgate.auth.jwt import TokenVerifier
from passgate.auth.keys import StaticKey
from passgate.config import AuthSettings, load_settings
from passgate.dev.tokens import DevIssuer
from passgate.errors import ConfigurationError, InvalidCredentials
from tests.unit.test_settings import BASE

ISSUER = DevIssuer("https://sso.example.test/realms/r")
USER_ID = "64b7f0c2a1d3e4f5a6b7c8d1"


def verifier(**kwargs: Any) -> TokenVerifier:
    return TokenVerifier(
        StaticKey(ISSUER.private_key.public_key()),
        issuer=ISSUER.issuer,
        audience=kwargs.pop("audience", None),
        **kwargs,
    )


def token(**claims: Any) -> str:
    return ISSUER.token(USER_ID, username="alice", **claims)


# -- only access tokens ------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["Bearer", "bearer", "BEARER"])
def test_keycloak_access_tokens_pass(typ: str) -> None:
    assert verifier().verify(token(typ=typ)).user_id == USER_ID


@pytest.mark.parametrize(
    "typ", ["ID", "Refresh", "Offline", "Logout", "Serialized-ID", "", "Bearer ", 1, ["Bearer"]]
)
def test_id_refresh_and_other_tokens_are_refused(typ: object) -> None:
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier().verify(token(typ=typ))
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier(allow_untyped=True).verify(token(typ=typ))  # the setting never lets these in


def test_untyped_tokens_are_refused_unless_allowed() -> None:
    untyped = token(typ=None)
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier().verify(untyped)
    assert verifier(allow_untyped=True).verify(untyped).user_id == USER_ID


@pytest.mark.parametrize("header_typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_rfc9068_access_tokens_pass_without_a_typ_claim(header_typ: str) -> None:
    typed = token(typ=None, header={"typ": header_typ})
    assert verifier().verify(typed).user_id == USER_ID


def test_an_rfc9068_header_does_not_launder_an_id_token() -> None:
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier().verify(token(typ="ID", header={"typ": "at+jwt"}))


@pytest.mark.parametrize("header_typ", ["secevent+jwt", "logout+jwt", "dpop+jwt", 7])
def test_other_jose_types_are_refused(header_typ: object) -> None:
    with pytest.raises(InvalidCredentials, match="not an access token"):
        verifier(allow_untyped=True).verify(token(header={"typ": header_typ}))


# -- azp ---------------------------------------------------------------------------------


def test_azp_allow_list() -> None:
    v = verifier(allowed_clients=frozenset({"passgate-portal", "helpdesk"}))
    assert v.verify(token()).name == "alice"  # DevIssuer's azp: passgate-portal
    assert v.verify(token(azp="helpdesk")).name == "alice"
    for azp in ("other-app", None, 7):
        with pytest.raises(InvalidCredentials, match="client not allowed"):
            v.verify(token(azp=azp))
    # RFC 9068 names the client in client_id.
    assert v.verify(token(azp=None, client_id="helpdesk")).name == "alice"
    assert verifier().verify(token(azp="anything")).name == "alice"  # unset: any client


# -- the admin role ----------------------------------------------------------------------

ADMIN = "password-admin"


def roles(v: TokenVerifier, **claims: Any) -> frozenset[str]:
    return v.verify(token(**claims)).roles


def test_pinned_admin_client_is_the_only_source_of_the_admin_role() -> None:
    v = verifier(admin_client="passgate")
    assert ADMIN in roles(v, client_roles={"passgate": [ADMIN]})
    assert ADMIN not in roles(v, roles=[ADMIN])  # a realm role does not count
    assert ADMIN not in roles(v, client_roles={"some-app": [ADMIN]})  # nor another client's
    assert ADMIN not in roles(v, client_roles={"some-app": [ADMIN], "passgate": ["viewer"]})


def test_unpinned_every_client_counts_with_an_audience_too_as_the_contract_says() -> None:
    v = verifier(audience="passgate")
    assert ADMIN in roles(v, aud="passgate", roles=[ADMIN])
    assert ADMIN in roles(v, aud="passgate", client_roles={"passgate": [ADMIN]})
    assert ADMIN in roles(v, aud="passgate", client_roles={"some-app": [ADMIN]})


def test_without_audience_or_pin_every_client_counts_as_the_contract_says() -> None:
    v = verifier()
    assert ADMIN in roles(v, roles=[ADMIN])
    assert ADMIN in roles(v, client_roles={"some-app": [ADMIN]})


# -- settings and the start-up warning --------------------------------------------------


def settings(**values: Any) -> AuthSettings:
    base = {"public_key_file": None, "issuer": ISSUER.issuer, "jwks_url": "https://kc/certs"}
    return AuthSettings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def test_settings_read_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSGATE_AUTH_ALLOW_UNTYPED_TOKENS", "true")
    monkeypatch.setenv("PASSGATE_AUTH_ALLOWED_CLIENTS", " portal, helpdesk ,")
    monkeypatch.setenv("PASSGATE_AUTH_ADMIN_CLIENT", "passgate")
    s = settings()
    assert s.allow_untyped_tokens is True
    assert s.allowed_client_ids == frozenset({"portal", "helpdesk"})
    assert s.admin_client == "passgate"
    assert settings().allowed_client_ids == frozenset({"portal", "helpdesk"})


def test_defaults() -> None:
    s = AuthSettings.model_construct()
    assert (s.allow_untyped_tokens, s.allowed_clients, s.admin_client) == (False, "", None)


def test_blank_admin_client_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSGATE_AUTH_ADMIN_CLIENT", "  ")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**BASE)
    assert str(caught.value).count("PASSGATE_AUTH_ADMIN_CLIENT") == 1  # named once


def test_no_audience_is_warned_about_once_at_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    authenticator_from_settings(settings())
    warnings = [
        r.getMessage() for r in caplog.records if "PASSGATE_AUTH_AUDIENCE" in r.getMessage()
    ]
    assert len(warnings) == 1, caplog.records
    caplog.clear()
    authenticator_from_settings(settings(audience="passgate"))
    assert not [r for r in caplog.records if "PASSGATE_AUTH_AUDIENCE" in r.getMessage()]


def test_no_warning_without_tokens(caplog: pytest.LogCaptureFixture, tmp_path: Any) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text("[]")
    caplog.set_level(logging.WARNING)
    with contextlib.suppress(ConfigurationError):
        authenticator_from_settings(
            AuthSettings(_env_file=None, api_keys_file=keys)  # type: ignore[call-arg]
        )
    assert not [r for r in caplog.records if "PASSGATE_AUTH_AUDIENCE" in r.getMessage()]


# -- one strict parse per token --------------------------------------------------------


@pytest.fixture
def strict_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts PyJWT's strict parses of a whole token (each checks every character)."""
    import jwt.api_jws

    calls: list[int] = []
    original = jwt.api_jws.PyJWS._load

    def counting(self: Any, token: Any) -> Any:
        calls.append(1)
        return original(self, token)

    monkeypatch.setattr(jwt.api_jws.PyJWS, "_load", counting)
    return calls


def test_a_fresh_token_is_parsed_strictly_once_and_a_known_one_not_again(
    strict_parses: list[int],
) -> None:
    checker = verifier(allow_untyped=True)
    issued = token()
    assert checker.verify(issued).user_id == USER_ID
    assert len(strict_parses) == 1
    checker.verify(issued)
    assert len(strict_parses) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "a.b",  # two segments
        "a.b.c.d",  # four
        "e30.e30.!!!!",  # not base64url
        "e30=== .e30.",  # too much padding, and a space
        "bm90IGpzb24.e30.",  # header is not JSON
        "WzFd.e30.",  # header is JSON, not an object
        "e30.e30.é",
    ],
)
def test_a_malformed_token_is_refused_before_any_parse_or_signature_work(
    bad: str, strict_parses: list[int]
) -> None:
    with pytest.raises(InvalidCredentials, match=r"^token refused: DecodeError$"):
        verifier().verify(bad)
    assert strict_parses == []


def test_the_cheap_header_read_agrees_with_pyjwt() -> None:
    import jwt

    from passgate.auth.jwt import unverified_header

    typed = ISSUER.token(USER_ID, header={"typ": "at+jwt", "kid": "k1"})
    head, _, rest = typed.partition(".")
    padded = head + "=" * (-len(head) % 4) + "." + rest  # as some issuers send it
    for issued in (token(), typed, padded):
        assert unverified_header(issued) == jwt.get_unverified_header(issued)
    assert unverified_header(typed)["typ"] == "at+jwt"
