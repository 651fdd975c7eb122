"""passgate: change a password in an LDAP directory, over HTTP, behind tokens."""

__version__ = "0.1.0"
