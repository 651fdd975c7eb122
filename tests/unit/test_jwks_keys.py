"""The JWKS key cache: refresh on unknown kid, rate limit, outage tolerance."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error

import pytest

from passgate.auth.keys import JwksKeys, JwksUnavailable, http_fetch, parse_jwks
from passgate.dev.tokens import DevIssuer
from passgate.errors import InvalidCredentials
from tests.jwks_server import JwksServer

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


# -- never on the event loop, one fetch at a time (issue 15, finding 5) --------------------


class HangingIssuer(FakeIssuer):
    """An issuer whose answer waits until the test lets it go."""

    def __init__(self, *keys: dict[str, object]) -> None:
        super().__init__(*keys)
        self.release = threading.Event()
        self.entered = threading.Event()

    def fetch(self, url: str, timeout: float) -> bytes:
        self.entered.set()
        self.release.wait(10)
        return super().fetch(url, timeout)


def test_concurrent_unknown_kids_share_one_fetch() -> None:
    issuer = HangingIssuer(ONE.jwk())
    keys = JwksKeys("https://kc/certs", fetch=issuer.fetch)
    found: list[object] = []
    waiting = [threading.Thread(target=lambda: found.append(keys.key_for("one"))) for _ in range(8)]
    for thread in waiting:
        thread.start()
    assert issuer.entered.wait(5)
    time.sleep(0.1)
    issuer.release.set()
    for thread in waiting:
        thread.join(5)
    assert len(found) == 8
    assert issuer.calls == 1


def test_the_event_loop_never_waits_for_a_fetch() -> None:
    """On the loop, key_for reads the snapshot; a fetch in flight is left to worker threads."""
    issuer = HangingIssuer(ONE.jwk())
    keys = JwksKeys("https://kc/certs", fetch=issuer.fetch)
    worker = threading.Thread(target=keys.key_for, args=("one",))
    worker.start()
    assert issuer.entered.wait(5)
    assert keys.would_fetch("two")  # a request for another unknown kid goes to a thread too

    async def on_the_loop() -> float:
        started = time.perf_counter()
        with pytest.raises(JwksUnavailable):
            keys.key_for("two")  # nothing cached yet: answered at once, not after the fetch
        return time.perf_counter() - started

    assert asyncio.run(on_the_loop()) < 0.5
    issuer.release.set()
    worker.join(5)
    assert issuer.calls == 1
    assert keys.key_for("one")


# -- transport: no redirects, nothing of the query in the log ----------------------------------


def test_a_redirect_is_a_fetch_failure(caplog: pytest.LogCaptureFixture) -> None:
    target = JwksServer([ONE.jwk()])
    redirecting = JwksServer([])
    redirecting.redirect_to = target.url
    try:
        with pytest.raises(urllib.error.HTTPError):
            http_fetch(redirecting.url, 5)
        keys = JwksKeys(redirecting.url + "?secret=q-value", fetch=http_fetch)
        with pytest.raises(JwksUnavailable):
            keys.key_for("one")
    finally:
        target.close()
        redirecting.close()
    assert target.hits == 0
    assert "cannot fetch the JWKS" in caplog.text
    assert "q-value" not in caplog.text
