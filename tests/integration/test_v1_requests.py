"""Validation, authentication, authorization, their order, and body media types."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passgate.dev.tokens import DevIssuer
from tests.conftest import Directory
from tests.forge import ALWAYS_REFUSED, forged_tokens
from tests.integration.helpers import assert_error, change, user_token

NEW = "Brand-N3w-Passw0rd!"
VALID_ID = "a" * 24


def details(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    body = assert_error(response, 400, 1001, "Validation failed")
    return list(body["error"]["details"])


# -- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "user_id",
    [
        "a" * 23,
        "a" * 25,
        "g" * 24,
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "*" * 24,
        "a%2A" + "a" * 20,
        "a" * 24 + "%0A",  # Python's $ matches before a final line feed
        "%0A" + "a" * 24,
    ],
)
def test_bad_user_id(client: TestClient, issuer: DevIssuer, user_id: str) -> None:
    token = issuer.token("helpdesk", roles=["password-admin"])
    response = change(client, user_id, "Old-Passw0rd!", NEW, token=token)
    assert {"field": "userId", "reason": "must be 24 hexadecimal characters"} in details(response)


def test_a_line_feed_after_a_real_user_id_is_refused_and_changes_nothing(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    """The directory ignores the line feed when it matches: the entry would be found."""
    user = directory.add_user()
    admin = issuer.token("helpdesk", roles=["password-admin"])
    for token in (admin, user_token(issuer, user.user_id + "\n")):
        response = change(client, user.user_id + "%0A", user.password, NEW, token=token)
        assert response.status_code == 400, response.text
        assert {"field": "userId", "reason": "must be 24 hexadecimal characters"} in details(
            response
        )
    policy = client.get(
        "/v1/password-policy",
        params={"userId": user.user_id + "\n"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert policy.status_code == 400, policy.text
    assert directory.can_bind(user.dn, user.password)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, NEW, [{"field": "oldPassword", "reason": "required"}]),
        ("Old-Passw0rd!", None, [{"field": "newPassword", "reason": "required"}]),
        (
            "",
            "",
            [
                {"field": "oldPassword", "reason": "required"},
                {"field": "newPassword", "reason": "required"},
            ],
        ),
        ("7-chars", NEW, [{"field": "oldPassword", "reason": "must be at least 8 characters"}]),
        ("x" * 129, NEW, [{"field": "oldPassword", "reason": "must be at most 128 characters"}]),
        (
            "Old-Passw0rd!",
            "y" * 129,
            [{"field": "newPassword", "reason": "must be at most 128 characters"}],
        ),
        (
            "Old-Passw0rd!",
            "short",
            [{"field": "newPassword", "reason": "must be at least 8 characters"}],
        ),
    ],
)
def test_bad_password_fields(
    client: TestClient,
    issuer: DevIssuer,
    old: str | None,
    new: str | None,
    expected: list[dict[str, str]],
) -> None:
    response = change(client, VALID_ID, old, new, token=user_token(issuer, VALID_ID))
    assert details(response) == expected


def test_boundary_lengths_are_valid(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user(password="o" * 128)
    token = user_token(issuer, user.user_id)
    # 128 characters each way pass validation and reach the directory.
    response = change(client, user.user_id, "o" * 128, "N3w-" + "p" * 124, token=token)
    assert response.status_code == 200, response.text


def test_wrong_types(client: TestClient, issuer: DevIssuer) -> None:
    response = change(
        client,
        VALID_ID,
        None,
        None,
        token=user_token(issuer, VALID_ID),
        json={"oldPassword": 12345678, "newPassword": ["a"]},
    )
    assert details(response) == [
        {"field": "oldPassword", "reason": "must be a string"},
        {"field": "newPassword", "reason": "must be a string"},
    ]


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        ("{not json", "application/json", "malformed JSON"),
        ("[1, 2]", "application/json", "must be a JSON object"),
        ("<x/>", "application/xml", "unsupported media type application/xml"),
        # a client's header is quoted only when it is a short media type, as written
        ("<x/>", "text/" + "x" * 20_000, "unsupported media type (not a media type)"),
        ("<x/>", b"text/x\xe9\x1b[2J", "unsupported media type (not a media type)"),
        ("<x/>", "no-slash-here", "unsupported media type (not a media type)"),
    ],
)
def test_malformed_body(
    client: TestClient, issuer: DevIssuer, content: str, content_type: str | bytes, reason: str
) -> None:
    response = change(
        client,
        VALID_ID,
        None,
        None,
        token=user_token(issuer, VALID_ID),
        content=content,
        headers={"Content-Type": content_type},
    )
    assert details(response) == [{"field": "body", "reason": reason}]


def test_empty_body_names_both_fields(client: TestClient, issuer: DevIssuer) -> None:
    response = change(client, VALID_ID, None, None, token=user_token(issuer, VALID_ID), content=b"")
    assert [d["field"] for d in details(response)] == ["oldPassword", "newPassword"]


# -- bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("form", ["data", "files"])
def test_form_bodies(
    client: TestClient, directory: Directory, issuer: DevIssuer, form: str
) -> None:
    """application/x-www-form-urlencoded (data=) and multipart/form-data (files=)."""
    user = directory.add_user()
    fields: dict[str, object] = {"oldPassword": user.password, "newPassword": NEW}
    if form == "files":
        fields = {k: (None, v) for k, v in fields.items()}
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, None, None, token=token, **{form: fields})
    assert response.status_code == 200, response.text
    assert directory.can_bind(user.dn, NEW)


UMLAUT = "W\u00f6nder-L4nd-Passw0rd!"


def _form(body: bytes, charset: str = "") -> dict[str, object]:
    media = "application/x-www-form-urlencoded" + (f"; charset={charset}" if charset else "")
    return {"content": body, "headers": {"Content-Type": media}}


def _multipart(value: bytes, old: str, part_type: str = "") -> dict[str, object]:
    part = (f"Content-Type: {part_type}\r\n" if part_type else "").encode()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="oldPassword"\r\n\r\n'
        + old.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="newPassword"\r\n'
        + part
        + b"\r\n"
        + value
        + b"\r\n--b--\r\n"
    )
    return {"content": body, "headers": {"Content-Type": "multipart/form-data; boundary=b"}}


@pytest.mark.parametrize(
    "shape",
    ["raw UTF-8", "percent-encoded UTF-8", "multipart UTF-8", "multipart charset=utf-8"],
)
def test_a_form_sets_the_password_that_was_typed(
    client: TestClient, directory: Directory, issuer: DevIssuer, shape: str
) -> None:
    """Starlette read raw form bytes as Latin-1: the directory got 'WÃ¶nder', and 200."""
    user = directory.add_user()
    old = user.password.encode()
    request = {
        "raw UTF-8": _form(b"oldPassword=" + old + b"&newPassword=" + UMLAUT.encode()),
        "percent-encoded UTF-8": _form(
            b"oldPassword=" + old + b"&newPassword=W%C3%B6nder-L4nd-Passw0rd%21", "UTF-8"
        ),
        "multipart UTF-8": _multipart(UMLAUT.encode(), user.password),
        "multipart charset=utf-8": _multipart(
            UMLAUT.encode(), user.password, "text/plain; charset=utf-8"
        ),
    }[shape]
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, None, None, token=token, **request)
    assert response.status_code == 200, response.text
    assert directory.can_bind(user.dn, UMLAUT)


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        ("raw Latin-1", "not UTF-8"),
        ("percent-encoded Latin-1", "not UTF-8"),
        ("charset=iso-8859-1", "unsupported charset (UTF-8 only)"),
        ("multipart Windows-1252", "not UTF-8"),
        ("multipart part charset", "unsupported charset (UTF-8 only)"),
    ],
)
def test_a_form_that_is_not_utf8_is_refused_and_changes_nothing(
    client: TestClient, directory: Directory, issuer: DevIssuer, shape: str, reason: str
) -> None:
    user = directory.add_user()
    old = user.password.encode()
    request = {
        "raw Latin-1": _form(b"oldPassword=" + old + b"&newPassword=W\xf6nder-L4nd-Passw0rd!"),
        "percent-encoded Latin-1": _form(
            b"oldPassword=" + old + b"&newPassword=W%F6nder-L4nd-Passw0rd%21"
        ),
        "charset=iso-8859-1": _form(
            b"oldPassword=" + old + b"&newPassword=W%F6nder-L4nd-Passw0rd%21", "iso-8859-1"
        ),
        "multipart Windows-1252": _multipart(b"Euro-\x80-L4nd-Passw0rd!", user.password),
        "multipart part charset": _multipart(
            b"W\xf6nder-L4nd-Passw0rd!", user.password, "text/plain; charset=iso-8859-1"
        ),
    }[shape]
    token = user_token(issuer, user.user_id)
    response = change(client, user.user_id, None, None, token=token, **request)
    assert details(response) == [{"field": "body", "reason": reason}]
    assert directory.can_bind(user.dn, user.password)


def test_c1_control_characters_are_control_characters(
    client: TestClient, issuer: DevIssuer
) -> None:
    """U+0080 is what a Windows-1252 euro sign read as Latin-1 becomes; no one types it."""
    odd = "Euro-\u0080-Passw0rd!"
    token = user_token(issuer, VALID_ID)
    response = change(client, VALID_ID, odd, "Other-\u009f-Passw0rd!", token=token)
    assert details(response) == [
        {"field": "oldPassword", "reason": "must not contain control characters"},
        {"field": "newPassword", "reason": "must not contain control characters"},
    ]


def test_json_with_charset_and_unicode(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    new = "Nouveau-mot-de-passe-é-ü-漢字"
    response = change(
        client,
        user.user_id,
        None,
        None,
        token=user_token(issuer, user.user_id),
        content=json.dumps({"oldPassword": user.password, "newPassword": new}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert directory.can_bind(user.dn, new)


# -- authentication -----------------------------------------------------------------


def test_no_credentials(client: TestClient) -> None:
    assert_error(change(client, VALID_ID, "Old-Passw0rd!", NEW), 401, 4002, "No auth token")


def test_empty_bearer_is_no_token(client: TestClient) -> None:
    response = change(client, VALID_ID, "Old-Passw0rd!", NEW, headers={"Authorization": "Bearer "})
    assert_error(response, 401, 4002, "No auth token")


@pytest.mark.parametrize("kind", ALWAYS_REFUSED)
def test_bad_tokens(client: TestClient, issuer: DevIssuer, kind: str) -> None:
    token = forged_tokens(issuer)[kind]
    response = change(client, VALID_ID, "Old-Passw0rd!", NEW, token=token)
    assert_error(response, 401, 4001, "Unauthorized")


def test_audience_checked_when_configured(make_client, issuer: DevIssuer) -> None:  # type: ignore[no-untyped-def]
    client = make_client(auth_audience="passgate")
    wrong = issuer.token(VALID_ID, aud="someone-else")
    assert_error(
        change(client, VALID_ID, "Old-Passw0rd!", NEW, token=wrong), 401, 4001, "Unauthorized"
    )
    right = issuer.token(VALID_ID, aud=["account", "passgate"])
    response = change(client, VALID_ID, "Old-Passw0rd!", NEW, token=right)
    assert response.status_code == 404  # authenticated; no such user


def test_basic_auth_is_refused(client: TestClient) -> None:
    response = change(
        client, VALID_ID, "Old-Passw0rd!", NEW, headers={"Authorization": "Basic dTpw"}
    )
    assert_error(response, 401, 4001, "Unauthorized")


@pytest.fixture
def api_key_client(make_client, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    keys = [
        {
            "name": "helpdesk-tool",
            "sha256": hashlib.sha256(b"admin-key-123").hexdigest(),
            "roles": ["password-admin"],
        },
        {"name": "reporting", "sha256": hashlib.sha256(b"plain-key-456").hexdigest(), "roles": []},
    ]
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys))
    client: TestClient = make_client(api_keys_file=path)
    return client


def test_unknown_api_key(api_key_client: TestClient) -> None:
    response = change(api_key_client, VALID_ID, "Old-Passw0rd!", NEW, headers={"X-API-Key": "nope"})
    assert_error(response, 401, 4001, "Unauthorized")


def test_api_key_without_admin_role_is_forbidden(api_key_client: TestClient) -> None:
    response = change(
        api_key_client, VALID_ID, "Old-Passw0rd!", NEW, headers={"X-API-Key": "plain-key-456"}
    )
    assert_error(response, 403, 4003, "Forbidden")


def test_api_key_with_admin_role(api_key_client: TestClient, directory: Directory) -> None:
    user = directory.add_user()
    response = change(
        api_key_client, user.user_id, user.password, NEW, headers={"X-API-Key": "admin-key-123"}
    )
    assert response.status_code == 200, response.text


# -- authorization --------------------------------------------------------------------


def test_other_users_token_is_forbidden(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    response = change(client, user.user_id, user.password, NEW, token=user_token(issuer, "b" * 24))
    assert_error(response, 403, 4003, "Forbidden")
    assert directory.can_bind(user.dn, user.password)


def test_service_account_token_without_role_is_forbidden(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    # A client-credentials token whose sub happens to equal the userId is still no user.
    token = issuer.token(user.user_id, username="service-account-portal")
    response = change(client, user.user_id, user.password, NEW, token=token)
    assert_error(response, 403, 4003, "Forbidden")


def test_user_id_claim_setting(make_client, directory: Directory, issuer: DevIssuer) -> None:  # type: ignore[no-untyped-def]
    client = make_client(auth_user_id_claim="passgate_id")
    user = directory.add_user()
    token = issuer.token("a-keycloak-uuid", username="x", passgate_id=user.user_id)
    assert change(client, user.user_id, user.password, NEW, token=token).status_code == 200


# -- the order of checks ----------------------------------------------------------------


def test_authentication_before_validation(client: TestClient) -> None:
    response = change(client, "bad", None, None, content=b"{not json")
    assert_error(response, 401, 4002, "No auth token")
    response = change(client, "bad", None, None, token="garbage", content=b"{not json")
    assert_error(response, 401, 4001, "Unauthorized")


def test_validation_before_authorization(client: TestClient, issuer: DevIssuer) -> None:
    # A token for someone else and a bad body: the body is reported first.
    response = change(client, VALID_ID, "short", NEW, token=user_token(issuer, "b" * 24))
    assert_error(response, 400, 1001, "Validation failed")


def test_authorization_before_lookup(client: TestClient, issuer: DevIssuer) -> None:
    # The target does not exist, but the caller may not ask: 403, not 404.
    response = change(client, "c" * 24, "Old-Passw0rd!", NEW, token=user_token(issuer, "b" * 24))
    assert_error(response, 403, 4003, "Forbidden")


def test_old_password_checked_before_new_password(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    user = directory.add_user()
    response = change(
        client, user.user_id, "Wrong-Passw0rd!", "Sh0rt-pw!", token=user_token(issuer, user.user_id)
    )
    assert_error(response, 400, 5023, "Incorrect old password")


def test_control_characters_are_refused_other_characters_are_passwords(
    client: TestClient, directory: Directory, issuer: DevIssuer
) -> None:
    # C0 controls and DEL are refused in both fields (issue 15: NUL was accepted in new
    # passwords); everything else, e.g. NO-BREAK SPACE and an emoji, is a password like
    # any other, and the bind sends the UTF-8 bytes the modify sets (ldap3's SASLprep
    # would have refused some of them: found by the schemathesis run, once a 500).
    user = directory.add_user()
    token = user_token(issuer, user.user_id)
    response = change(
        client, user.user_id, "Odd\x15pass\x00word", "Brand-New-Passw0rd!", token=token
    )
    assert details(response) == [
        {"field": "oldPassword", "reason": "must not contain control characters"}
    ]
    odd = "Odd-pass\u00a0word\U0001f511"
    response = change(client, user.user_id, odd, "Brand-New-Passw0rd!", token=token)
    assert_error(response, 400, 5023, "Incorrect old password")
    response = change(client, user.user_id, user.password, odd, token=token)
    assert response.status_code == 200, response.text
    assert directory.can_bind(user.dn, odd)
    response = change(client, user.user_id, odd, "Brand-New-Passw0rd!", token=token)
    assert response.status_code == 200, response.text


def test_lone_surrogates_are_a_validation_failure(client: TestClient, issuer: DevIssuer) -> None:
    response = change(
        client,
        "a" * 24,
        None,
        None,
        token=user_token(issuer, "a" * 24),
        content=b'{"oldPassword": "abc\\ud800defgh", "newPassword": "Brand-New-Passw0rd!"}',
        headers={"Content-Type": "application/json"},
    )
    body = assert_error(response, 400, 1001, "Validation failed")
    assert body["error"]["details"] == [
        {"field": "oldPassword", "reason": "must be valid Unicode text"}
    ]
