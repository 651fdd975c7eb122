"""The self-service page without a browser: settings, words, cookies, headers, refusals.

The page itself, signed in through a real Keycloak in a real browser, is
tested in ``tests/keycloak/test_portal_browser.py``.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from passgate import errors as e
from passgate.api.components import Components
from passgate.api.passwords import password_field
from passgate.app import create_app
from passgate.config import PortalSettings, load_settings
from passgate.errors import ConfigurationError
from passgate.policy.model import DirectoryPolicy, EffectivePolicy, LocalPolicy
from passgate.portal import views
from passgate.portal.forms import normal_origin
from passgate.portal.messages import CATALOGUES, Messages, catalogues, negotiate
from passgate.portal.pages import Portal, read_passwords
from passgate.portal.session import TokenBox, Tokens
from tests.unit.test_settings import BASE

COOKIE_SECRET = "c" * 40
PORTAL: dict[str, Any] = {
    "portal_enabled": True,
    "portal_issuer_url": "http://127.0.0.1:9/realms/passgate",
    "portal_client_id": "password-portal",
    "portal_redirect_url": "http://127.0.0.1:8080/portal/callback",
    "portal_cookie_secret": COOKIE_SECRET,
}


def app_with(**overrides: Any) -> TestClient:
    keys = {"auth_public_key_file": None, "auth_jwks_url": "http://127.0.0.1:9/certs"}
    return TestClient(create_app(load_settings(**{**BASE, **keys, **overrides})))


def test_off_by_default() -> None:
    assert load_settings(**BASE).portal.enabled is False
    client = app_with()
    assert client.get("/portal/").status_code == 404
    assert client.get("/portal/login").status_code == 404


@pytest.mark.parametrize(
    "missing",
    ["portal_issuer_url", "portal_client_id", "portal_redirect_url", "portal_cookie_secret"],
)
def test_enabled_needs_its_oidc_settings(missing: str) -> None:
    values = {**BASE, **PORTAL}
    del values[missing]
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**values)
    assert f"PASSGATE_{missing.upper()}: required when PASSGATE_PORTAL_ENABLED=true" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("override", "variable", "words"),
    [
        ({"portal_cookie_secret": "short"}, "PASSGATE_PORTAL_COOKIE_SECRET", "at least 32 bytes"),
        ({"portal_issuer_url": "ftp://x/realms/a"}, "PASSGATE_PORTAL_ISSUER_URL", "http(s) URL"),
        (
            {"portal_redirect_url": "http://portal.example.org/portal/callback"},
            "PASSGATE_PORTAL_REDIRECT_URL",
            "only on loopback",
        ),
        (
            {"portal_redirect_url": "https://portal.example.org/elsewhere"},
            "PASSGATE_PORTAL_REDIRECT_URL",
            "/portal/callback",
        ),
        ({"portal_accent_colour": "red;}body{"}, "PASSGATE_PORTAL_ACCENT_COLOUR", "CSS colour"),
        ({"portal_logo_url": "http://x/logo.png"}, "PASSGATE_PORTAL_LOGO_URL", "https://"),
        ({"portal_scope": "profile"}, "PASSGATE_PORTAL_SCOPE", "openid"),
    ],
)
def test_bad_values_name_the_variable(override: dict[str, str], variable: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**{**BASE, **PORTAL, **override})
    assert variable in str(caught.value)
    assert words in str(caught.value)


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    settings = load_settings(
        **{**BASE, **PORTAL, "portal_client_secret": "client-s3cret-value"}
    ).portal
    shown = repr(settings) + str(settings)
    assert COOKIE_SECRET not in shown
    assert "client-s3cret-value" not in shown
    tokens = Tokens("eyJaccess.token.value", "eyJid.token.value")
    assert "eyJ" not in repr(tokens)
    assert COOKIE_SECRET not in repr(TokenBox(COOKIE_SECRET))
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**{**BASE, **PORTAL, "portal_cookie_secret": "tiny-secret-value"})
    assert "tiny-secret-value" not in str(caught.value)


def test_sealed_tokens_open_only_with_the_same_secret() -> None:
    box = TokenBox(COOKIE_SECRET)
    sealed = box.seal(Tokens("access-jwt", "id-jwt"))
    assert "access-jwt" not in sealed
    assert box.open(sealed) == Tokens("access-jwt", "id-jwt")
    assert TokenBox("d" * 40).open(sealed) is None
    assert box.open("not sealed") is None
    assert box.open(None) is None


def test_every_catalogue_has_every_english_key() -> None:
    english = set(catalogues()["en"])
    assert {"en", "de"} <= set(catalogues())
    for path in CATALOGUES.glob("*.json"):
        keys = set(json.loads(path.read_text(encoding="utf-8")))
        assert keys == english, f"{path.name}: missing {english - keys}, extra {keys - english}"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-CH, fr;q=0.9, de;q=0.7, en;q=0.5", "de"),
        ("en-GB,de;q=0.9", "en"),
        ("de;q=0, en", "en"),
        ("xx, *", "en"),
        ("de;q=abc", "en"),
        # RFC 9110: parameter names in any case, q after other parameters, q at most 1
        ("de;Q=0.1, en;q=0.5", "en"),
        ("de;level=1;q=0.2, en;q=0.5", "en"),
        ("de;q=inf, en;q=0.5", "en"),
        ("de;q=1.5, en;q=0.5", "en"),
    ],
)
def test_language_from_accept_language(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_durations_round_up() -> None:
    t = Messages("en")
    assert t.duration(1) == "1 second"
    assert t.duration(59) == "59 seconds"
    assert t.duration(61) == "2 minutes"
    assert t.duration(900) == "15 minutes"
    assert t.duration(3600) == "1 hour"
    assert Messages("de").duration(7200) == "2 Stunden"


POLICY = EffectivePolicy.of(
    LocalPolicy(min_uppercase=1, min_digits=2),
    DirectoryPolicy(source="cn=default", min_length=10, history=3, min_age_seconds=3600),
)


def test_rules_show_the_effective_policy() -> None:
    shown = views.rules(POLICY, Messages("en"))
    texts = [r.text for r in shown]
    assert "At least 10 characters" in texts
    assert "Not one of your last 3 passwords" in texts
    assert "Can be changed again 1 hour after the last change" in texts
    assert "At least 2 digit(s)" in texts
    checks = {r.check: r.limit for r in shown if r.check}
    assert checks == {
        "min_length": 10,
        "max_length": 128,
        "differs": None,
        "uppercase": 1,
        "digits": 2,
    }
    german = [r.text for r in views.rules(POLICY, Messages("de"))]
    assert "Mindestens 10 Zeichen" in german


@pytest.mark.parametrize(
    ("error", "field", "words"),
    [
        (e.IncorrectOldPassword(), "current", "The current password is not correct."),
        (
            e.PasswordPolicyRejected(
                e.PolicyReason.TOO_SHORT, message="The new password must be at least 10 characters."
            ),
            "new",
            "The new password must be at least 10 characters.",
        ),
        (e.PasswordExpired(), "current", "Please contact Service desk, ext. 4711."),
    ],
)
def test_refusals_land_on_their_field(error: e.PassgateError, field: str, words: str) -> None:
    refusal = views.refusal(error, POLICY, Messages("en"), "Service desk, ext. 4711")
    assert refusal.fields[field].endswith(words) or words in refusal.fields[field]
    assert refusal.status == 400


def test_refusals_in_german_keep_the_limit() -> None:
    error = e.PasswordPolicyRejected(e.PolicyReason.IN_HISTORY, message="English words.")
    refusal = views.refusal(error, POLICY, Messages("de"), "")
    assert refusal.fields["new"] == "Das neue Passwort darf keines Ihrer letzten 3 Passwörter sein."


def test_locked_and_too_many_say_what_to_do() -> None:
    t = Messages("en")
    locked = views.refusal(e.AccountLocked(), POLICY, t, "the IT desk")
    assert locked.general == [
        "Your account is locked, so the password cannot be changed here. "
        "Please contact the IT desk."
    ]
    too_many = views.refusal(e.TooManyAttempts(840), POLICY, t, "")
    assert too_many.status == 429
    assert too_many.retry_after == 840
    assert too_many.general == ["Too many attempts. Please try again in 14 minutes."]


def test_pages_send_their_headers_and_refuse_foreign_posts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = app_with(**PORTAL)
    page = client.get("/portal/signed-out", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert "Sie sind abgemeldet" in page.text
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "form-action 'self' http://127.0.0.1:9" in csp
    assert "'unsafe-inline'" not in csp
    cookie = page.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "path=/portal" in cookie.lower()
    caplog.set_level(logging.DEBUG)
    # No anti-forgery token: refused, whatever else the form says.
    refused = client.post(
        "/portal/change", data={"current": "Old-Passw0rd!", "new": "N3w-Passw0rd!x"}
    )
    assert refused.status_code == 403
    assert "not sent from this page" in refused.text
    # The session's own token, sent from another site: refused too.
    done = client.get("/portal/done", follow_redirects=False)  # not signed in
    assert done.status_code == 303
    foreign = client.post(
        "/portal/logout", data={"csrf": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "Old-Passw0rd!" not in caplog.text


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    client = app_with(**PORTAL)
    response = client.get("/portal/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login"
    theme = client.get("/portal/theme.css", headers={})
    assert "--pg-accent: #1f5fbf;" in theme.text
    assert client.get("/portal/static/portal.js").status_code == 200


def test_portal_settings_are_a_section() -> None:
    assert "PASSGATE_PORTAL_COOKIE_SECRET" in PortalSettings.variables()


def test_an_unexpected_failure_is_the_pages_own_500_and_logs_no_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the API's JSON: a page in the person's language, with the page's own headers."""

    secret = "Old-" + "Passw0rd!"  # not in any source line the traceback shows

    def broken(self: Portal, response: object) -> object:
        raise RuntimeError(f"a library quoting its input: {secret}")

    monkeypatch.setattr(Portal, "forget_tokens", broken)
    caplog.set_level(logging.DEBUG)
    client = app_with(**PORTAL)
    page = client.get("/portal/signed-out", headers={"Accept-Language": "de"})
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Bei uns ist etwas schiefgegangen" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unexpected RuntimeError" in caplog.text
    assert secret not in caplog.text
    assert secret not in page.text


def test_each_field_problem_has_its_own_words() -> None:
    """Worded from what passwords.password_field records (kind and reason), as the form sees it."""
    upload = UploadFile(io.BytesIO(b"N3w-Passw0rd!x"), filename="a.txt")
    cases: list[tuple[object, str]] = [
        (None, "Please fill in this field."),
        ("", "Please fill in this field."),
        (upload, "Please type this field in as text."),
        ("\ud800-Passw0rd!x", "Please type this field in as text."),
        ("N3w-Passw0rd!\nx", "Control characters, such as a line break, are not allowed."),
        ("N3w-Passw0rd!\x00x", "Control characters, such as a line break, are not allowed."),
        ("Sh0rt!", "The new password must be at least 10 characters."),
    ]
    for value, words in cases:
        problems: list[e.FieldProblem] = []
        assert password_field(value, "NewPassword", problems, min_length=10) is None
        refusal = views.refusal(e.ValidationFailed(problems), POLICY, Messages("en"), "")
        assert refusal.fields == {"new": words}, value
    german = views.problem_message(
        "new",
        e.FieldProblem("NewPassword", "must be a string", e.ProblemKind.INVALID_TYPE),
        POLICY,
        Messages("de"),
    )
    assert german == "Bitte geben Sie dieses Feld als Text ein."


def form_parts() -> Components:
    """Just what read_passwords reads of the app's parts: the local policy's lengths."""
    service = SimpleNamespace(local_policy=LocalPolicy())
    return cast(Components, SimpleNamespace(service=service))


@pytest.mark.parametrize(
    ("confirm", "words"),
    [
        (None, "Please fill in this field."),
        ("", "Please fill in this field."),
        ("N3w-Passw0rd!y", "The two new passwords are not the same."),
        (
            UploadFile(io.BytesIO(b"N3w-Passw0rd!x"), filename="b.txt"),
            "Please type this field in as text.",
        ),
    ],
)
def test_the_confirmation_is_refused_on_the_confirm_field(confirm: object, words: str) -> None:
    fields: list[tuple[str, str | UploadFile]] = [
        ("current", "Old-Passw0rd!"),
        ("new", "N3w-Passw0rd!x"),
    ]
    if confirm is not None:
        fields.append(("confirm", cast("str | UploadFile", confirm)))
    with pytest.raises(e.ValidationFailed) as caught:
        read_passwords(FormData(fields), form_parts())
    assert "N3w-Passw0rd" not in str(caught.value) + repr(caught.value.problems)
    refusal = views.refusal(caught.value, POLICY, Messages("en"), "")
    assert refusal.fields == {"confirm": words}


def test_the_same_passwords_twice_are_read() -> None:
    form = FormData(
        [("current", "Old-Passw0rd!"), ("new", "N3w-Passw0rd!x"), ("confirm", "N3w-Passw0rd!x")]
    )
    passwords = read_passwords(form, form_parts())
    assert passwords.new.get_secret_value() == "N3w-Passw0rd!x"


@pytest.mark.parametrize(
    ("sent", "normal"),
    [
        ("https://pg.example.org", "https://pg.example.org"),
        ("HTTPS://PG.Example.ORG", "https://pg.example.org"),
        ("https://pg.example.org:443", "https://pg.example.org"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://pg.example.org:80", "https://pg.example.org:80"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("null", None),
        ("", None),
        ("ftp://pg.example.org", None),
        ("https://pg.example.org:99999", None),
        ("https://pg.example.org:x", None),
    ],
)
def test_origins_are_compared_normalised(sent: str, normal: str | None) -> None:
    assert normal_origin(sent) == normal


def test_a_starlette_http_exception_keeps_its_status_as_the_pages_problem_page(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refused(self: Portal, request: object) -> object:
        raise HTTPException(400, detail="a library's detail")

    monkeypatch.setattr(Portal, "done", refused)
    caplog.set_level(logging.DEBUG)
    client = app_with(**PORTAL)
    page = client.get("/portal/done", headers={"Accept-Language": "de"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "Das Formular konnte nicht gelesen werden." in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "a library's detail" not in caplog.text + page.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/portal/nope", "/portal/static/nope.js", "/portal/done/"])
def test_no_such_page_is_the_pages_own_404(path: str) -> None:
    page = app_with(**PORTAL).get(path, follow_redirects=False)
    assert page.status_code == 404
    assert "location" not in page.headers
    assert "There is no such page here." in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_httpx2_errors_count_as_the_issuer_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authlib prefers httpx2 when it is installed: its errors must not become 500s."""
    from passgate.portal import signin

    class Httpx2Error(Exception):
        pass

    monkeypatch.setitem(sys.modules, "httpx2", SimpleNamespace(HTTPError=Httpx2Error))
    assert Httpx2Error in signin._transport_errors()
    monkeypatch.setitem(sys.modules, "httpx2", None)  # not installed: import fails
    assert signin._transport_errors() == (httpx.HTTPError,)
