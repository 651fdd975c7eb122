"""The self-service page in a real browser, signed in through the real Keycloak.

Chromium (Debian's, headless, driven by Playwright) signs people in at
Keycloak's own login page, changes passwords through the page against the
session's slapd, and is refused the way the page promises: each refusal on
its field with the rule and its limit, 429 with the time to wait, a locked
account with the helpdesk. axe-core checks every state; screenshots of the
main states go to ``tests/output/portal/``. Skipped locally when Chromium,
Playwright or axe-core is missing; a failure under ``CI=true``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from passgate.dev import seed
from passgate.dev.slapd import Slapd
from passgate.portal.session import TOKEN_COOKIE
from tests.conftest import Directory
from tests.keycloak.conftest import KeycloakRealm
from tests.keycloak.portal_site import (
    HELPDESK,
    JWT,
    SCREENSHOTS,
    ForeignSite,
    PortalSite,
    assert_accessible,
    browser_session,
    start_portal,
)

NEW_PASSWORD = "Brand-new-Passw0rd!"
PersonFactory = Callable[..., Any]
Page = Any  # playwright.sync_api.Page (Playwright is a test tool, imported when launched)
TIMEOUT_MS = 60_000  # a shared 2-core machine: Keycloak's pages can take seconds


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_session("Chromium for the page")


@pytest.fixture(scope="session")
def site(realm: KeycloakRealm, slapd: Slapd) -> Iterator[PortalSite]:
    yield from start_portal(realm, slapd)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Page]]:
    """A page in a fresh browser context (its own cookies); keyword arguments go to the context."""
    contexts: list[Any] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**{"locale": "en-GB", **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.visited = []  # every URL the main frame showed (the history)
        page.on(
            "framenavigated",
            lambda frame: page.visited.append(frame.url) if frame == page.main_frame else None,
        )
        page.requested = []  # every URL the browser asked for, redirects included
        page.on("request", lambda request: page.requested.append(request.url))
        page.console = []  # what the browser said, e.g. a CSP violation
        page.on("console", lambda message: page.console.append((message.text, page.url)))
        return page

    yield make
    for context in contexts:
        context.close()


SignedIn = Callable[[], tuple[Any, Page]]


@pytest.fixture
def signed_in(
    site: PortalSite, new_page: Callable[..., Page], add_person: PersonFactory
) -> SignedIn:
    """A new person, signed in through Keycloak: on the page, with the form."""

    def arrive() -> tuple[Any, Page]:
        person = add_person()
        page = new_page()
        sign_in(page, site, person)
        return person, page

    return arrive


def sign_in(page: Page, site: PortalSite, person: Any) -> None:
    """Open the page; Keycloak's own login form asks who you are; back on the page."""
    page.goto(site.page)
    page.wait_for_url(re.compile(r"/realms/passgate/protocol/openid-connect/auth"))
    page.fill("#username", person.uid)
    page.fill("#password", person.password)
    page.click("#kc-login")
    page.wait_for_url(site.page)
    assert page.locator("h1").inner_text() in ("Change your password", "Passwort ändern")


def submit(page: Page, current: str, new: str, confirm: str | None = None) -> Any:
    page.fill("#current", current)
    page.fill("#new", new)
    page.fill("#confirm", new if confirm is None else confirm)
    with page.expect_response(lambda r: r.url.endswith("/portal/change")) as answer:
        page.click("form.change button[type=submit]")
    page.wait_for_load_state()
    return answer.value


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_nothing_refilled(page: Page) -> None:
    """After a refusal the form comes back empty: no password is ever sent back."""
    html = page.content()
    for field in ("current", "new", "confirm"):
        assert page.locator(f"#{field}").input_value() == ""
    assert 'type="password" value=' not in html


def assert_signs_in_only_with(realm: KeycloakRealm, person: Any, new: str, old: str) -> None:
    assert realm.password_grant("password-portal", person.uid, new).status_code == 200
    refused = realm.password_grant("password-portal", person.uid, old)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_grant"


# -- the whole way, as a person does it --------------------------------------------------


def test_sign_in_change_sign_out_then_keycloak_takes_only_the_new_password(
    realm: KeycloakRealm,
    site: PortalSite,
    caplog: pytest.LogCaptureFixture,
    signed_in: SignedIn,
) -> None:
    caplog.set_level(logging.DEBUG)
    person, page = signed_in()

    # Tokens stay in the sealed HttpOnly cookie: not in the page, its scripts, or any URL.
    tokens = site.tokens_in(page.context.cookies())
    assert tokens is not None
    assert tokens.id_token
    html = page.content()
    for token in (tokens.access_token, tokens.id_token):
        assert token not in html
        assert all(token not in url for url in page.visited)
    assert not JWT.search(html)
    assert not any(JWT.search(url) or "token=" in url for url in page.visited)
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"

    # Every rule is listed before anything is typed; the hints tick as the person types.
    rules = page.locator("#rules li")
    assert "At least 10 characters" in rules.all_inner_texts()
    assert "Not one of your last 3 passwords (checked when you submit)" in rules.all_inner_texts()
    assert_accessible(page, "the form")
    page.fill("#current", person.password)
    page.fill("#new", "Sh0rt-pw")
    length = page.locator("#rules li[data-check=min_length]")
    assert "unmet" in (length.get_attribute("class") or "")
    assert "not met yet" in length.inner_text()
    page.fill("#new", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD[:-1])
    assert "unmet" in (page.locator("#confirm-hint").get_attribute("class") or "")
    page.fill("#confirm", NEW_PASSWORD)
    assert "met" in (length.get_attribute("class") or "").split()
    assert "met" in (page.locator("#confirm-hint").get_attribute("class") or "").split()
    page.click("button.toggle[aria-controls=new]")  # show/hide
    assert page.locator("#new").get_attribute("type") == "text"
    screenshot(page, "form-with-live-hints")
    page.click("button.toggle[aria-controls=new]")

    with page.expect_response(lambda r: r.url.endswith("/portal/change")) as answer:
        page.click("form.change button[type=submit]")
    assert answer.value.status == 303
    page.wait_for_url(site.url + "/portal/done")
    assert page.locator("h1").inner_text() == "Your password has been changed"
    assert answer.value.headers["cache-control"] == "no-store"
    assert_accessible(page, "the success page")
    screenshot(page, "changed")

    # Sign-out ends the Keycloak session too (RP-initiated logout by client_id, so no
    # token is in the URL; Keycloak asks the person to confirm), then comes back here.
    page.click("form[action$='/logout'] button[type=submit]")
    page.wait_for_url(re.compile(r"/protocol/openid-connect/logout"))
    page.click("#kc-logout")
    page.wait_for_url(re.compile(r"/portal/signed-out"))
    assert page.locator("h1").inner_text() == "You are signed out"
    assert_accessible(page, "the signed-out page")
    screenshot(page, "signed-out")
    page.click("text=Sign in to change your password")
    page.wait_for_url(re.compile(r"/realms/passgate/protocol/openid-connect/auth"))
    assert page.locator("#password").is_visible()  # asked again: no Keycloak session left

    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)
    # The page's CSP allowed all it uses: the browser reported no violation on it.
    ours = [text for text, url in page.console if url.startswith(site.url)]
    assert not [text for text in ours if "Content Security Policy" in text], ours
    # No token in the history nor in any URL the browser requested, sign-out included.
    assert not any(JWT.search(url) for url in page.visited)
    assert not [url for url in page.requested if JWT.search(url)]
    assert all(tokens.access_token not in url for url in page.requested)
    assert all(tokens.id_token not in url for url in page.requested)
    logged = caplog.text
    for secret in (person.password, NEW_PASSWORD, tokens.access_token, tokens.id_token):
        assert secret not in logged
    assert site.cookie_secret not in logged
    assert not JWT.search(logged)


def test_the_same_change_works_without_javascript(
    realm: KeycloakRealm,
    site: PortalSite,
    new_page: Callable[..., Page],
    add_person: PersonFactory,
) -> None:
    person = add_person()
    page = new_page(java_script_enabled=False)
    sign_in(page, site, person)
    assert page.locator("button.toggle").count() == 0  # the toggles are the script's
    assert "At least 10 characters" in page.locator("#rules").inner_text()

    answer = submit(page, person.password, "Sh0rt-pw9")
    assert answer.status == 400
    assert page.locator("#new-error").inner_text() == (
        "The new password must be at least 10 characters."
    )

    answer = submit(page, person.password, NEW_PASSWORD)
    assert answer.status == 303
    page.wait_for_url(site.url + "/portal/done")
    assert_signs_in_only_with(realm, person, NEW_PASSWORD, person.password)


# -- every refusal says which rule, on its field -----------------------------------------


def test_wrong_current_password_is_said_on_its_field(signed_in: SignedIn) -> None:
    _, page = signed_in()

    answer = submit(page, "not-the-password", NEW_PASSWORD)

    assert answer.status == 400
    assert page.locator("#current-error").inner_text() == "The current password is not correct."
    assert page.locator("#current").get_attribute("aria-invalid") == "true"
    assert "current-error" in (page.locator("#current").get_attribute("aria-describedby") or "")
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    assert_nothing_refilled(page)
    assert_accessible(page, "wrong current password")


def test_too_short_hinted_before_and_refused_with_the_limit_after(signed_in: SignedIn) -> None:
    person, page = signed_in()
    page.fill("#new", "Sh0rt-pw9")
    assert "unmet" in (
        page.locator("#rules li[data-check=min_length]").get_attribute("class") or ""
    )

    answer = submit(page, person.password, "Sh0rt-pw9")

    assert answer.status == 400
    message = "The new password must be at least 10 characters."
    assert page.locator("#new-error").inner_text() == message
    assert page.locator("#new").get_attribute("aria-invalid") == "true"
    assert "new-error" in (page.locator("#new").get_attribute("aria-describedby") or "")
    assert_nothing_refilled(page)
    assert_accessible(page, "too short")
    screenshot(page, "refused-too-short")


def test_a_password_from_history_is_refused_with_the_count(
    site: PortalSite, signed_in: SignedIn
) -> None:
    person, page = signed_in()
    assert submit(page, person.password, NEW_PASSWORD).status == 303
    page.click("text=Change it again")
    page.wait_for_url(site.page)

    answer = submit(page, NEW_PASSWORD, person.password)

    assert answer.status == 400
    assert page.locator("#new-error").inner_text() == (
        "The new password must not be one of your last 3 passwords."
    )
    assert_accessible(page, "in history")


def test_too_many_attempts_says_when_to_try_again(signed_in: SignedIn) -> None:
    person, page = signed_in()
    for _ in range(3):  # the limiter's default: 3 failures per person per window
        assert submit(page, "not-the-password", NEW_PASSWORD).status == 400

    answer = submit(page, person.password, NEW_PASSWORD)

    assert answer.status == 429
    assert int(answer.headers["retry-after"]) > 0
    text = page.locator("#status").inner_text()
    assert re.search(r"Too many attempts\. Please try again in 1[45] minutes\.", text), text
    assert_accessible(page, "too many attempts")
    screenshot(page, "too-many-attempts")


def test_a_locked_account_is_told_whom_to_ask(
    directory: Directory,
    signed_in: SignedIn,
) -> None:
    person, page = signed_in()
    directory.replace(person.dn, "pwdAccountLockedTime", "000001010000Z")  # locked for good

    answer = submit(page, person.password, NEW_PASSWORD)

    assert answer.status == 400
    text = page.locator("#status").inner_text()
    assert "Your account is locked, so the password cannot be changed here." in text
    assert f"Please contact {HELPDESK}." in text
    assert_accessible(page, "locked")


def test_an_expired_password_is_told_whom_to_ask(
    directory: Directory,
    signed_in: SignedIn,
) -> None:
    person, page = signed_in()
    # Now under a policy whose passwords last a day, changed long ago: OpenLDAP refuses the
    # bind, so passgate cannot change it as the person (5025).
    directory.replace(person.dn, "pwdPolicySubentry", seed.EXPIRING_POLICY_DN)
    directory.replace(person.dn, "pwdChangedTime", "20000101000000Z", relax=True)

    answer = submit(page, person.password, NEW_PASSWORD)

    assert answer.status == 400
    assert page.locator("#current-error").inner_text() == (
        f"Your current password has expired and cannot be used here. Please contact {HELPDESK}."
    )
    assert_accessible(page, "expired")


# -- forged posts, languages ----------------------------------------------------------------


def test_a_post_from_another_site_or_without_the_token_is_refused(
    realm: KeycloakRealm,
    site: PortalSite,
    signed_in: SignedIn,
) -> None:
    person, page = signed_in()

    # The signed-in browser's own cookies, but no anti-forgery token.
    forged = page.context.request.post(
        site.url + "/portal/change",
        form={"current": person.password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert forged.status == 403

    # A form on another origin, submitted in the same signed-in browser.
    foreign = ForeignSite(site.url + "/portal/change")
    try:
        page.goto(foreign.url)
        with page.expect_response(lambda r: r.url.endswith("/portal/change")) as answer:
            page.click("#go")
        assert answer.value.status == 403
        assert "not sent from this page" in page.content()
        assert_accessible(page, "refused forgery")
    finally:
        foreign.close()
    assert realm.password_grant("password-portal", person.uid, person.password).status_code == 200


def test_the_page_speaks_german_and_fits_a_phone(
    site: PortalSite, new_page: Callable[..., Page], add_person: PersonFactory
) -> None:
    person = add_person()
    page = new_page(
        locale="de-DE",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    sign_in(page, site, person)
    assert page.locator("html").get_attribute("lang") == "de"
    assert "Mindestens 10 Zeichen" in page.locator("#rules").inner_text()

    submit(page, person.password, "Kurz-pw99")

    assert page.locator("#new-error").inner_text() == (
        "Das neue Passwort muss mindestens 10 Zeichen lang sein."
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    assert_accessible(page, "German, phone")
    screenshot(page, "phone-german-refused")


def test_an_expired_sign_in_is_renewed_and_said(site: PortalSite, signed_in: SignedIn) -> None:
    """The access token outlived (here: removed) while typing: back from Keycloak, told why."""
    person, page = signed_in()
    page.context.clear_cookies(name=TOKEN_COOKIE)

    submit(page, person.password, NEW_PASSWORD)

    page.wait_for_url(site.page)  # through Keycloak and back, without asking again
    assert (
        "Your sign-in had expired, so nothing was changed." in page.locator("#status").inner_text()
    )
    assert_nothing_refilled(page)
