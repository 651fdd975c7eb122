"""TLS to the directory: LDAPS and StartTLS against a slapd with a certificate made here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passgate.dev.slapd import Slapd
from passgate.dev.tokens import DevIssuer
from tests.certs import Authority
from tests.conftest import Directory, start_slapd
from tests.integration.helpers import assert_error, change, user_token

NEW = "Brand-New-Passw0rd!"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("pki")
    ours = Authority.create("passgate test CA")
    cert, key = ours.issue_server(where, ["localhost"])
    return {
        "ca": ours.write_ca(where / "ca.pem"),
        "other_ca": Authority.create("someone else's CA").write_ca(where / "other-ca.pem"),
        "cert": cert,
        "key": key,
    }


@pytest.fixture(scope="module")
def tls_slapd(pki: dict[str, Path]) -> Iterator[Slapd]:
    server = start_slapd(tls_cert=pki["cert"], tls_key=pki["key"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_directory(tls_slapd: Slapd) -> Directory:
    return Directory(tls_slapd)


Client = Callable[..., TestClient]


def changed(client: TestClient, directory: Directory, issuer: DevIssuer) -> bool:
    user = directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert response.status_code == 200, response.text
    return directory.can_bind(user.dn, NEW)


def test_ldaps_with_the_ca_file(
    make_client: Client,
    tls_slapd: Slapd,
    tls_directory: Directory,
    pki: dict[str, Path],
    issuer: DevIssuer,
) -> None:
    client = make_client(ldap_connection_url=tls_slapd.ldaps_url, ldap_ca_file=pki["ca"])
    assert changed(client, tls_directory, issuer)


def test_start_tls_with_the_ca_file(
    make_client: Client,
    tls_slapd: Slapd,
    tls_directory: Directory,
    pki: dict[str, Path],
    issuer: DevIssuer,
) -> None:
    client = make_client(
        ldap_connection_url=f"ldap://localhost:{tls_slapd.port}",
        ldap_start_tls=True,
        ldap_ca_file=pki["ca"],
    )
    assert changed(client, tls_directory, issuer)


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_a_certificate_from_another_ca_is_refused(
    make_client: Client,
    tls_slapd: Slapd,
    tls_directory: Directory,
    pki: dict[str, Path],
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    if mode == "ldaps":
        client = make_client(ldap_connection_url=tls_slapd.ldaps_url, ldap_ca_file=pki["other_ca"])
    else:
        client = make_client(
            ldap_connection_url=f"ldap://localhost:{tls_slapd.port}",
            ldap_start_tls=True,
            ldap_ca_file=pki["other_ca"],
        )
    user = tls_directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 503, 5030, "Directory unavailable")
    assert "certificate" not in response.text  # details are for operators
    # The operator reads why, naming the server and the CA file to fix.
    assert "TLS certificate of" in all_logs.text
    assert "certificate verify failed" in all_logs.text
    assert str(pki["other_ca"]) in all_logs.text
    assert user.password not in all_logs.text
    assert NEW not in all_logs.text
    assert tls_directory.can_bind(user.dn, user.password)  # nothing was sent


def test_the_host_name_must_match_the_certificate(
    make_client: Client,
    tls_slapd: Slapd,
    tls_directory: Directory,
    pki: dict[str, Path],
    issuer: DevIssuer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    by_ip = f"ldaps://127.0.0.1:{tls_slapd.tls_port}"  # the certificate names only localhost
    client = make_client(ldap_connection_url=by_ip, ldap_ca_file=pki["ca"])
    user = tls_directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 503, 5030, "Directory unavailable")
    assert "TLS certificate of" in all_logs.text
    named = make_client(
        ldap_connection_url=by_ip, ldap_ca_file=pki["ca"], ldap_tls_server_name="localhost"
    )
    assert changed(named, tls_directory, issuer)


def test_without_a_ca_file_the_system_cas_decide(
    make_client: Client, tls_slapd: Slapd, tls_directory: Directory, issuer: DevIssuer
) -> None:
    client = make_client(ldap_connection_url=tls_slapd.ldaps_url)
    user = tls_directory.add_user()
    response = change(
        client, user.user_id, user.password, NEW, token=user_token(issuer, user.user_id)
    )
    assert_error(response, 503, 5030, "Directory unavailable")
