"""Every setting passgate reads, in sections, built by a factory.

Names follow Keycloak's LDAP user federation (``connectionUrl`` becomes
``PASSGATE_LDAP_CONNECTION_URL`` and so on). Values come from the
environment and from ``.env``; nothing is read at import time.

Each subsystem is built from its own section (:class:`LdapSettings`,
:class:`AuthSettings`, :class:`PolicySettings`, :class:`LimiterSettings`,
:class:`HttpSettings`, :class:`PortalSettings`); :class:`Settings` only holds them. A field
``x`` of a section with prefix ``PASSGATE_LDAP_`` is the variable
``PASSGATE_LDAP_X``; the few that do not follow their section's prefix say
so with an alias, so that every variable keeps the name it always had.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passgate import vendors
from passgate.errors import ConfigurationError

ENV_PREFIX = "PASSGATE_"


def env_name(field_name: str) -> str:
    """``ldap_bind_dn`` -> ``PASSGATE_LDAP_BIND_DN`` (a variable's name without the prefix)."""
    return ENV_PREFIX + field_name.upper()


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """``"10.0.0.0/8, 192.0.2.7"`` -> networks; raises ``ValueError`` naming a bad entry."""
    networks: list[Network] = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return networks


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (IPv6 in brackets too)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def split_url(url: str) -> SplitResult:
    """``urlsplit`` with its port read: ``ValueError`` saying what is wrong, quoting nothing.

    ``urlsplit`` raises on an unbalanced ``[`` and reads the port only when asked
    (``ldap://host:99999`` splits fine, and fails only when a connection is
    made); both are found here, at start-up. The message quotes no part of
    the URL, which may hold a password (``redis://:secret@host``).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("not a valid URL (is a [ ] around an IPv6 address unbalanced?)") from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    return parts


def ldap_url_problem(url: str) -> str | None:
    """What is wrong with one of ``PASSGATE_LDAP_CONNECTION_URL``'s URLs (said after it)."""
    try:
        parts = split_url(url)
    except ValueError as exc:
        return f"is not usable: {exc}"
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        return "is not an ldap:// or ldaps:// URL with a host"
    return None


def _named_split(url: str, variable: str) -> SplitResult:
    """:func:`split_url` in a model validator, whose errors pydantic does not locate: named here."""
    try:
        return split_url(url)
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None


def _blank_is_unset(value: Any) -> Any:
    """An empty or all-blank value (``PASSGATE_X=`` in a compose file) means "not set"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def ca_file_problem(path: Path) -> str | None:
    """Why ``path`` is no CA file TLS could use (a readable file of PEM certificates), or None."""
    if not path.is_file():
        return f"{path} is not a file" + (" (a directory)" if path.is_dir() else "")
    try:
        ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError too: no PEM certificate in it
        reason = exc.strerror if exc.strerror and not isinstance(exc, ssl.SSLError) else None
        return f"{path} " + (
            f"cannot be read ({reason})"
            if reason
            else "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    return None


def audit_path_problem(path: Path) -> str | None:
    """Why a file cannot be opened at ``path`` for appending (without creating it), or None."""
    if path.is_dir():
        return f"{path} is a directory; give a file's path (or stdout, or off)"
    if path.exists():
        if not os.access(path, os.W_OK):
            return f"{path} cannot be written (permissions)"
        return None
    parent = path.parent
    if not parent.is_dir():
        return f"{path}: the directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: no file can be created in {parent} (permissions)"
    return None


def metrics_listener_problem(host: str, port: int, error: OSError) -> str:
    """The one line that says why the /metrics listener could not start."""
    return (
        f"PASSGATE_METRICS_HOST={host}, PASSGATE_METRICS_PORT={port}: cannot listen for "
        f"/metrics ({error.strerror or error})"
    )


def host_problem(host: str) -> str | None:
    """Why ``host`` is no address to listen on (an IP address or a name that resolves), or None."""
    if not host.strip():
        return "must be an IP address or a host name"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # ValueError: UnicodeError (an IDNA label), a NUL
        return (
            f"{host!r} is neither an IP address (IPv6 without brackets) nor a name this "
            "host resolves"
        )
    return None


class Section(BaseSettings):
    """One group of settings, read from the environment and ``.env`` under its prefix."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of one of this section's fields."""
        info = cls.model_fields[field]
        if isinstance(info.validation_alias, str):
            return info.validation_alias
        return str(cls.model_config.get("env_prefix", "")) + field.upper()

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Variable name -> field name, for every field of this section."""
        return {cls.variable(field): field for field in cls.model_fields}


class LdapSettings(Section):
    """The directory (Keycloak: LDAP user federation)."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_LDAP_")

    connection_url: str
    start_tls: bool = False
    ca_file: Path | None = None
    # Name to check the server certificate against, when the URL's host is not
    # in it (e.g. connecting by IP to a DC whose certificate names dc1.corp.example).
    tls_server_name: str | None = None
    bind_dn: str
    bind_credential: SecretStr
    users_dn: str
    user_id_attribute: str = "passgateUserId"
    username_attribute: str = "uid"
    user_object_classes: str = "inetOrgPerson"
    vendor: str = "other"  # a dialect: other, rhds, ad, or a plugin's name
    allow_insecure: bool = False
    search_scope: Literal["sub", "one"] = "sub"
    user_dn_template: str | None = None
    # Keycloak's customUserSearchFilter: ANDed into every user lookup, so
    # people Keycloak leaves out (e.g. disabled AD accounts) are 404 here too.
    custom_user_filter: str | None = None
    # search, template, or a plugin's name (entry points, group passgate.mappers);
    # unset: template when PASSGATE_LDAP_USER_DN_TEMPLATE is set, else search.
    user_mapper: str | None = None
    connect_timeout: int = Field(default=5, ge=1, le=300)  # seconds
    operation_timeout: int = Field(default=10, ge=1, le=600)  # seconds
    max_concurrency: int = Field(default=32, ge=1, le=1024)
    # idle connections kept per pool; unset: max_concurrency, so that a busy moment's
    # connections are all kept for the next one instead of closed and opened again
    pool_size: int | None = Field(default=None, ge=0, le=1024)
    pool_max_idle: float = Field(default=60.0, ge=0, le=3600)  # seconds
    dn_cache_ttl: float = Field(default=60.0, ge=0, le=3600)  # seconds; 0 disables
    # seconds the lockout guard reuses a policy entry's threshold it read; 0 disables
    policy_cache_ttl: float = Field(default=10.0, ge=0, le=3600)
    default_policy_dn: str | None = None  # OpenLDAP: olcPPolicyDefault, to show it

    @property
    def idle_pool_size(self) -> int:
        return self.max_concurrency if self.pool_size is None else self.pool_size

    @property
    def urls(self) -> list[str]:
        return self.connection_url.split()

    @property
    def object_classes(self) -> list[str]:
        return _comma_list(self.user_object_classes)

    @model_validator(mode="before")
    @classmethod
    def _vendor_defaults(cls, data: Any) -> Any:
        """Attributes default per vendor (as in Keycloak), unless set explicitly."""
        if not isinstance(data, dict):
            return data
        try:
            facts = vendors.facts_for(str(data.get("vendor", "other")))
        except KeyError:
            return data  # the vendor's own validator names the known ones
        data.setdefault("username_attribute", facts.username_attribute)
        data.setdefault("user_id_attribute", facts.user_id_attribute)
        data.setdefault("user_object_classes", ", ".join(facts.user_object_classes))
        return data

    @field_validator("ca_file", mode="before")
    @classmethod
    def _ca_file_unset(cls, value: Any) -> Any:
        return _blank_is_unset(value)

    @field_validator("ca_file")
    @classmethod
    def _ca_file_usable(cls, value: Path | None) -> Path | None:
        # Checked here, not when ldap3 first loads it (a traceback, or later a failed connect).
        if value is not None and (problem := ca_file_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("bind_dn", "users_dn", "user_id_attribute", "username_attribute")
    @classmethod
    def _required_text(cls, value: str) -> str:
        return _not_blank(value)

    @field_validator("bind_credential")
    @classmethod
    def _some_credential(cls, value: SecretStr) -> SecretStr:
        # An empty password makes a simple bind an unauthenticated one (RFC 4513 5.1.2).
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @field_validator("vendor")
    @classmethod
    def _known_vendor(cls, value: str) -> str:
        try:
            vendors.facts_for(value)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return value

    @field_validator("connection_url")
    @classmethod
    def _urls_are_ldap(cls, value: str) -> str:
        urls = value.split()
        if not urls:
            raise ValueError("at least one ldap:// or ldaps:// URL is required")
        for url in urls:
            problem = ldap_url_problem(url)
            if problem is not None:
                raise ValueError(f"{url!r} {problem}")
        return value

    @field_validator("tls_server_name")
    @classmethod
    def _real_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "*" in value):
            raise ValueError("must be a host name (wildcards would disable the check)")
        return value

    @field_validator("user_object_classes")
    @classmethod
    def _some_object_class(cls, value: str) -> str:
        if not _comma_list(value):
            raise ValueError("at least one object class is required")
        return value

    @field_validator("custom_user_filter")
    @classmethod
    def _one_parenthesised_filter(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        from ldap3.core.exceptions import LDAPInvalidFilterError
        from ldap3.operation.search import parse_filter

        problem = None
        if not (value.startswith("(") and value.endswith(")")):
            problem = "must be an LDAP filter in parentheses, e.g. (memberOf=cn=staff,...)"
        else:
            try:
                parse_filter(value, None, False, False, None, False)
            except LDAPInvalidFilterError as exc:
                problem = f"not a valid LDAP filter ({exc})"
        if problem is not None:
            raise ValueError(problem)  # the loader prefixes the variable's name
        return value

    @field_validator("user_dn_template")
    @classmethod
    def _template_has_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{userId}" not in value:
            raise ValueError("must contain the placeholder {userId}")
        return value

    @model_validator(mode="after")
    def _encrypted(self) -> LdapSettings:
        if self.start_tls or self.allow_insecure:
            return self
        facts = vendors.facts_for(self.vendor)
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme.lower() != "ldap":
                continue
            if facts.encryption_required:
                raise ValueError(
                    f"{env_name('ldap_connection_url')}: {facts.display_name} "
                    f"refuses password changes without encryption; use ldaps:// or set "
                    f"{env_name('ldap_start_tls')}=true"
                )
            if not is_loopback(parts.hostname or ""):
                raise ValueError(
                    f"{env_name('ldap_connection_url')}: {url} would send passwords in "
                    f"cleartext; use ldaps://, set {env_name('ldap_start_tls')}=true, or "
                    f"set {env_name('ldap_allow_insecure')}=true"
                )
        return self


class AuthSettings(Section):
    """Who may call: bearer tokens (JWKS or a fixed key) and API keys."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_AUTH_")

    jwks_url: str | None = None
    public_key_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None
    user_id_claim: str = "sub"
    username_claim: str = "preferred_username"
    admin_role: str = "password-admin"
    leeway: int = Field(default=10, ge=0, le=300)  # seconds of clock skew
    jwks_min_refresh_interval: float = Field(default=30.0, ge=0, le=3600)
    jwks_cache_ttl: float = Field(default=3600.0, gt=0, le=86400)
    jwks_timeout: float = Field(default=5.0, gt=0, le=60)
    jwks_allow_insecure: bool = False  # plain http:// JWKS to a host other than loopback
    token_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)  # 0 disables
    api_keys_file: Path | None = Field(default=None, validation_alias="PASSGATE_API_KEYS_FILE")
    # Only access tokens: Keycloak's typ claim "Bearer" or RFC 9068's header typ "at+jwt".
    # True also lets in tokens with neither (other issuers'); an ID or refresh typ never.
    allow_untyped_tokens: bool = False
    allowed_clients: str = ""  # comma-separated azp (client_id) values; empty: any client
    admin_client: str | None = None  # the admin role counts only from this client's roles

    @property
    def allowed_client_ids(self) -> frozenset[str]:
        return frozenset(_comma_list(self.allowed_clients))

    @field_validator(
        "jwks_url", "public_key_file", "issuer", "audience", "api_keys_file", mode="before"
    )
    @classmethod
    def _unset_when_blank(cls, value: Any) -> Any:
        return _blank_is_unset(value)

    @field_validator("user_id_claim", "username_claim", "admin_role")
    @classmethod
    def _required_text(cls, value: str) -> str:
        return _not_blank(value)

    @field_validator("admin_client")
    @classmethod
    def _client_named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a client id, or unset")  # the loader prefixes the variable's name
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _coherent(self) -> AuthSettings:
        if self.jwks_url:
            parts = _named_split(self.jwks_url, env_name("auth_jwks_url"))
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{env_name('auth_jwks_url')}: must be an https URL with a host")
            if scheme == "http" and not (is_loopback(parts.hostname) or self.jwks_allow_insecure):
                # Whoever can answer for that host could sign every token passgate accepts.
                raise ValueError(
                    f"{env_name('auth_jwks_url')}: must be https (plain http only to "
                    f"loopback, or with {env_name('auth_jwks_allow_insecure')}=true)"
                )
        if self.jwks_url and self.public_key_file:
            raise ValueError(
                f"{env_name('auth_jwks_url')} and {env_name('auth_public_key_file')}: "
                "set one, not both"
            )
        if (self.jwks_url or self.public_key_file) and not self.issuer:
            raise ValueError(
                f"{env_name('auth_issuer')}: required when tokens are accepted "
                f"({env_name('auth_jwks_url')} or {env_name('auth_public_key_file')})"
            )
        if not (self.jwks_url or self.public_key_file or self.api_keys_file):
            raise ValueError(
                f"{env_name('auth_public_key_file')}: no way to authenticate callers; set "
                f"it, {env_name('auth_jwks_url')} or {env_name('api_keys_file')}"
            )
        return self


class PolicySettings(Section):
    """passgate's own password rules (the directory's apply as well)."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_POLICY_")

    min_length: int = Field(default=8, ge=8, le=128)
    max_length: int = Field(default=128, ge=8, le=128)
    same_as_old: bool = True
    contains_username: bool = True
    name_attributes: str = ""  # e.g. "cn, givenName, sn, mail" (mail: its local part)
    min_token_length: int = Field(default=3, ge=1, le=64)
    min_strength: int = Field(default=0, ge=0, le=4)  # zxcvbn score; 0: not checked
    min_lowercase: int = Field(default=0, ge=0, le=128)
    min_uppercase: int = Field(default=0, ge=0, le=128)
    min_digits: int = Field(default=0, ge=0, le=128)
    min_symbols: int = Field(default=0, ge=0, le=128)
    forbidden_file: Path | None = None  # one password per line, case-insensitive

    @property
    def name_attribute_list(self) -> tuple[str, ...]:
        return tuple(_comma_list(self.name_attributes))

    @field_validator("forbidden_file", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: Any) -> Any:
        return _blank_is_unset(value)

    @model_validator(mode="after")
    def _coherent(self) -> PolicySettings:
        if self.min_length > self.max_length:
            raise ValueError(
                f"{env_name('policy_min_length')} ({self.min_length}) is above "
                f"{env_name('policy_max_length')} ({self.max_length})"
            )
        minimums = {
            key: getattr(self, key)
            for key in ("min_lowercase", "min_uppercase", "min_digits", "min_symbols")
            if getattr(self, key)
        }
        if sum(minimums.values()) > self.max_length:
            # No password could satisfy them all: every change would be refused.
            named = " + ".join(f"{self.variable(key)} ({n})" for key, n in minimums.items())
            raise ValueError(
                f"{named} = {sum(minimums.values())} characters, above "
                f"{env_name('policy_max_length')} ({self.max_length}): no password fits"
            )
        if self.forbidden_file is not None and not self.forbidden_file.is_file():
            raise ValueError(
                f"{env_name('policy_forbidden_file')}: {self.forbidden_file} is not a file"
            )
        return self


class LimiterSettings(Section):
    """The attempt limiter: failed old passwords counted before the directory sees more."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_LIMITER_")

    url: str = "memory://"  # or redis://host:port/db, rediss://..., unix://...
    user_failures: int = Field(default=3, ge=0, le=1000)  # per directory entry per window; 0: off
    address_failures: int = Field(default=20, ge=0, le=100_000)  # per address; 0: off
    window: float = Field(default=900.0, ge=1, le=86400)  # seconds, sliding
    # Seconds a second attempt for one entry waits for the first before 429 (0: at once).
    busy_wait: float = Field(default=2.0, ge=0, le=30)

    @field_validator("url")
    @classmethod
    def _limiter_url(cls, value: str) -> str:
        # No message here quotes the URL: it may hold the store's password.
        parts = split_url(value.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("memory", "redis", "rediss", "unix"):
            raise ValueError("must be memory://, redis://, rediss:// or unix://")
        if scheme in ("redis", "rediss"):
            database = parts.path.strip("/")
            if database and not database.isdigit():
                raise ValueError("the database after the host must be a number (redis://host/0)")
        if scheme != "memory":
            from redis import ConnectionPool

            try:  # as the limiter's client will read it (a pool connects on first use only)
                ConnectionPool.from_url(value.strip())
            except ValueError:
                raise ValueError(
                    "not a URL the Redis client takes (check its ?query options)"
                ) from None
        return value.strip()


class HttpSettings(Section):
    """The HTTP side: proxies believed, the audit log, readiness, the server's limits."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_")

    audit_log: str = "stdout"  # one JSON line per change attempt: stdout, off, or a file path
    ready_cache_seconds: float = Field(default=5.0, ge=0, le=300)  # /readyz result reuse
    # A Server-Timing header on change answers: where the time went (see passgate.timing)
    server_timing: bool = False
    trusted_proxies: str = ""  # addresses/networks whose X-Forwarded-For is believed
    # /metrics only on this port (a second listener in the same process); unset: on the API's.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"  # the metrics listener's address (0.0.0.0: all)
    # uvicorn: seconds an idle keep-alive connection is kept open
    keep_alive_timeout: int = Field(
        default=5, ge=1, le=300, validation_alias="PASSGATE_HTTP_KEEP_ALIVE_TIMEOUT"
    )
    # seconds a request (head and body) may take to arrive (from the connection's opening,
    # for the first request); slower: 408 and closed (against clients that hold connections)
    request_timeout: float = Field(
        default=10.0, ge=1, le=300, validation_alias="PASSGATE_HTTP_REQUEST_TIMEOUT"
    )
    # uvicorn: connections and requests in progress at once; beyond it, 503 at once
    limit_concurrency: int = Field(
        default=1000, ge=1, le=100_000, validation_alias="PASSGATE_HTTP_LIMIT_CONCURRENCY"
    )
    # uvicorn: seconds a shutdown waits for requests in progress before closing them
    graceful_shutdown_timeout: int = Field(
        default=30, ge=0, le=3600, validation_alias="PASSGATE_HTTP_GRACEFUL_SHUTDOWN_TIMEOUT"
    )

    @property
    def trusted_proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @field_validator("audit_log")
    @classmethod
    def _audit_destination(cls, value: str) -> str:
        where = value.strip()
        if not where:
            return "stdout"  # empty: unset, the default
        if where.lower() in ("stdout", "off"):
            return where
        problem = audit_path_problem(Path(where))
        if problem is not None:
            raise ValueError(problem)
        return where

    @model_validator(mode="after")
    def _metrics_listener(self) -> HttpSettings:
        if self.metrics_port is not None:
            problem = host_problem(self.metrics_host)
            if problem is not None:
                raise ValueError(
                    f"{env_name('metrics_host')}: {problem} (the address of the /metrics "
                    f"listener on {env_name('metrics_port')})"
                )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_networks(value)
        return value


# A CSS colour as the theme variables take it: #rgb, #rrggbb(aa), or a name.
CSS_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,20})$")


class PortalSettings(Section):
    """The self-service page at ``/portal`` (off by default): its OpenID Connect client.

    The page signs people in at ``issuer_url`` (discovery document) with the
    authorization code flow and PKCE; ``client_secret`` is for a confidential
    client and stays unset for a public (PKCE-only) one. ``cookie_secret``
    signs the session cookie and, through a derived key, encrypts the tokens
    it carries.
    """

    model_config = SettingsConfigDict(env_prefix="PASSGATE_PORTAL_")

    enabled: bool = False
    issuer_url: str | None = None  # e.g. https://kc.example.org/realms/staff
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_url: str | None = None  # this service's public URL of /portal/callback
    cookie_secret: SecretStr | None = None
    scope: str = "openid profile email"
    helpdesk: str = ""  # who to ask when locked or expired: "IT service desk, +49 30 1234-0"
    title: str = ""  # the page's heading; empty: the catalogue's
    logo_url: str | None = None  # https://... or a path on this service
    accent_colour: str = "#1f5fbf"
    background_colour: str = "#f4f6f9"
    text_colour: str = "#1b1f24"

    @property
    def secure_cookie(self) -> bool:
        """The cookie is ``Secure`` whenever the page is served over https."""
        return urlsplit(self.redirect_url or "").scheme == "https"

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.redirect_url or "")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("accent_colour", "background_colour", "text_colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not CSS_COLOUR.fullmatch(value):
            raise ValueError("must be a CSS colour: #rgb, #rrggbb or a colour name")
        return value

    @model_validator(mode="after")
    def _complete(self) -> PortalSettings:
        if not self.enabled:
            return self
        name = self.variable
        for key in ("issuer_url", "client_id", "redirect_url", "cookie_secret"):
            if not getattr(self, key):
                raise ValueError(f"{name(key)}: required when {name('enabled')}=true")
        for key in ("issuer_url", "redirect_url"):
            parts = _named_split(str(getattr(self, key)), name(key))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{name(key)}: must be an http(s) URL")
            if parts.scheme == "http" and not is_loopback(parts.hostname):
                raise ValueError(f"{name(key)}: http:// only on loopback; the sign-in needs https")
        if not urlsplit(str(self.redirect_url)).path.endswith("/portal/callback"):
            raise ValueError(
                f"{name('redirect_url')}: must be this service's public URL of /portal/callback"
            )
        secret = self.cookie_secret.get_secret_value() if self.cookie_secret else ""
        if len(secret.encode()) < 32:
            raise ValueError(
                f"{name('cookie_secret')}: must be at least 32 bytes (e.g. openssl rand -hex 32)"
            )
        if self.logo_url and not (
            self.logo_url.startswith("/")
            or _named_split(self.logo_url, name("logo_url")).scheme == "https"
        ):
            raise ValueError(f"{name('logo_url')}: must be an https:// URL or a path")
        if "openid" not in self.scope.split():
            raise ValueError(f"{name('scope')}: must include openid")
        return self


@dataclass(frozen=True)
class Settings:
    """passgate's configuration: one section per subsystem."""

    ldap: LdapSettings
    auth: AuthSettings
    policy: PolicySettings
    limiter: LimiterSettings
    http: HttpSettings
    # Off unless configured: settings built by hand (tests) need not name it.
    portal: PortalSettings = dataclass_field(default_factory=PortalSettings.model_construct)

    @staticmethod
    def variables() -> list[str]:
        """Every environment variable passgate reads."""
        return [name for section in SECTIONS for name in section.variables()]


SECTIONS: tuple[type[Section], ...] = (
    LdapSettings,
    AuthSettings,
    PolicySettings,
    LimiterSettings,
    HttpSettings,
    PortalSettings,
)
S = TypeVar("S", bound=Section)


def _section_values(section: type[Section], overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides (keyed like variables without the prefix, ``ldap_bind_dn``) of one section."""
    values = {}
    for variable, field in section.variables().items():
        key = variable.removeprefix(ENV_PREFIX).lower()
        if key in overrides:
            values[field] = overrides[key]
    return values


def _describe(section: type[Section], error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        loc = item.get("loc", ())
        msg = str(item.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if loc and str(loc[0]) in section.model_fields:
            variable = section.variable(str(loc[0]))
            lines.append(msg if msg.startswith(f"{variable}:") else f"{variable}: {msg}")
        elif loc and str(loc[0]).startswith(ENV_PREFIX):
            lines.append(f"{loc[0]}: {msg}")
        else:
            lines.append(msg)
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment (and ``.env``), or raise a readable error.

    ``overrides`` are keyed like the variables without ``PASSGATE_`` in lower
    case (``ldap_bind_dn=...``); ``_env_file`` names another ``.env`` (None: none).
    Every section is read, so that one error lists every bad variable.
    """
    options = {k: v for k, v in overrides.items() if k.startswith("_")}
    problems: list[str] = []

    def build(section: type[S]) -> S:
        try:
            return section(**options, **_section_values(section, overrides))
        except ValidationError as exc:
            problems.extend(_describe(section, exc))
            return section.model_construct()

    settings = Settings(
        ldap=build(LdapSettings),
        auth=build(AuthSettings),
        policy=build(PolicySettings),
        limiter=build(LimiterSettings),
        http=build(HttpSettings),
        portal=build(PortalSettings),
    )
    if problems:
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(problems))
    return settings
