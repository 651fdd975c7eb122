"""docs/openapi.json is the running app's schema, and describes every answer."""

from __future__ import annotations

import json
from pathlib import Path

from passgate.app import create_app, schema_document
from passgate.config import load_settings

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "regenerate it: .venv/bin/passgate openapi > docs/openapi.json"


def app_schema() -> dict[str, object]:
    settings = load_settings(
        _env_file=None,
        ldap_connection_url="ldap://127.0.0.1:1",
        ldap_bind_dn="cn=x",
        ldap_bind_credential="x",
        ldap_users_dn="dc=x",
        auth_jwks_url="http://127.0.0.1:1/certs",
        auth_issuer="https://issuer",
    )
    return create_app(settings).openapi()


def test_the_published_document_is_up_to_date() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == schema_document(), REGENERATE
    assert json.loads(DOCUMENT.read_text(encoding="utf-8")) == app_schema(), REGENERATE


def test_every_operation_documents_every_answer() -> None:
    paths = json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]
    assert set(paths) == {
        "/v1/users/{userId}/change-password",
        "/api/workspace/account/change-password",
        "/v1/password-policy",
        "/api/workspace/account/password-policy",
    }
    change = paths["/v1/users/{userId}/change-password"]["post"]
    assert set(change["responses"]) == {"200", "400", "401", "403", "404", "429", "500", "503"}
    assert set(change["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    workspace = paths["/api/workspace/account/change-password"]["post"]
    assert "application/problem+json" in workspace["responses"]["401"]["content"]
    for path in paths.values():
        for operation in path.values():
            assert "422" not in operation["responses"]
            for status, response in operation["responses"].items():
                for media in response["content"].values():
                    assert "schema" in media, (status, media)
                    assert "example" in media or "examples" in media, (status, media)
