"""Mapping a Keycloak LDAP provider's config to passgate's settings, key by key.

Each key Keycloak writes becomes a ``PASSGATE_*`` setting, a note (check or
set it by hand), or a "not used" line saying why passgate has no use for it.
The bind credential is only ever kept when asked for, and a placeholder
(Keycloak's mask ``**********``, a ``${vault.key}`` reference) is never
mistaken for a password.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit

from passgate import vendors
from passgate.config import is_loopback, ldap_url_problem
from passgate.tools.keycloak.names import (
    BIND_CREDENTIAL,
    BIND_DN,
    CONNECT_TIMEOUT,
    CONNECTION_URL,
    CUSTOM_USER_FILTER,
    OPERATION_TIMEOUT,
    ORDER,
    SEARCH_SCOPE,
    START_TLS,
    USER_OBJECT_CLASSES,
    USERNAME_ATTRIBUTE,
    USERS_DN,
    VENDOR,
)
from passgate.tools.keycloak.read import LdapFederation
from passgate.tools.keycloak.render import ImportedSettings

__all__ = ["settings_for"]

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


def settings_for(federation: LdapFederation, include_secrets: bool = False) -> ImportedSettings:
    """The settings ``federation`` amounts to; the bind credential only with ``include_secrets``."""
    builder = _Builder(federation.name, federation.config, include_secrets)
    builder.run()
    builder.token_hints(federation.realm, federation.frontend_url)
    return builder.result()


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
            settings={k: self.settings[k] for k in ORDER if k in self.settings},
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
            problem = ldap_url_problem(url)
            if problem is not None:
                self.notes.append(f"{CONNECTION_URL}: {url} {problem}; passgate will refuse it")
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
        custom = self.text("customUserSearchFilter", CUSTOM_USER_FILTER)
        if custom is not None:
            # Keycloak requires the same shape (LDAPConstants: "(" ... ")").
            if custom.startswith("(") and custom.endswith(")"):
                self.settings[CUSTOM_USER_FILTER] = custom
            else:
                self.notes.append(
                    f"{CUSTOM_USER_FILTER}: Keycloak's customUserSearchFilter {custom} is not "
                    "a filter in parentheses; passgate would refuse it: set it yourself, or "
                    "users Keycloak leaves out could change passwords through passgate"
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
        # The URLs connection() noted as broken say nothing about the transport.
        split = {u: parts for u in urls if (parts := _split(u)) is not None}
        cleartext = [u for u, parts in split.items() if parts.scheme.lower() == "ldap"]
        if not start_tls and cleartext:
            facts = vendors.facts_for(vendor)
            if facts.encryption_required:
                self.notes.append(
                    f"{CONNECTION_URL}: {facts.display_name} refuses password changes "
                    f"without encryption, and passgate refuses to start like this: use ldaps:// "
                    f"or set {START_TLS}=true"
                )
            elif remote := [u for u in cleartext if not is_loopback(split[u].hostname)]:
                self.notes.append(
                    f"{CONNECTION_URL}: {' '.join(remote)} would send passwords in cleartext; "
                    f"passgate refuses to start like this: use ldaps://, set {START_TLS}=true, "
                    "or set PASSGATE_LDAP_ALLOW_INSECURE=true"
                )
        if start_tls or any(parts.scheme.lower() == "ldaps" for parts in split.values()):
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


def _split(url: str) -> SplitResult | None:
    """``urlsplit``, or None for a URL it cannot split (``ldap://[::1``)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None
