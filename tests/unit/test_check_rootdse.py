"""``passgate check`` judging a RootDSE: the verdicts match what the dialects will do."""

from __future__ import annotations

import pytest

from passgate.directory import ppolicy
from passgate.directory.dialects.ad import POLICY_HINTS_OID
from passgate.directory.dialects.base import PASSWORD_MODIFY_OID
from passgate.directory.rootdse import AD_CAPABILITY, RootDse
from passgate.tools.check import Checker
from tests.unit.test_settings import settings


def verdicts(vendor: str, root: RootDse) -> dict[str, str]:
    checker = Checker(settings(ldap_vendor=vendor, ldap_connection_url="ldaps://dc.example.org"))
    return {v.check: v.status for v in checker._vendor(root)}


@pytest.mark.parametrize(
    ("controls", "status"),
    [
        ({POLICY_HINTS_OID}, "OK"),
        # The older OID (2008 R2 before its update): advertised, but the dialect never sends it.
        ({"1.2.840.113556.1.4.2066"}, "WARN"),
        (set(), "WARN"),
    ],
)
def test_ad_policy_hints_control(controls: set[str], status: str) -> None:
    root = RootDse(capabilities=frozenset({AD_CAPABILITY}), controls=frozenset(controls))
    found = verdicts("ad", root)
    assert found["RootDSE vendor"] == "OK"
    assert found["password-policy hints control"] == status


def test_openldap_extensions_and_controls() -> None:
    root = RootDse(
        vendor_name="OpenLDAP",
        extensions=frozenset({PASSWORD_MODIFY_OID}),
        controls=frozenset({ppolicy.OID}),
    )
    assert verdicts("other", root) == {
        "RootDSE vendor": "OK",
        "Password Modify extended operation": "OK",
        "password-policy control": "OK",
    }
    assert verdicts("ad", root)["RootDSE vendor"] == "WARN"  # not AD, whatever it says


def test_from_entry_reads_ldap3_values() -> None:
    root = RootDse.from_entry(
        {"vendorName": "389 Project", "supportedControl": [ppolicy.OID], "vendorVersion": []}
    )
    assert root.vendor_name == "389 Project"
    assert root.vendor_version == ""
    assert root.controls == {ppolicy.OID}
    assert not root.is_active_directory
