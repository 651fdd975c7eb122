"""Every setting passgate reads, in one class, built by a factory.

Names follow Keycloak's LDAP user federation (``connectionUrl`` becomes
``PASSGATE_LDAP_CONNECTION_URL`` and so on). Values come from the
environment and from ``.env``; nothing is read at import time.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passgate import vendors
from passgate.errors import ConfigurationError

ENV_PREFIX = "PASSGATE_"


def env_name(field_name: str) -> str:
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


class Settings(BaseSettings):
    """passgate's configuration. Field ``x_y`` is the variable ``PASSGATE_X_Y``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # -- LDAP (Keycloak: LDAP user federation) --------------------------------
    ldap_connection_url: str
    ldap_start_tls: bool = False
    ldap_ca_file: Path | None = None
    # Name to check the server certificate against, when the URL's host is not
    # in it (e.g. connecting by IP to a DC whose certificate names dc1.corp.example).
    ldap_tls_server_name: str | None = None
    ldap_bind_dn: str
    ldap_bind_credential: SecretStr
    ldap_users_dn: str
    ldap_user_id_attribute: str = "passgateUserId"
    ldap_username_attribute: str = "uid"
    ldap_user_object_classes: str = "inetOrgPerson"
    ldap_vendor: str = "other"  # a dialect: other, rhds, ad, or a plugin's name
    ldap_allow_insecure: bool = False
    ldap_search_scope: Literal["sub", "one"] = "sub"
    ldap_user_dn_template: str | None = None
    # search, template, or a plugin's name (entry points, group passgate.mappers);
    # unset: template when PASSGATE_LDAP_USER_DN_TEMPLATE is set, else search.
    ldap_user_mapper: str | None = None
    ldap_connect_timeout: int = Field(default=5, ge=1, le=300)  # seconds
    ldap_operation_timeout: int = Field(default=10, ge=1, le=600)  # seconds
    ldap_max_concurrency: int = Field(default=32, ge=1, le=1024)
    ldap_pool_size: int = Field(default=16, ge=0, le=1024)  # idle connections kept per pool
    ldap_pool_max_idle: float = Field(default=60.0, ge=0, le=3600)  # seconds
    ldap_dn_cache_ttl: float = Field(default=60.0, ge=0, le=3600)  # seconds; 0 disables

    # -- callers ---------------------------------------------------------------
    auth_jwks_url: str | None = None
    auth_public_key_file: Path | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_user_id_claim: str = "sub"
    auth_username_claim: str = "preferred_username"
    auth_admin_role: str = "password-admin"
    auth_leeway: int = Field(default=10, ge=0, le=300)  # seconds of clock skew
    auth_jwks_min_refresh_interval: float = Field(default=30.0, ge=0, le=3600)
    auth_jwks_cache_ttl: float = Field(default=3600.0, gt=0, le=86400)
    auth_jwks_timeout: float = Field(default=5.0, gt=0, le=60)
    auth_token_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)  # 0 disables
    api_keys_file: Path | None = None

    # -- passgate's own password rules (the directory's apply as well) -------------
    ldap_default_policy_dn: str | None = None  # OpenLDAP: olcPPolicyDefault, to show it
    policy_min_length: int = Field(default=8, ge=8, le=128)
    policy_max_length: int = Field(default=128, ge=8, le=128)
    policy_same_as_old: bool = True
    policy_contains_username: bool = True
    policy_name_attributes: str = ""  # e.g. "cn, givenName, sn, mail" (mail: its local part)
    policy_min_token_length: int = Field(default=3, ge=1, le=64)
    policy_min_strength: int = Field(default=0, ge=0, le=4)  # zxcvbn score; 0: not checked
    policy_min_lowercase: int = Field(default=0, ge=0, le=128)
    policy_min_uppercase: int = Field(default=0, ge=0, le=128)
    policy_min_digits: int = Field(default=0, ge=0, le=128)
    policy_min_symbols: int = Field(default=0, ge=0, le=128)
    policy_forbidden_file: Path | None = None  # one password per line, case-insensitive

    # -- operations ------------------------------------------------------------------
    audit_log: str = "stdout"  # one JSON line per change attempt: stdout, off, or a file path
    ready_cache_seconds: float = Field(default=5.0, ge=0, le=300)  # /readyz result reuse

    # -- attempt limiter ---------------------------------------------------------
    limiter_url: str = "memory://"  # or redis://host:port/db, rediss://..., unix://...
    limiter_user_failures: int = Field(default=3, ge=0, le=1000)  # per user per window; 0: off
    limiter_address_failures: int = Field(default=20, ge=0, le=100_000)  # per address; 0: off
    limiter_window: float = Field(default=900.0, ge=1, le=86400)  # seconds, sliding
    trusted_proxies: str = ""  # addresses/networks whose X-Forwarded-For is believed

    # -- derived views ---------------------------------------------------------

    @property
    def ldap_urls(self) -> list[str]:
        return self.ldap_connection_url.split()

    @property
    def name_attributes(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.policy_name_attributes.split(",") if a.strip())

    @property
    def trusted_proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @property
    def user_object_classes(self) -> list[str]:
        return [c.strip() for c in self.ldap_user_object_classes.split(",") if c.strip()]

    # -- checks ------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _vendor_defaults(cls, data: Any) -> Any:
        """Attributes default per vendor (as in Keycloak), unless set explicitly."""
        if not isinstance(data, dict):
            return data
        try:
            facts = vendors.facts_for(str(data.get("ldap_vendor", "other")))
        except KeyError:
            return data  # the vendor's own validator names the known ones
        data.setdefault("ldap_username_attribute", facts.username_attribute)
        data.setdefault("ldap_user_id_attribute", facts.user_id_attribute)
        data.setdefault("ldap_user_object_classes", ", ".join(facts.user_object_classes))
        return data

    @field_validator("ldap_vendor")
    @classmethod
    def _known_vendor(cls, value: str) -> str:
        try:
            vendors.facts_for(value)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return value

    @field_validator("ldap_connection_url")
    @classmethod
    def _urls_are_ldap(cls, value: str) -> str:
        urls = value.split()
        if not urls:
            raise ValueError("at least one ldap:// or ldaps:// URL is required")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
                raise ValueError(f"{url!r} is not an ldap:// or ldaps:// URL with a host")
        return value

    @field_validator("limiter_url")
    @classmethod
    def _limiter_url(cls, value: str) -> str:
        if urlsplit(value).scheme.lower() not in ("memory", "redis", "rediss", "unix"):
            raise ValueError("must be memory://, redis://, rediss:// or unix://")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("ldap_tls_server_name")
    @classmethod
    def _real_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "*" in value):
            raise ValueError("must be a host name (wildcards would disable the check)")
        return value

    @field_validator("ldap_user_object_classes")
    @classmethod
    def _some_object_class(cls, value: str) -> str:
        if not [c for c in value.split(",") if c.strip()]:
            raise ValueError("at least one object class is required")
        return value

    @field_validator("ldap_user_dn_template")
    @classmethod
    def _template_has_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{userId}" not in value:
            raise ValueError("must contain the placeholder {userId}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.policy_min_length > self.policy_max_length:
            raise ValueError(
                f"{env_name('policy_min_length')} ({self.policy_min_length}) is above "
                f"{env_name('policy_max_length')} ({self.policy_max_length})"
            )
        if self.policy_forbidden_file is not None and not self.policy_forbidden_file.is_file():
            raise ValueError(
                f"{env_name('policy_forbidden_file')}: {self.policy_forbidden_file} is not a file"
            )
        facts = vendors.facts_for(self.ldap_vendor)
        if facts.encryption_required and not (self.ldap_start_tls or self.ldap_allow_insecure):
            for url in self.ldap_urls:
                if urlsplit(url).scheme.lower() == "ldap":
                    raise ValueError(
                        f"{env_name('ldap_connection_url')}: {facts.display_name} "
                        f"refuses password changes without encryption; use ldaps:// or set "
                        f"{env_name('ldap_start_tls')}=true"
                    )
        if not (self.ldap_start_tls or self.ldap_allow_insecure):
            for url in self.ldap_urls:
                parts = urlsplit(url)
                if parts.scheme.lower() == "ldap" and not is_loopback(parts.hostname or ""):
                    raise ValueError(
                        f"{env_name('ldap_connection_url')}: {url} would send passwords in "
                        f"cleartext; use ldaps://, set {env_name('ldap_start_tls')}=true, or "
                        f"set {env_name('ldap_allow_insecure')}=true"
                    )
        if self.auth_jwks_url and urlsplit(self.auth_jwks_url).scheme not in ("http", "https"):
            raise ValueError(f"{env_name('auth_jwks_url')}: must be an http(s) URL")
        if self.auth_jwks_url and self.auth_public_key_file:
            raise ValueError(
                f"{env_name('auth_jwks_url')} and {env_name('auth_public_key_file')}: "
                "set one, not both"
            )
        if (self.auth_jwks_url or self.auth_public_key_file) and not self.auth_issuer:
            raise ValueError(
                f"{env_name('auth_issuer')}: required when tokens are accepted "
                f"({env_name('auth_jwks_url')} or {env_name('auth_public_key_file')})"
            )
        if not (self.auth_jwks_url or self.auth_public_key_file or self.api_keys_file):
            raise ValueError(
                f"{env_name('auth_public_key_file')}: no way to authenticate callers; set "
                f"it, {env_name('auth_jwks_url')} or {env_name('api_keys_file')}"
            )
        return self


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = item.get("loc", ())
        msg = str(item.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if loc:
            lines.append(f"{env_name(str(loc[0]))}: {msg}")
        else:
            lines.append(msg)
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment (and ``.env``), or raise a readable error."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None
