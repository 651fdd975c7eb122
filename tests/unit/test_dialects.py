"""Vendor dialects: registry, AD result mapping, 389 refinement, RootDSE adaptation."""

from __future__ import annotations

from typing import Any

import pytest

from passgate.config import load_settings
from passgate.directory.dialects import available_dialects, dialect_class
from passgate.directory.dialects.ad import ActiveDirectoryDialect, encode_password
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID
from passgate.directory.dialects.ds389 import Ds389Dialect
from passgate.directory.dialects.openldap import OpenLdapDialect
from passgate.directory.results import (
    MustSetAsService,
    bind_data_code,
    check_ad_bind,
    check_ad_password_change,
)
from passgate.directory.rootdse import RootDse
from passgate.errors import (
    AccountLocked,
    ConfigurationError,
    DirectoryMisconfigured,
    IncorrectOldPassword,
    PasswordPolicyRejected,
    PolicyReason,
)
from tests.unit.test_settings import BASE


def test_builtin_dialects_are_registered_as_entry_points() -> None:
    dialects = available_dialects()
    assert dialects["other"] is OpenLdapDialect
    assert dialects["rhds"] is Ds389Dialect
    assert dialects["ad"] is ActiveDirectoryDialect
    with pytest.raises(KeyError):
        dialect_class("novell")


def samba_bind(data: str) -> dict[str, Any]:
    return {
        "result": 49,
        "message": f"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data {data}, v1db1",
    }


def test_bind_data_code() -> None:
    assert bind_data_code(samba_bind("52e")["message"]) == "52e"
    assert bind_data_code("no code here") is None


@pytest.mark.parametrize("data", ["530", "531", "533", "701", "775"])
def test_ad_locked_or_disabled(data: str) -> None:
    with pytest.raises(AccountLocked):
        check_ad_bind(samba_bind(data))


@pytest.mark.parametrize("data", ["52e", "525"])
def test_ad_wrong_password(data: str) -> None:
    with pytest.raises(IncorrectOldPassword):
        check_ad_bind(samba_bind(data))


@pytest.mark.parametrize("data", ["532", "773"])
def test_ad_must_set_as_service(data: str) -> None:
    with pytest.raises(MustSetAsService):
        check_ad_bind(samba_bind(data))


def test_ad_cleartext_bind_is_misconfiguration() -> None:
    with pytest.raises(DirectoryMisconfigured):
        check_ad_bind({"result": 8, "message": "BindSimple: Transport encryption required."})


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 10 characters!",
            PolicyReason.TOO_SHORT,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!",
            PolicyReason.QUALITY,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!",
            PolicyReason.IN_HISTORY,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: the password was already used (previous password)!",
            PolicyReason.SAME_AS_OLD,
        ),
        (
            "0000052D: Constraint violation - check_password_restrictions: password is too young to change!",
            PolicyReason.TOO_YOUNG,
        ),
        (
            "0000052D: AtrErr: DSID-03191083, #1:",
            PolicyReason.DIRECTORY_REJECTED,
        ),  # Windows says no more
    ],
)
def test_ad_change_refusals(message: str, reason: PolicyReason) -> None:
    with pytest.raises(PasswordPolicyRejected) as caught:
        check_ad_password_change({"result": 19, "message": message}, same_as_old=False)
    assert caught.value.reason is reason


def test_ad_wrong_old_password_in_change() -> None:
    message = "00000056: Constraint violation - check_password_restrictions: the old password specified doesn't match!"
    with pytest.raises(IncorrectOldPassword):
        check_ad_password_change({"result": 19, "message": message}, same_as_old=False)


def test_ad_password_encoding() -> None:
    assert encode_password("Pa55é") == '"Pa55é"'.encode("utf-16-le")


class FakePolicy:
    def __init__(self, entries: dict[str, dict[str, list[str]]]) -> None:
        self.entries = entries

    def read(self, dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        return self.entries.get(dn)


def quality() -> PasswordPolicyRejected:
    return PasswordPolicyRejected(PolicyReason.QUALITY, "389 said 5")


def test_389_too_short_refined_from_the_global_policy() -> None:
    policy = FakePolicy({"cn=config": {"passwordMinLength": ["10"]}})
    refined = Ds389Dialect().refine_rejection(quality(), "uid=a", "Short-pw1", policy)
    assert refined.reason is PolicyReason.TOO_SHORT
    kept = Ds389Dialect().refine_rejection(quality(), "uid=a", "Long-enough-pw1", policy)
    assert kept.reason is PolicyReason.QUALITY


def test_389_user_policy_wins() -> None:
    policy = FakePolicy(
        {
            "uid=a": {"pwdpolicysubentry": ["cn=user-policy"]},
            "cn=user-policy": {"passwordMinLength": ["16"]},
            "cn=config": {"passwordMinLength": ["8"]},
        }
    )
    refined = Ds389Dialect().refine_rejection(quality(), "uid=a", "Twelve-chars", policy)
    assert refined.reason is PolicyReason.TOO_SHORT


def test_389_unreadable_policy_keeps_the_reason() -> None:
    refined = Ds389Dialect().refine_rejection(quality(), "uid=a", "x", FakePolicy({}))
    assert refined.reason is PolicyReason.QUALITY


def test_openldap_falls_back_when_the_extension_is_not_advertised() -> None:
    dialect = OpenLdapDialect()
    dialect.adapt_to(RootDse(extensions=frozenset({PASSWORD_MODIFY_OID})))
    assert dialect.use_password_modify
    dialect.adapt_to(RootDse(extensions=frozenset({"1.3.6.1.4.1.1466.20037"})))
    assert not dialect.use_password_modify


def test_vendor_mismatch_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    Ds389Dialect().adapt_to(RootDse(vendor_name="Samba Team (https://www.samba.org)"))
    assert "PASSGATE_LDAP_VENDOR=rhds" in caplog.text


def test_ad_settings_defaults() -> None:
    s = load_settings(**{**BASE, "ldap_vendor": "ad", "ldap_connection_url": "ldaps://dc1"})
    assert s.ldap.username_attribute == "sAMAccountName"
    assert s.ldap.user_id_attribute == "employeeNumber"
    assert s.ldap.object_classes == ["person", "organizationalPerson", "user"]
    explicit = load_settings(
        **{
            **BASE,
            "ldap_vendor": "ad",
            "ldap_connection_url": "ldaps://dc1",
            "ldap_user_id_attribute": "extensionAttribute1",
        }
    )
    assert explicit.ldap.user_id_attribute == "extensionAttribute1"


@pytest.mark.parametrize("vendor", ["ad", "rhds"])
def test_encrypting_vendors_refuse_cleartext_urls(vendor: str) -> None:
    with pytest.raises(ConfigurationError, match="PASSGATE_LDAP_CONNECTION_URL"):
        load_settings(
            **{**BASE, "ldap_vendor": vendor, "ldap_connection_url": "ldap://127.0.0.1:389"}
        )
    load_settings(
        **{
            **BASE,
            "ldap_vendor": vendor,
            "ldap_connection_url": "ldap://127.0.0.1:389",
            "ldap_start_tls": True,
        }
    )
