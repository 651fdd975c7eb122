"""HTTP: reading requests and presenting results. Nothing here speaks LDAP."""
