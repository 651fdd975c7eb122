"""``passgate config from-keycloak``: inputs that used to end in a traceback or odd wording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from passgate.tools.keycloak import KeycloakImportError, from_keycloak_json, from_realm_export
from tests.unit.test_keycloak_import import notes_text, openldap_with


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ldap://[::1", "is not usable: not a valid URL"),
        ("ldaps://[::1", "is not usable: not a valid URL"),
        ("ldap://127.0.0.1:abc", "is not usable: the port must be a number from 1 to 65535"),
        ("ldaps://ldap.example.org:99999", "is not usable: the port must be a number"),
    ],
)
def test_a_url_that_cannot_be_used_is_noted_not_a_traceback(url: str, problem: str) -> None:
    result = from_realm_export(openldap_with(connectionUrl=url))
    assert result.settings["PASSGATE_LDAP_CONNECTION_URL"] == url  # kept, as other bad values
    (note,) = [n for n in result.notes if n.startswith("PASSGATE_LDAP_CONNECTION_URL: ")]
    assert note.startswith(f"PASSGATE_LDAP_CONNECTION_URL: {url} {problem}")
    assert note.endswith("; passgate will refuse it")


def test_a_broken_url_beside_a_good_one_still_gets_the_transport_notes() -> None:
    result = from_realm_export(openldap_with(connectionUrl="ldap://[::1 ldap://ldap.example.org"))
    assert "ldap://ldap.example.org would send passwords in cleartext" in notes_text(result)


def test_json_nested_too_deeply_is_refused() -> None:
    with pytest.raises(KeycloakImportError, match="nested too deeply"):
        from_keycloak_json("[" * 100_000)


def test_from_keycloak_on_a_deeply_nested_file_exits_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    result = subprocess.run(
        [sys.executable, "-m", "passgate", "config", "from-keycloak", str(deep)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"passgate: cannot read {deep}: its JSON is nested too deeply (not a Keycloak export)"
    )


def test_a_realm_name_that_is_not_a_string_is_described_not_quoted() -> None:
    with pytest.raises(KeycloakImportError) as caught:
        from_realm_export(json.dumps({"realm": {"x": 1}}))
    assert str(caught.value) == (
        'not a Keycloak realm export: "realm" is a JSON object, not the realm\'s name'
    )


@pytest.mark.parametrize(
    ("data", "subject"),
    [
        ({"name": "k", "providerId": "kerberos"}, "the component has"),
        ([{"name": "k", "providerId": "kerberos"}], "the component list has"),
    ],
)
def test_bare_components_read_as_one_subject(data: object, subject: str) -> None:
    with pytest.raises(KeycloakImportError) as caught:
        from_keycloak_json(data)
    assert str(caught.value).startswith(f"{subject} no LDAP user federation provider")
