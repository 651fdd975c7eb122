"""API keys for service callers (``PASSGATE_API_KEYS_FILE``).

The file is a JSON list of ``{"name", "sha256", "roles"}``: the key itself
is never stored, only the hex SHA-256 of it. A presented key is hashed and
compared with every entry in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.errors import ConfigurationError, InvalidCredentials, NoCredentials

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
VARIABLE = "PASSGATE_API_KEYS_FILE"


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: bytes
    roles: frozenset[str]


def load_api_keys(path: Path) -> list[ApiKey]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{VARIABLE}: cannot read {path}: {exc}") from None
    if not isinstance(raw, list):
        raise ConfigurationError(f"{VARIABLE}: {path} must hold a JSON list")
    keys = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("sha256"), str)
            or not _SHA256_HEX.fullmatch(item["sha256"])
            or not isinstance(item.get("roles", []), list)
        ):
            raise ConfigurationError(
                f"{VARIABLE}: entry {i} of {path} needs a name, a 64-hex sha256 and a roles list"
            )
        roles = frozenset(str(r) for r in item.get("roles", []))
        keys.append(ApiKey(item["name"], bytes.fromhex(item["sha256"]), roles))
    return keys


class ApiKeyVerifier:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys

    @staticmethod
    def handles(credentials: Credentials) -> bool:
        return bool(credentials.api_key)

    def needs_io(self, credentials: Credentials) -> bool:
        return False  # the keys are in memory

    def authenticate(self, credentials: Credentials) -> Caller:
        if not credentials.api_key:
            raise NoCredentials("no API key")
        return self.verify(credentials.api_key)

    def verify(self, presented: str) -> Caller:
        digest = hashlib.sha256(presented.encode()).digest()
        found: ApiKey | None = None
        for key in self._keys:  # no early exit: every entry is compared
            if hmac.compare_digest(digest, key.sha256):
                found = key
        if found is None:
            raise InvalidCredentials("unknown API key")
        return Caller(CallerKind.API_KEY, found.name, roles=found.roles)
