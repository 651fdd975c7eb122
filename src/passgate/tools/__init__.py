"""Operator tools, off the request path: ``passgate check``, ``passgate config from-keycloak``."""
