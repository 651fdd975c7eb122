"""The JWKS key cache: refresh on unknown kid, rate limit, outage tolerance."""

from __future__ import annotations

import json

import pytest

from passgate.auth.keys import JwksKeys, JwksUnavailable, parse_jwks
from passgate.dev.tokens import DevIssuer
from passgate.errors import InvalidCredentials

ONE = DevIssuer(kid="one")
TWO = DevIssuer(kid="two")


class FakeIssuer:
    def __init__(self, *keys: dict[str, object]) -> None:
        self.keys = list(keys)
        self.calls = 0
        self.down = False

    def fetch(self, url: str, timeout: float) -> bytes:
        self.calls += 1
        if self.down:
            raise OSError("connection refused")
        return json.dumps({"keys": self.keys}).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(issuer: FakeIssuer, clock: Clock, **kwargs: float) -> JwksKeys:
    return JwksKeys("https://kc/certs", fetch=issuer.fetch, clock=clock, **kwargs)


def test_keys_are_fetched_once_and_cached() -> None:
    issuer, clock = FakeIssuer(ONE.jwk()), Clock()
    keys = make(issuer, clock)
    first = keys.key_for("one")
    assert keys.key_for("one") is first
    assert first.algorithms == ["RS256"]
    assert issuer.calls == 1


def test_unknown_kid_triggers_a_refresh_rate_limited() -> None:
    issuer, clock = FakeIssuer(ONE.jwk()), Clock()
    keys = make(issuer, clock, min_refresh_interval=30)
    keys.key_for("one")
    issuer.keys.append(TWO.jwk())
    with pytest.raises(InvalidCredentials):
        keys.key_for("two")  # too soon after the last fetch
    for i in range(50):
        with pytest.raises(InvalidCredentials):
            keys.key_for(f"made-up-{i}")
    assert issuer.calls == 1
    clock.now += 31
    assert keys.key_for("two").algorithms == ["RS256"]
    assert issuer.calls == 2


def test_whole_set_refreshed_after_max_age() -> None:
    issuer, clock = FakeIssuer(ONE.jwk()), Clock()
    keys = make(issuer, clock, max_age=600)
    keys.key_for("one")
    clock.now += 601
    keys.key_for("one")
    assert issuer.calls == 2


def test_cached_keys_survive_an_outage() -> None:
    issuer, clock = FakeIssuer(ONE.jwk()), Clock()
    keys = make(issuer, clock, max_age=600)
    keys.key_for("one")
    issuer.down = True
    clock.now += 601
    assert keys.key_for("one")
    assert issuer.calls == 2


def test_never_fetched_is_unavailable_not_unauthorized() -> None:
    issuer, clock = FakeIssuer(ONE.jwk()), Clock()
    issuer.down = True
    keys = make(issuer, clock)
    with pytest.raises(JwksUnavailable):
        keys.key_for("one")


def test_token_without_kid_uses_the_only_key() -> None:
    keys = make(FakeIssuer(ONE.jwk()), Clock())
    assert keys.key_for(None)


def test_token_without_kid_is_refused_when_several_keys() -> None:
    keys = make(FakeIssuer(ONE.jwk(), TWO.jwk()), Clock())
    with pytest.raises(InvalidCredentials):
        keys.key_for(None)


def test_huge_kid_is_refused_without_a_fetch() -> None:
    issuer = FakeIssuer(ONE.jwk())
    with pytest.raises(InvalidCredentials):
        make(issuer, Clock()).key_for("k" * 1000)
    assert issuer.calls == 0


def test_parse_skips_encryption_symmetric_and_broken_keys() -> None:
    enc = {**TWO.jwk(), "use": "enc", "alg": "RSA-OAEP"}
    oct_key = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    broken = {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}
    wrong_alg = {**TWO.jwk(), "kid": "hs", "alg": "HS256"}
    keys = parse_jwks({"keys": [ONE.jwk(), enc, oct_key, broken, wrong_alg, "junk"]})
    assert set(keys) == {"one"}


def test_parse_without_alg_allows_the_rsa_family() -> None:
    jwk = {k: v for k, v in ONE.jwk().items() if k != "alg"}
    assert "PS256" in parse_jwks({"keys": [jwk]})["one"].algorithms


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"nokeys": []}, "x"])
def test_parse_refuses_non_jwks(document: object) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        parse_jwks(document)
