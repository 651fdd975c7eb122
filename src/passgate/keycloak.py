"""Keycloak realm export -> passgate settings.

Reads the LDAP user federation provider of a realm export (``kc.sh export``
or the admin console's *Partial export*: a realm object whose
``components["org.keycloak.storage.UserStorageProvider"]`` lists providers,
each ``config`` value a list of strings) and says which ``PASSGATE_*``
settings it amounts to, which Keycloak keys passgate has no use for, and
what to check by hand.

Pure: no network, no files; the caller reads the JSON and writes the result.
The bind credential is only ever returned when asked for, and a placeholder
(Keycloak's mask ``**********``, a ``${vault.key}`` reference) is never
mistaken for a password.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from passgate import vendors
from passgate.config import is_loopback

__all__ = ["ImportedSettings", "KeycloakImportError", "from_realm_export"]

USER_STORAGE = "org.keycloak.storage.UserStorageProvider"
LDAP_PROVIDER_ID = "ldap"

CONNECTION_URL = "PASSGATE_LDAP_CONNECTION_URL"
START_TLS = "PASSGATE_LDAP_START_TLS"
BIND_DN = "PASSGATE_LDAP_BIND_DN"
BIND_CREDENTIAL = "PASSGATE_LDAP_BIND_CREDENTIAL"
USERS_DN = "PASSGATE_LDAP_USERS_DN"
USERNAME_ATTRIBUTE = "PASSGATE_LDAP_USERNAME_ATTRIBUTE"
USER_OBJECT_CLASSES = "PASSGATE_LDAP_USER_OBJECT_CLASSES"
VENDOR = "PASSGATE_LDAP_VENDOR"
SEARCH_SCOPE = "PASSGATE_LDAP_SEARCH_SCOPE"
CONNECT_TIMEOUT = "PASSGATE_LDAP_CONNECT_TIMEOUT"
OPERATION_TIMEOUT = "PASSGATE_LDAP_OPERATION_TIMEOUT"

# The order settings are listed in (that of the README's Configuration table).
_ORDER = (
    CONNECTION_URL,
    START_TLS,
    BIND_DN,
    BIND_CREDENTIAL,
    USERS_DN,
    USERNAME_ATTRIBUTE,
    USER_OBJECT_CLASSES,
    VENDOR,
    SEARCH_SCOPE,
    CONNECT_TIMEOUT,
    OPERATION_TIMEOUT,
)

# Keycloak vendor -> passgate dialect. Keycloak's other two vendors are
# servers passgate only knows as standards-following ones.
_VENDORS = {"other": "other", "rhds": "rhds", "ad": "ad"}
_GENERIC_VENDORS = {"tivoli": "IBM Tivoli Directory Server", "edirectory": "Novell eDirectory"}

_SCOPES = {"1": "one", "2": "sub"}
# (passgate setting, its default, its upper limit), in seconds.
_TIMEOUTS = {
    "connectionTimeout": (CONNECT_TIMEOUT, 5, 300),
    "readTimeout": (OPERATION_TIMEOUT, 10, 600),
}

_SYNC = "passgate keeps no copies of users, so there is nothing to synchronise"
_CACHE = "Keycloak's user cache; passgate caches only userId -> DN, see PASSGATE_LDAP_DN_CACHE_TTL"
_POOL = "passgate keeps its own connection pools, see PASSGATE_LDAP_POOL_SIZE"
_KERBEROS = "Kerberos login to Keycloak; passgate's callers authenticate with tokens"
_REASONS = {
    "allowKerberosAuthentication": _KERBEROS,
    "allowPasswordAuthentication": _KERBEROS,
    "batchSizeForSync": _SYNC,
    "cachePolicy": _CACHE,
    "changedSyncPeriod": _SYNC,
    "connectionPooling": _POOL,
    "connectionPoolingAuthentication": _POOL,
    "connectionPoolingDebug": _POOL,
    "connectionPoolingInitSize": _POOL,
    "connectionPoolingMaxSize": _POOL,
    "connectionPoolingPrefSize": _POOL,
    "connectionPoolingProtocol": _POOL,
    "connectionPoolingTimeout": _POOL,
    "connectionTrace": "Keycloak's LDAP trace logging",
    "debug": _KERBEROS,
    "editMode": (
        "Keycloak's own writes to the directory; passgate changes passwords whatever it says"
    ),
    "enabled": "whether Keycloak uses the provider",
    "evictionDay": _CACHE,
    "evictionHour": _CACHE,
    "evictionMinute": _CACHE,
    "fullSyncPeriod": _SYNC,
    "importEnabled": "passgate imports no users; it looks each one up in the directory",
    "kerberosRealm": _KERBEROS,
    "keyTab": _KERBEROS,
    "krbPrincipalAttribute": _KERBEROS,
    "lastSync": _SYNC,
    "maxLifespan": _CACHE,
    "pagination": "passgate looks up one user at a time",
    "priority": "the order of Keycloak's providers; passgate uses one directory",
    "rdnLDAPAttribute": "used when Keycloak creates users; passgate creates none",
    "referral": "referral handling of Keycloak's LDAP client",
    "removeInvalidUsersEnabled": _SYNC,
    "serverPrincipal": _KERBEROS,
    "syncRegistrations": "passgate creates no users",
    "trustEmail": "about e-mail verification in Keycloak",
    "updateProfileFirstLogin": _KERBEROS,
    "useKerberosForPasswordAuthentication": _KERBEROS,
    "usePasswordModifyExtendedOp": "passgate always uses it where advertised",
    "useTruststoreSpi": (
        "Keycloak's truststore; passgate trusts PASSGATE_LDAP_CA_FILE or the system CAs"
    ),
    "validatePasswordPolicy": (
        "Keycloak's realm password policy is not exported; passgate's own rules are "
        "PASSGATE_POLICY_*; the directory's policy applies either way"
    ),
}

# What Keycloak writes instead of a secret: the admin console's mask
# (ComponentRepresentation.SECRET_VALUE), a vault reference, or a placeholder
# filled in from the environment at import (``${VAR}``; keycloak-config-cli's ``$(env:VAR)``).
_MASK = re.compile(r"\*+")
_VAULT = re.compile(r"\$\{vault\.([^}]+)\}")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)")


class KeycloakImportError(Exception):
    """The data cannot be imported; the message says what is wrong and what is there."""


@dataclass(frozen=True, repr=False)
class ImportedSettings:
    """The settings one Keycloak LDAP provider amounts to.

    ``settings`` maps ``PASSGATE_*`` names to values (the bind credential only
    when it was asked for); ``not_used`` maps Keycloak config keys passgate
    ignores to why; ``notes`` are things to check or set by hand (a note may
    span lines; a line like ``PASSGATE_X=...`` in one is a commented hint).
    """

    provider: str
    settings: dict[str, str]
    not_used: dict[str, str]
    notes: list[str]

    def __repr__(self) -> str:
        shown = {k: ("**********" if k == BIND_CREDENTIAL else v) for k, v in self.settings.items()}
        return (
            f"ImportedSettings(provider={self.provider!r}, settings={shown!r}, "
            f"not_used={self.not_used!r}, notes={self.notes!r})"
        )

    def to_env(self) -> str:
        """The settings as a ``.env`` file, notes and unused keys as comments."""
        lines = [
            f'# passgate settings from the Keycloak LDAP provider "{_one_line(self.provider)}"'
        ]
        for key, value in self.settings.items():
            if "${" in value:
                # .env readers (python-dotenv, so pydantic-settings) expand ${...}
                # even inside quotes, and there is no escape for it.
                shown = "" if key == BIND_CREDENTIAL else f" (the value: {_one_line(value)})"
                lines.append(
                    f'# {key} left out: its value contains "${{", which .env readers expand '
                    f"as a variable; set it in the environment instead{shown}"
                )
            else:
                lines.append(f"{key}={_env_value(value)}")
        if self.notes:
            lines.append("")
            for note in self.notes:
                lines.extend(f"# {line}".rstrip() for line in note.splitlines() or [""])
        if self.not_used:
            lines.append("")
            for key, reason in self.not_used.items():
                suffix = f" ({_one_line(reason)})" if reason else ""
                lines.append(f"# not used by passgate: {_one_line(key)}{suffix}")
        return "\n".join(lines) + "\n"


def from_realm_export(
    data: object, provider: str | None = None, include_secrets: bool = False
) -> ImportedSettings:
    """Import the LDAP provider of a realm export (parsed JSON, or its text).

    ``provider`` is the provider's name (or id); it may be left out when the
    realm has exactly one LDAP provider. The bind credential is in the result
    only with ``include_secrets`` (and never when the export holds a placeholder).
    Raises ``KeycloakImportError`` saying what is wrong.
    """
    realm = _realm(data)
    name_value = realm.get("realm")
    realm_name = name_value if isinstance(name_value, str) and name_value else None
    where = f'realm "{realm_name}"' if realm_name else "the export"
    providers = _user_storage(realm)
    name, component = _choose(providers, provider, where)
    config = _config(component, name)
    builder = _Builder(name, config, include_secrets)
    builder.run()
    builder.token_hints(realm_name, _frontend_url(realm))
    return builder.result()


# -- finding the provider -----------------------------------------------------


def _realm(data: object) -> Mapping[str, object]:
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise KeycloakImportError(f"not a Keycloak realm export: not JSON ({exc})") from None
    if isinstance(data, list):
        realms = [r for r in data if isinstance(r, dict) and isinstance(r.get("realm"), str)]
        if realms and len(realms) == len(data):
            # Keycloak 16 and older wrote every realm to one file as a list.
            if len(realms) == 1:
                return _str_keys(realms[0])
            names = ", ".join(f'"{r["realm"]}"' for r in realms)
            raise KeycloakImportError(
                f"the export holds {len(realms)} realms ({names}); export the one realm "
                "whose LDAP settings passgate should use"
            )
        raise KeycloakImportError(
            "not a Keycloak realm export: a JSON list, not a realm object "
            '(expected {"realm": ..., "components": {...}})'
        )
    if not isinstance(data, dict):
        raise KeycloakImportError(
            f"not a Keycloak realm export: a JSON {_json_type(data)}, not a realm object"
        )
    realm = _str_keys(data)
    if "components" not in realm:
        if "realm" in realm:
            raise KeycloakImportError(
                f'realm "{realm["realm"]}" has no "components": export it with its components '
                "(the admin console's Partial export includes them; so does kc.sh export)"
            )
        raise KeycloakImportError(
            'not a Keycloak realm export: no "realm" and no "components" '
            '(expected {"realm": ..., "components": {...}})'
        )
    return realm


def _user_storage(realm: Mapping[str, object]) -> list[Mapping[str, object]]:
    components = realm["components"]
    if not isinstance(components, dict):
        raise KeycloakImportError(
            f'not a Keycloak realm export: "components" is a JSON {_json_type(components)}, '
            "not an object"
        )
    providers = components.get(USER_STORAGE, [])
    if not isinstance(providers, list) or not all(isinstance(p, dict) for p in providers):
        raise KeycloakImportError(
            f'not a Keycloak realm export: "components"."{USER_STORAGE}" is not a list of objects'
        )
    return [_str_keys(p) for p in providers]


def _choose(
    providers: list[Mapping[str, object]], wanted: str | None, where: str
) -> tuple[str, Mapping[str, object]]:
    named = [(_label(p, i), p) for i, p in enumerate(providers, 1)]
    ldap = [(n, p) for n, p in named if p.get("providerId") == LDAP_PROVIDER_ID]
    others = [(n, p) for n, p in named if p.get("providerId") != LDAP_PROVIDER_ID]
    if not ldap:
        found = f" (user federation: {_describe(others)})" if others else ""
        raise KeycloakImportError(f"{where} has no LDAP user federation provider{found}")
    if wanted is None:
        if len(ldap) > 1:
            raise KeycloakImportError(
                f"{where} has {len(ldap)} LDAP providers: {_names(ldap)}; "
                "choose one (--provider NAME)"
            )
        return ldap[0]
    matches = [(n, p) for n, p in ldap if wanted in (p.get("name"), p.get("id"))]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(f'"{p.get("id")}"' for _, p in matches if isinstance(p.get("id"), str))
        raise KeycloakImportError(
            f'{where} has {len(matches)} LDAP providers named "{wanted}"; give its id instead'
            + (f" ({ids})" if ids else "")
        )
    not_ldap = [(n, p) for n, p in others if wanted in (p.get("name"), p.get("id"))]
    if not_ldap:
        raise KeycloakImportError(
            f'provider "{wanted}" in {where} is not an LDAP provider '
            f"({_describe(not_ldap)}); LDAP providers: {_names(ldap)}"
        )
    raise KeycloakImportError(
        f'{where} has no LDAP provider "{wanted}"; LDAP providers: {_names(ldap)}'
    )


def _label(provider: Mapping[str, object], index: int) -> str:
    for key in ("name", "id"):
        value = provider.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return f"(unnamed provider #{index})"


def _names(providers: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    return ", ".join(f'"{n}"' for n, _ in providers)


def _describe(providers: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    return ", ".join(f'"{n}" ({p.get("providerId", "no providerId")})' for n, p in providers)


def _config(component: Mapping[str, object], name: str) -> dict[str, list[str]]:
    raw = component.get("config", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise KeycloakImportError(
            f'provider "{name}": "config" is a JSON {_json_type(raw)}, not an object'
        )
    config: dict[str, list[str]] = {}
    for key, value in _str_keys(raw).items():
        items = value if isinstance(value, list) else [value]
        strings: list[str] = []
        for item in items:
            if isinstance(item, bool):
                strings.append("true" if item else "false")
            elif isinstance(item, str | int | float):
                strings.append(str(item))
            elif item is not None:
                raise KeycloakImportError(
                    f'provider "{name}": config "{key}" holds a JSON {_json_type(item)}; '
                    "Keycloak writes lists of strings"
                )
        strings = [s for s in strings if s.strip()]
        if strings:  # [] and [""] are how Keycloak writes "not set"
            config[key] = strings
    return config


def _frontend_url(realm: Mapping[str, object]) -> str | None:
    attributes = realm.get("attributes")
    if not isinstance(attributes, dict):
        return None
    url = attributes.get("frontendUrl")
    if isinstance(url, str) and urlsplit(url.strip()).scheme in ("http", "https"):
        return url.strip().rstrip("/")
    return None


# -- mapping ------------------------------------------------------------------


class _Builder:
    def __init__(self, name: str, config: dict[str, list[str]], include_secrets: bool) -> None:
        self.name = name
        self.remaining = dict(config)
        self.include_secrets = include_secrets
        self.settings: dict[str, str] = {}
        self.not_used: dict[str, str] = {}
        self.notes: list[str] = []

    def result(self) -> ImportedSettings:
        return ImportedSettings(
            provider=self.name,
            settings={k: self.settings[k] for k in _ORDER if k in self.settings},
            not_used=dict(sorted(self.not_used.items())),
            notes=self.notes,
        )

    def take(self, key: str) -> list[str]:
        return self.remaining.pop(key, [])

    def text(self, key: str, env: str, required: bool = False) -> str | None:
        """The key's (first) value, stripped; a placeholder is noted, not returned."""
        values = self.take(key)
        if not values:
            if required:
                self.notes.append(f"{env}: not in the export ({key}); passgate requires it")
            return None
        value = values[0].strip()
        if _PLACEHOLDER.fullmatch(value):
            self.notes.append(
                f"{env}: the export holds the placeholder {value} ({key}), which Keycloak "
                "fills in at import; set it yourself"
            )
            return None
        return value

    def run(self) -> None:
        enabled = self.remaining.get("enabled", ["true"])[0].strip().lower()
        if enabled == "false":
            self.notes.append(
                f'The provider "{self.name}" is disabled in Keycloak (enabled=false); '
                "its settings were imported anyway"
            )
        vendor = self.vendor()
        urls = self.connection()
        start_tls = self.start_tls()
        self.bind()
        users_dn = self.text("usersDn", USERS_DN, required=True)
        if users_dn is not None:
            self.settings[USERS_DN] = users_dn
        username = self.text("usernameLDAPAttribute", USERNAME_ATTRIBUTE)
        if username is not None:
            self.settings[USERNAME_ATTRIBUTE] = username
        self.object_classes()
        self.user_id(vendor)
        self.search()
        for key in _TIMEOUTS:
            self.timeout(key)
        self.transport_notes(urls, start_tls, vendor)
        for key in self.remaining:
            self.not_used[key] = _REASONS.get(key, "")

    def vendor(self) -> str:
        value = self.text("vendor", VENDOR)
        if value is None:
            return "other"
        vendor = value.lower()
        if vendor in _VENDORS:
            self.settings[VENDOR] = _VENDORS[vendor]
            return _VENDORS[vendor]
        if vendor in _GENERIC_VENDORS:
            self.settings[VENDOR] = "other"
            self.notes.append(
                f'{VENDOR}: Keycloak\'s vendor "{value}" ({_GENERIC_VENDORS[vendor]}) has no '
                "dialect of its own in passgate; it is treated as a generic RFC 3062 server "
                "(other)"
            )
            return "other"
        self.not_used["vendor"] = (
            f'"{value}" is not a Keycloak vendor passgate knows; set {VENDOR} yourself '
            "(other, rhds, ad or a plugin's name)"
        )
        return "other"

    def connection(self) -> list[str]:
        values = self.take("connectionUrl")
        # One value of space-separated URLs (Keycloak tries them in order); keep them all.
        urls = [url for value in values for url in value.split()]
        if not urls:
            self.notes.append(
                f"{CONNECTION_URL}: not in the export (connectionUrl); passgate requires it"
            )
            return []
        joined = " ".join(urls)
        if _PLACEHOLDER.fullmatch(joined):
            self.notes.append(
                f"{CONNECTION_URL}: the export holds the placeholder {joined} (connectionUrl), "
                "which Keycloak fills in at import; set it yourself"
            )
            return []
        self.settings[CONNECTION_URL] = joined
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
                self.notes.append(
                    f"{CONNECTION_URL}: {url} is not an ldap:// or ldaps:// URL with a host; "
                    "passgate will refuse it"
                )
        return urls

    def start_tls(self) -> bool:
        value = self.text("startTls", START_TLS)
        if value is None:
            return False
        if value.lower() in ("true", "false"):
            self.settings[START_TLS] = value.lower()
            return value.lower() == "true"
        self.not_used["startTls"] = f'"{value}" is neither true nor false'
        return False

    def bind(self) -> None:
        auth_type = self.take("authType")
        anonymous = bool(auth_type) and auth_type[0].strip().lower() == "none"
        if anonymous:
            self.not_used["authType"] = "none: Keycloak binds anonymously; passgate cannot"
            self.notes.append(
                "authType is none (anonymous bind) in Keycloak, but passgate needs a service "
                f"account: set {BIND_DN} and {BIND_CREDENTIAL} to one that may search "
                "the users DN"
            )
        elif auth_type:
            kind = auth_type[0].strip()
            self.not_used["authType"] = (
                "passgate always does a simple bind with the bind DN and credential"
                if kind.lower() == "simple"
                else f'"{kind}": passgate only does simple binds with the bind DN'
            )
        bind_dn = self.text("bindDn", BIND_DN, required=True)
        if bind_dn is not None:
            self.settings[BIND_DN] = bind_dn
        self.credential()

    def credential(self) -> None:
        values = self.take("bindCredential")
        if not values:
            self.notes.append(
                f"{BIND_CREDENTIAL}: not in the export (bindCredential); passgate requires it "
                "(the bind DN's password)"
            )
            return
        secret = values[0]
        stripped = secret.strip()
        placeholder = None
        if _MASK.fullmatch(stripped):
            placeholder = f'Keycloak\'s mask "{stripped}" (the admin console exports no secrets)'
        elif vault := _VAULT.fullmatch(stripped):
            placeholder = (
                f'a reference to Keycloak\'s vault (the password is in the vault as "{vault[1]}")'
            )
        elif _PLACEHOLDER.fullmatch(stripped):
            placeholder = "a placeholder Keycloak fills in at import (e.g. from the environment)"
        if placeholder is not None:
            self.notes.append(
                f"{BIND_CREDENTIAL}: the export holds {placeholder}, not the password; "
                "set it yourself"
            )
        elif self.include_secrets:
            self.settings[BIND_CREDENTIAL] = secret
        else:
            self.notes.append(
                f"{BIND_CREDENTIAL}: left out, it is a secret (the export has it; import with "
                "secrets included, --include-secrets, to write it here, or set it yourself)"
            )

    def object_classes(self) -> None:
        value = self.text("userObjectClasses", USER_OBJECT_CLASSES)
        if value is None:
            return
        classes = [c.strip() for c in value.split(",") if c.strip()]
        if classes:
            self.settings[USER_OBJECT_CLASSES] = ", ".join(classes)

    def user_id(self, vendor: str) -> None:
        values = self.take("uuidLDAPAttribute")
        if not values:
            return
        default = vendors.facts_for(vendor).user_id_attribute
        self.not_used["uuidLDAPAttribute"] = (
            f"Keycloak's user id attribute, {values[0].strip()}, is not passgate's 24-hex user "
            f"id; PASSGATE_LDAP_USER_ID_ATTRIBUTE stays at its default, {default}, "
            "unless you set it"
        )

    def search(self) -> None:
        values = self.take("customUserSearchFilter")
        if values:
            self.not_used["customUserSearchFilter"] = (
                f"set to {values[0].strip()}, but passgate has no custom search filter yet: "
                "users outside it can change passwords through passgate; check it"
            )
        value = self.text("searchScope", SEARCH_SCOPE)
        if value is None:
            return
        if value in _SCOPES:
            self.settings[SEARCH_SCOPE] = _SCOPES[value]
        else:
            self.not_used["searchScope"] = (
                f'"{value}" is neither 1 (one level) nor 2 (subtree); {SEARCH_SCOPE} stays sub'
            )

    def timeout(self, key: str) -> None:
        env, default, limit = _TIMEOUTS[key]
        value = self.text(key, env)
        if value is None:
            return
        try:
            millis = int(value)
        except ValueError:
            self.not_used[key] = f'"{value}" is not a number of milliseconds; {env} stays {default}'
            return
        if millis <= 0:
            self.not_used[key] = (
                f"{millis}: no time limit in Keycloak; passgate always has one, {env} stays "
                f"{default}"
            )
            return
        seconds = max(1, -(-millis // 1000))  # whole seconds, rounded up
        if seconds > limit:
            self.notes.append(
                f"{env}: {key} is {millis} ms; passgate allows at most {limit} s, so {limit}"
            )
            seconds = limit
        self.settings[env] = str(seconds)

    def transport_notes(self, urls: list[str], start_tls: bool, vendor: str) -> None:
        cleartext = [u for u in urls if urlsplit(u).scheme.lower() == "ldap"]
        if not start_tls and cleartext:
            facts = vendors.facts_for(vendor)
            if facts.encryption_required:
                self.notes.append(
                    f"{CONNECTION_URL}: {facts.display_name} refuses password changes "
                    f"without encryption, and passgate refuses to start like this: use ldaps:// "
                    f"or set {START_TLS}=true"
                )
            elif remote := [u for u in cleartext if not is_loopback(urlsplit(u).hostname)]:
                self.notes.append(
                    f"{CONNECTION_URL}: {' '.join(remote)} would send passwords in cleartext; "
                    f"passgate refuses to start like this: use ldaps://, set {START_TLS}=true, "
                    "or set PASSGATE_LDAP_ALLOW_INSECURE=true"
                )
        if start_tls or any(urlsplit(u).scheme.lower() == "ldaps" for u in urls):
            self.notes.append(
                "PASSGATE_LDAP_CA_FILE: not in the export (Keycloak trusts LDAP certificates "
                "through its truststore); unless a CA the system trusts signs the directory's "
                "certificate, set:\nPASSGATE_LDAP_CA_FILE=/path/to/ldap-ca.pem"
            )

    def token_hints(self, realm: str | None, frontend: str | None) -> None:
        if not realm:
            return
        path = f"/realms/{quote(realm, safe='')}"
        if frontend:
            base = frontend
            intro = f'Tokens: realm "{realm}" issues them, at its frontend URL {frontend}'
        else:
            base = "https://<keycloak host>"
            intro = (
                f'Tokens: realm "{realm}" issues them; replace <keycloak host> with Keycloak\'s '
                "public address (add /auth after it for Keycloak 16 and older)"
            )
        self.notes.append(
            f"{intro}. Set these, or PASSGATE_AUTH_PUBLIC_KEY_FILE instead of the JWKS URL:\n"
            f"PASSGATE_AUTH_ISSUER={base}{path}\n"
            f"PASSGATE_AUTH_JWKS_URL={base}{path}/protocol/openid-connect/certs"
        )


# -- small helpers ------------------------------------------------------------


def _str_keys(value: Mapping[object, object]) -> dict[str, object]:
    return {str(k): v for k, v in value.items()}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


_NEEDS_QUOTES = re.compile(r"""[\s#"'$\\]""")


def _env_value(value: str) -> str:
    """``value`` as a .env value: bare when safe, else double-quoted with escapes."""
    if not _NEEDS_QUOTES.search(value):
        return value
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'
