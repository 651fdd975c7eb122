"""Everything that speaks LDAP. Nothing above this package sees a result code."""
