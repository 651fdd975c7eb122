"""Third-party dialects and mappers, installed as distributions with entry points.

A throwaway distribution (package + ``.dist-info`` with ``entry_points.txt``)
is put on ``sys.path``, which is all ``pip install`` does for importlib.metadata;
passgate finds it by name, exactly as it finds its built-in ones.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passgate.app import create_app
from passgate.dev.tokens import DevIssuer
from passgate.directory.dialects import available_dialects
from passgate.directory.mappers import available_mappers
from passgate.errors import ConfigurationError
from tests.conftest import Directory, SettingsFactory
from tests.integration.helpers import change, user_token

PACKAGE = '''
from passgate.vendors import VendorFacts
from passgate.directory.dialects.openldap import OpenLdapDialect
from passgate.directory.mappers import SearchMapper

CALLS = []


class AcmeDialect(OpenLdapDialect):
    """An OpenLDAP fork that wants to be told apart."""

    facts = VendorFacts("acme", "Acme Directory")

    def verify_old_password(self, conn):
        CALLS.append("verify")
        return super().verify_old_password(conn)

    def set_password(self, conn, dn, old, new):
        CALLS.append("set")
        super().set_password(conn, dn, old, new)


def by_employee_number(settings):
    """A site that keeps the 24-hex id in employeeNumber, whatever the settings say."""
    CALLS.append("mapper")
    return SearchMapper(
        users_dn=settings.users_dn,
        object_classes=settings.object_classes,
        user_id_attribute="employeeNumber",
        username_attribute=settings.username_attribute,
    )
'''


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    (tmp_path / "acme_passgate").mkdir()
    (tmp_path / "acme_passgate" / "__init__.py").write_text(PACKAGE)
    info = tmp_path / "acme_passgate-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-passgate\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [passgate.dialects]
            acme = acme_passgate:AcmeDialect

            [passgate.mappers]
            by-employee-number = acme_passgate:by_employee_number
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import acme_passgate  # type: ignore[import-not-found]

    acme_passgate.CALLS.clear()
    yield acme_passgate
    monkeypatch.delitem(__import__("sys").modules, "acme_passgate")


def test_builtins_come_from_entry_points_too() -> None:
    assert {"other", "rhds", "ad"} <= set(available_dialects())
    assert {"search", "template"} <= set(available_mappers())


def test_a_third_party_dialect_selected_by_setting(
    acme: object, make_client: SettingsFactory, directory: Directory, issuer: DevIssuer
) -> None:
    assert "acme" in available_dialects()
    client: TestClient = make_client(ldap_vendor="acme")
    user = directory.add_user()
    response = change(
        client,
        user.user_id,
        user.password,
        "Brand-New-Passw0rd!",
        token=user_token(issuer, user.user_id),
    )
    assert response.status_code == 200, response.text
    assert acme.CALLS == ["verify", "set"]  # type: ignore[attr-defined]


def test_a_third_party_mapper_selected_by_setting(
    acme: object, make_settings: SettingsFactory, directory: Directory, issuer: DevIssuer
) -> None:
    employee_number = "0123456789abcdef01234567"
    user = directory.add_user(extra={"employeeNumber": employee_number})
    token = user_token(issuer, employee_number)
    default = TestClient(create_app(make_settings()))
    response = change(default, employee_number, user.password, "Brand-New-Passw0rd!", token=token)
    assert response.status_code == 404  # passgateUserId holds another id
    client = TestClient(create_app(make_settings(ldap_user_mapper="by-employee-number")))
    response = change(client, employee_number, user.password, "Brand-New-Passw0rd!", token=token)
    assert response.status_code == 200, response.text
    assert acme.CALLS == ["mapper"]  # type: ignore[attr-defined]
    assert directory.can_bind(user.dn, "Brand-New-Passw0rd!")


def test_an_unknown_mapper_is_named(make_settings: SettingsFactory) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown mapper 'nope'; known: .*search"):
        create_app(make_settings(ldap_user_mapper="nope"))


def test_an_unknown_vendor_is_named(make_settings: SettingsFactory) -> None:
    with pytest.raises(ConfigurationError, match="unknown vendor 'acme'"):
        make_settings(ldap_vendor="acme")
