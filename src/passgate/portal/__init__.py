"""The self-service page (``/portal``, off unless ``PASSGATE_PORTAL_ENABLED=true``).

::

    app.py       the mounted ASGI app: routes, session cookie, security headers, CSP
    pages.py     the routes: sign in, the form, the change (same use case and limiter
                 as the workspace endpoint), sign out
    forms.py     the form posts: origin first, a body capped at 16 KiB, a form that parses
    signin.py    the OpenID Connect client (Authlib, PKCE S256, state, nonce), and how
                 a sign-in fails: refused (400) or the issuer unavailable (503)
    session.py   the sealed tokens and the anti-forgery token in the session cookie
    views.py     the effective policy's rules and each refusal, as the page words them
    messages.py  the catalogues (messages/<language>.json), chosen by Accept-Language
"""

from passgate.portal.app import portal_app

__all__ = ["portal_app"]
