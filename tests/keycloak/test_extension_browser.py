"""Keycloak's own "update password", for LDAP users, done by passgate's extension, in Chromium.

The session's Keycloak runs with the extension's jar in ``providers/``
(``tests/keycloak/conftest.py``); here its required action is registered and
pointed at a passgate in a thread (``extension_site.py``). People sign in at
Keycloak's own login page with a pending Update Password; the extension's
form asks for the current password and the new one twice, and passgate's
answer is its message: the directory's rule with its limit, a wrong current
password on its field, the limiter's wait, a locked account's and an expired
password's helpdesk, passgate being down. The directory is then read as its admin: the new
password was set by the person's own bind (``modifiersName``) and went into
``pwdHistory``. axe-core checks the form; Keycloak's log never holds a
password or the API key. Skipped locally without Keycloak, Maven, Chromium
or axe-core; a failure under ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import ldap3
import pytest

from passgate.dev import seed
from passgate.dev.keycloak import Keycloak
from passgate.dev.slapd import Slapd
from tests.conftest import RELAX, Directory
from tests.keycloak.conftest import KeycloakRealm, claims
from tests.keycloak.extension_site import (
    ACTION,
    API_KEY_NAME,
    ExtensionSite,
    FakePassgate,
    SignIn,
    start_extension_site,
)
from tests.keycloak.portal_site import (
    HELPDESK,
    SCREENSHOTS,
    assert_accessible,
    browser_session,
)

NEW_PASSWORD = "Brand-new-Passw0rd!"
SECOND_PASSWORD = "Second-Passw0rd!"
TOO_SHORT = "Sh0rt-pw9"  # 9 characters: passgate's 8 are met, the directory's 10 are not
# The person's address: a private one (RFC 1918), since the realm's sslRequired=external
# would ask a public address for HTTPS.
BROWSER_ADDRESS = "10.99.0.7"
PersonFactory = Callable[..., Any]
Page = Any  # playwright.sync_api.Page
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_session("Chromium for Keycloak")


@pytest.fixture(scope="module")
def site(
    realm: KeycloakRealm, slapd: Slapd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExtensionSite]:
    yield from start_extension_site(realm, slapd, tmp_path_factory.mktemp("extension"))


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Page]]:
    """A page in a fresh context; Keycloak (``--proxy-headers=xforwarded``) sees BROWSER_ADDRESS."""
    contexts: list[Any] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(
            **{
                "locale": "en-GB",
                "extra_http_headers": {"X-Forwarded-For": BROWSER_ADDRESS},
                **options,
            }
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# -- helpers -------------------------------------------------------------------------------


def sign_in(page: Page, site: ExtensionSite, uid: str, password: str) -> SignIn:
    """Keycloak's own login page; then the extension's form (its required action) appears."""
    request = site.sign_in()
    page.goto(request.url)
    page.fill("#username", uid)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_selector("#password-current")
    return request


AtTheForm = Callable[[], tuple[Any, Page, SignIn]]


@pytest.fixture
def at_the_form(
    site: ExtensionSite, new_page: Callable[..., Page], add_person: PersonFactory
) -> AtTheForm:
    """A new LDAP person with "update password" required, signed in: at the extension's form."""

    def arrive() -> tuple[Any, Page, SignIn]:
        person = add_person()
        site.require(person.uid)
        page = new_page()
        return person, page, sign_in(page, site, person.uid, person.password)

    return arrive


def submit(page: Page, current: str, new: str, confirm: str | None = None) -> None:
    page.fill("#password-current", current)
    page.fill("#password-new", new)
    page.fill("#password-confirm", new if confirm is None else confirm)
    page.click("#kc-submit")
    page.wait_for_load_state()


def field_error(page: Page, name: str) -> str:
    text: str = page.locator(f"#input-error-{name}").inner_text()
    return text.strip()


def alert(page: Page) -> str:
    text: str = page.locator(".kc-feedback-text").inner_text()
    return text.strip()


def assert_form_empty(page: Page, *passwords: str) -> None:
    """After a refusal the fields come back empty: no password is sent back to the browser."""
    for name in ("password-current", "password-new", "password-confirm"):
        assert page.locator(f"#{name}").input_value() == ""
    html = page.content()
    for password in passwords:
        assert password not in html


def change_as_user(slapd: Slapd, dn: str, old: str, new: str) -> None:
    """A change made elsewhere (the user's own Password Modify), so the history has an entry."""
    server = ldap3.Server(slapd.host, port=slapd.port, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=dn, password=old.encode(), raise_exceptions=True)
    conn.bind()
    try:
        conn.extend.standard.modify_password(user=dn, old_password=old, new_password=new)
    finally:
        conn.unbind()


def history(directory: Directory, dn: str) -> int:
    return len(directory.read(dn, "pwdHistory").get("pwdHistory", []))


def assert_not_logged(server: Keycloak, *secrets_: str) -> None:
    """Keycloak's whole log (its stdout and stderr) holds none of them."""
    logged = "".join(p.read_text(errors="replace") for p in server.log_files() if p.exists())
    assert logged, "Keycloak's log is empty: the check would prove nothing"
    for secret in secrets_:
        assert secret not in logged


def screenshot(page: Page, name: str) -> None:
    folder = SCREENSHOTS.parent / "keycloak-extension"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


# -- the whole way ---------------------------------------------------------------------------


def test_an_ldap_user_gets_the_exact_rule_in_keycloaks_flow_then_changes_by_their_own_bind(
    site: ExtensionSite,
    new_page: Callable[..., Page],
    add_person: PersonFactory,
    directory: Directory,
    slapd: Slapd,
    keycloak_server: Keycloak,
) -> None:
    person = add_person()
    first = person.password
    change_as_user(slapd, person.dn, first, SECOND_PASSWORD)  # `first` is now in the history
    before = history(directory, person.dn)
    assert before == 1
    site.require(person.uid)  # Keycloak's own UPDATE_PASSWORD, as an admin sets it

    page = new_page()
    request = sign_in(page, site, person.uid, SECOND_PASSWORD)
    assert page.locator("#kc-page-title").inner_text().strip() == "Change your password"
    assert site.pending(person.uid) == [ACTION]  # Keycloak's action became the extension's
    assert_accessible(page, "the form")
    screenshot(page, "form")

    # Checked in Keycloak, before passgate is asked.
    submit(page, SECOND_PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert field_error(page, "password-confirm") == "The two new passwords are not the same."
    assert site.audit(person.user_id) == []

    submit(page, SECOND_PASSWORD, TOO_SHORT)
    assert field_error(page, "password-new") == "The new password must be at least 10 characters."
    assert page.locator("#password-new").get_attribute("aria-invalid") == "true"
    assert "input-error-password-new" in (
        page.locator("#password-new").get_attribute("aria-describedby") or ""
    )
    assert "Could not modify attribute" not in page.content()
    assert_form_empty(page, SECOND_PASSWORD, TOO_SHORT)
    assert_accessible(page, "too short")
    screenshot(page, "refused-too-short")

    submit(page, SECOND_PASSWORD, first)
    assert field_error(page, "password-new") == (
        "The new password must not be one of your last 3 passwords."
    )
    assert_accessible(page, "in history")

    submit(page, SECOND_PASSWORD, NEW_PASSWORD)
    page.wait_for_url(re.compile(re.escape(site.landing.url) + r"\?"))
    tokens = site.redeem(page.url, request)
    assert tokens.status_code == 200, tokens.text
    assert claims(tokens.json()["access_token"])["passgate_user_id"] == person.user_id
    assert site.pending(person.uid) == []

    # The directory holds the new password, set by the person's own bind, history kept.
    modifier = directory.read(person.dn, "modifiersName")["modifiersName"]
    modifier = modifier[0] if isinstance(modifier, list) else modifier
    assert str(modifier).lower() == person.dn.lower()
    assert history(directory, person.dn) == before + 1
    assert directory.can_bind(person.dn, NEW_PASSWORD)
    assert not directory.can_bind(person.dn, SECOND_PASSWORD)

    # passgate saw the extension's key and the person's own address, not Keycloak's.
    audit = site.audit(person.user_id)
    assert [(a["outcome"], a["reason"]) for a in audit] == [
        (5024, "passwordTooShort"),
        (5024, "passwordInHistory"),
        (200, None),
    ]
    assert {a["caller"] for a in audit} == {API_KEY_NAME}
    assert {a["client_address"] for a in audit} == {BROWSER_ADDRESS}

    assert_not_logged(
        keycloak_server, first, SECOND_PASSWORD, TOO_SHORT, NEW_PASSWORD, site.api_key
    )


# -- refusals ----------------------------------------------------------------------------------


def test_a_wrong_current_password_is_said_on_its_field_and_the_limiter_holds(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
    keycloak_server: Keycloak,
) -> None:
    person, page, _ = at_the_form()

    submit(page, "not-the-password", NEW_PASSWORD)
    assert field_error(page, "password-current") == "The current password is not correct."
    assert page.locator("#password-current").get_attribute("aria-invalid") == "true"
    assert_form_empty(page, "not-the-password", NEW_PASSWORD)
    assert_accessible(page, "wrong current password")
    for _ in range(2):  # passgate's limiter: 3 failures per person per window
        submit(page, "not-the-password", NEW_PASSWORD)

    submit(page, person.password, NEW_PASSWORD)

    text = alert(page)
    assert re.fullmatch(
        r"Too many attempts\. Please try again in 1[45] minutes\. Your password was not changed\.",
        text,
    ), text
    assert_accessible(page, "too many attempts")
    screenshot(page, "too-many-attempts")
    assert site.pending(person.uid) == [ACTION]
    assert directory.can_bind(person.dn, person.password)
    assert [a["outcome"] for a in site.audit(person.user_id)] == [5023, 5023, 5023, 4029]
    assert_not_logged(keycloak_server, person.password, NEW_PASSWORD, "not-the-password")


def test_the_last_straw_guard_refuses_before_any_bind_that_could_lock_the_account(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
) -> None:
    person, page, _ = at_the_form()
    # Four failures made elsewhere since the sign-in; the policy locks at five.
    now = dt.datetime.now(dt.UTC)
    failures = [(now - dt.timedelta(seconds=i)).strftime("%Y%m%d%H%M%S.%fZ") for i in range(4)]
    assert directory.admin.modify(
        person.dn,
        {"pwdFailureTime": [(ldap3.MODIFY_REPLACE, failures)]},
        controls=[(RELAX, True, None)],
    ), directory.admin.result

    submit(page, person.password, NEW_PASSWORD)

    assert alert(page).startswith("Too many attempts. Please try again in ")
    entry = directory.read(person.dn, "pwdFailureTime", "pwdAccountLockedTime")
    assert len(entry["pwdFailureTime"]) == 4  # no bind was tried
    assert "pwdAccountLockedTime" not in entry
    assert site.pending(person.uid) == [ACTION]


def test_the_longest_length_and_the_minimum_age_are_said_with_their_limits(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
) -> None:
    person, page, _ = at_the_form()

    directory.replace(person.dn, "pwdPolicySubentry", seed.MAX_LENGTH_POLICY_DN)
    submit(page, person.password, "A-much-too-long-Passw0rd!")  # 25 > 20
    assert field_error(page, "password-new") == ("The new password must be at most 20 characters.")

    # The password was changed a minute ago; this policy wants an hour between changes.
    directory.replace(person.dn, "pwdPolicySubentry", seed.MIN_AGE_POLICY_DN)
    changed = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y%m%d%H%M%SZ")
    directory.replace(person.dn, "pwdChangedTime", changed, relax=True)
    submit(page, person.password, NEW_PASSWORD)
    assert field_error(page, "password-new") == (
        "Your password was changed too recently: it can be changed again 1 hour after the "
        "last change."
    )
    assert site.pending(person.uid) == [ACTION]
    assert directory.can_bind(person.dn, person.password)


def test_a_locked_account_is_told_whom_to_ask(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
) -> None:
    person, page, _ = at_the_form()
    directory.replace(person.dn, "pwdAccountLockedTime", "000001010000Z")  # locked for good

    submit(page, person.password, NEW_PASSWORD)

    assert alert(page) == (
        "Your account is locked, so the password cannot be changed here. "
        f"Please contact {HELPDESK}."
    )
    assert_accessible(page, "locked")
    assert site.pending(person.uid) == [ACTION]


def test_an_expired_password_is_said_on_its_field_with_whom_to_ask(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
) -> None:
    person, page, _ = at_the_form()
    # Now under a policy whose passwords last a day, changed long ago: OpenLDAP refuses the
    # bind, so passgate cannot change it as the person (5025).
    directory.replace(person.dn, "pwdPolicySubentry", seed.EXPIRING_POLICY_DN)
    directory.replace(person.dn, "pwdChangedTime", "20000101000000Z", relax=True)

    submit(page, person.password, NEW_PASSWORD)

    assert field_error(page, "password-current") == (
        f"Your current password has expired and cannot be used here. Please contact {HELPDESK}."
    )
    assert_accessible(page, "expired")
    assert site.pending(person.uid) == [ACTION]


# -- passgate down ------------------------------------------------------------------------------


def test_with_passgate_down_nothing_changes_and_the_action_stays_pending(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    directory: Directory,
    keycloak_server: Keycloak,
    refusing_port: int,
) -> None:
    person, page, request = at_the_form()
    site.configure(passgate_url=f"http://127.0.0.1:{refusing_port}")  # nobody listens there
    try:
        submit(page, person.password, NEW_PASSWORD)

        assert alert(page) == (
            "The password service cannot be reached right now, so your password was not "
            "changed. Please try again later."
        )
        assert_form_empty(page, person.password, NEW_PASSWORD)
        assert_accessible(page, "passgate down")
        screenshot(page, "passgate-down")
        assert site.pending(person.uid) == [ACTION]
        assert directory.can_bind(person.dn, person.password)
        assert not directory.can_bind(person.dn, NEW_PASSWORD)
    finally:
        site.configure()

    # passgate is back: the same form, still pending, now finishes the sign-in.
    submit(page, person.password, NEW_PASSWORD)
    page.wait_for_url(re.compile(re.escape(site.landing.url) + r"\?"))
    assert site.redeem(page.url, request).status_code == 200
    assert directory.can_bind(person.dn, NEW_PASSWORD)
    assert_not_logged(keycloak_server, person.password, NEW_PASSWORD, site.api_key)


# -- answers that do not say what happened ---------------------------------------------------

SUCCESS = {"status": True, "data": {"passwordChanged": "OK"}}
UNEXPECTED = (
    "The password service gave an unexpected answer, so your password may not have been "
    f"changed. Please try again later or contact {HELPDESK}."
)
OUTCOME_UNKNOWN = (
    "The password service did not answer, so it is not known whether your password was "
    "changed. Please first try to sign in again with your new password; if that fails, "
    f"sign in with your current password and try again, or contact {HELPDESK}."
)
MAYBE_NOT_CHANGED = (
    "The directory could not be reached or could not confirm the change, so your password "
    "may not have been changed. Please try to sign in again with your new password before "
    f"you try again here, or contact {HELPDESK}."
)
NOT_HERE = f"Your password cannot be changed here right now. Please contact {HELPDESK}."


def passgate_error(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "error": {"code": code, "message": message, "details": []}}


@pytest.fixture
def fake_passgate(site: ExtensionSite) -> Iterator[FakePassgate]:
    """A stand-in for passgate the action is pointed at; the real one again afterwards."""
    fake = FakePassgate()
    site.configure(passgate_url=fake.url, passgate_timeoutSeconds="1")
    try:
        yield fake
    finally:
        site.configure()
        fake.close()


def test_an_answer_that_does_not_confirm_the_change_keeps_the_action_and_says_so(
    site: ExtensionSite,
    at_the_form: AtTheForm,
    fake_passgate: FakePassgate,
    directory: Directory,
    keycloak_server: Keycloak,
) -> None:
    person, page, request = at_the_form()
    cases: list[tuple[str, int, bytes | dict[str, Any], str, float, str]] = [
        # a wrong URL whose server answers 200 with a page: nothing changed
        ("200, HTML", 200, b"<html><body>Welcome</body></html>", "text/html", 0, UNEXPECTED),
        ("200, other JSON", 200, {"status": True, "data": {}}, "application/json", 0, UNEXPECTED),
        # passgate got the request and went on; the extension stopped waiting
        ("timeout", 200, SUCCESS, "application/json", 4, OUTCOME_UNKNOWN),
        # 5030 also covers a change whose outcome passgate could not confirm
        (
            "503/5030",
            503,
            passgate_error(5030, "Directory unavailable"),
            "application/json",
            0,
            MAYBE_NOT_CHANGED,
        ),
        # a wrong path: passgate's own 404, or another server's
        ("404/4004", 404, passgate_error(4004, "Not found"), "application/json", 0, NOT_HERE),
        ("404, HTML", 404, b"<html><body>Not Found</body></html>", "text/html", 0, NOT_HERE),
    ]
    for label, status, body, content_type, delay, said in cases:
        fake_passgate.answer(status, body, content_type=content_type, delay=delay)
        calls = fake_passgate.calls
        submit(page, person.password, NEW_PASSWORD)
        assert fake_passgate.calls == calls + 1, label
        assert site.pending(person.uid) == [ACTION], label  # the sign-in did not finish
        assert alert(page) == said, label
        assert_form_empty(page, person.password, NEW_PASSWORD)
    assert_accessible(page, "outcome unknown")
    screenshot(page, "not-confirmed")
    assert directory.can_bind(person.dn, person.password)  # nothing reached the directory

    logged = "".join(p.read_text(errors="replace") for p in keycloak_server.log_files())
    assert "answered a change with HTTP 200 that is not passgate's success" in logged
    assert "its outcome is unknown" in logged
    assert "HTTP 404, code 4004: check passgate.url" in logged
    assert "HTTP 404, code 0: check passgate.url" in logged

    site.configure()  # the real passgate: the same form, still pending, finishes the sign-in
    submit(page, person.password, NEW_PASSWORD)
    page.wait_for_url(re.compile(re.escape(site.landing.url) + r"\?"))
    assert site.redeem(page.url, request).status_code == 200
    assert directory.can_bind(person.dn, NEW_PASSWORD)
    assert_not_logged(keycloak_server, person.password, NEW_PASSWORD, site.api_key)


def test_an_unknown_outcome_is_said_in_german(
    site: ExtensionSite,
    fake_passgate: FakePassgate,
    new_page: Callable[..., Page],
    add_person: PersonFactory,
) -> None:
    person = add_person()
    site.require(person.uid)
    page = new_page(locale="de-DE")
    sign_in(page, site, person.uid, person.password)

    fake_passgate.answer(200, SUCCESS, delay=4)
    submit(page, person.password, NEW_PASSWORD)
    assert alert(page) == (
        "Der Passwortdienst hat nicht geantwortet, daher ist unbekannt, ob Ihr Passwort "
        "geändert wurde. Bitte melden Sie sich zuerst erneut mit Ihrem neuen Passwort an; "
        "wenn das nicht gelingt, mit Ihrem aktuellen, und versuchen Sie es dann noch einmal, "
        f"oder wenden Sie sich an {HELPDESK}."
    )
    fake_passgate.answer(503, passgate_error(5030, "Directory unavailable"))
    submit(page, person.password, NEW_PASSWORD)
    assert alert(page) == (
        "Das Verzeichnis war nicht erreichbar oder konnte die Änderung nicht bestätigen, "
        "daher wurde Ihr Passwort möglicherweise nicht geändert. Bitte versuchen Sie zuerst, "
        "sich mit Ihrem neuen Passwort erneut anzumelden, bevor Sie es hier noch einmal "
        f"versuchen, oder wenden Sie sich an {HELPDESK}."
    )
    fake_passgate.answer(200, b"<html></html>", content_type="text/html")
    submit(page, person.password, NEW_PASSWORD)
    assert alert(page) == (
        "Der Passwortdienst hat unerwartet geantwortet, daher wurde Ihr Passwort "
        "möglicherweise nicht geändert. Bitte versuchen Sie es später erneut oder wenden Sie "
        f"sich an {HELPDESK}."
    )
    assert site.pending(person.uid) == [ACTION]


# -- languages, and who keeps Keycloak's own action ------------------------------------------


def test_the_form_and_the_rule_speak_german(
    site: ExtensionSite, new_page: Callable[..., Page], add_person: PersonFactory
) -> None:
    person = add_person()
    site.require(person.uid)
    page = new_page(locale="de-DE")
    sign_in(page, site, person.uid, person.password)
    assert page.locator("#kc-page-title").inner_text().strip() == "Passwort ändern"
    assert page.locator("label[for=password-current]").inner_text().strip() == (
        "Aktuelles Passwort"
    )

    submit(page, person.password, TOO_SHORT)

    assert field_error(page, "password-new") == (
        "Das neue Passwort muss mindestens 10 Zeichen lang sein."
    )
    assert page.locator("html").get_attribute("lang") == "de"
    assert_accessible(page, "German, too short")
    screenshot(page, "german-too-short")


def test_a_user_not_from_ldap_keeps_keycloaks_own_action(
    site: ExtensionSite, realm: KeycloakRealm, new_page: Callable[..., Page]
) -> None:
    username = "local-" + secrets.token_hex(4)
    password = "Local-Passw0rd-" + secrets.token_hex(4)
    realm.admin(
        "POST",
        "/users",
        {
            "username": username,
            "enabled": True,
            "email": f"{username}@example.org",
            "firstName": "Local",
            "lastName": "Person",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
            "requiredActions": [ACTION],  # even the extension's, given by mistake
        },
    )
    page = new_page()
    page.goto(site.sign_in().url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#kc-login")

    page.wait_for_selector("#password-new")  # Keycloak's own form: no current password
    assert page.locator("#password-current").count() == 0
    assert site.pending(username) == ["UPDATE_PASSWORD"]
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    page.click("#kc-submit")
    page.wait_for_url(re.compile(re.escape(site.landing.url) + r"\?"))
    assert realm.password_grant("password-portal", username, NEW_PASSWORD).status_code == 200
