"""``passgate dev``: a throwaway OpenLDAP, demo users, the service, and curl lines to try.

With ``--keycloak`` a real Keycloak (:mod:`passgate.dev.keycloak`) imports
the project's realm federated to the demo's slapd and issues the tokens;
without it, passgate trusts a key of its own (:mod:`passgate.dev.tokens`),
which starts in a second. Either way each token is printed once, as a shell
variable, and the curl lines use the variable.
"""

from __future__ import annotations

import secrets
import shlex
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passgate.config import is_loopback
from passgate.dev import seed
from passgate.dev.slapd import Slapd, SlapdUnavailable
from passgate.dev.tokens import DevIssuer


def _person(uid: str, user_id: str, password: str, **kwargs: Any) -> seed.User:
    # Keycloak's default user profile wants names and an e-mail before it signs anyone in.
    names = [("givenName", uid.capitalize()), ("mail", f"{uid}@example.org")]
    return seed.User(uid, user_id, password, extra=names + kwargs.pop("extra", []), **kwargs)


ALICE = _person("alice", "64b7f0c2a1d3e4f5a6b7c8d1", "Looking-Gl4ss!", cn="Alice Doe")
BOB = _person("bob", "64b7f0c2a1d3e4f5a6b7c8d2", "Bob-Passw0rd!", cn="Bob Roe")
CAROL = _person(
    "carol",
    "64b7f0c2a1d3e4f5a6b7c8d3",
    "Carol-Passw0rd!",
    extra=[("pwdAccountLockedTime", "000001010000Z")],
)
DAVE = _person("dave", "64b7f0c2a1d3e4f5a6b7c8d4", "Dave-Passw0rd!", extra=[("pwdReset", "TRUE")])
ERIN = _person(
    "erin",
    "64b7f0c2a1d3e4f5a6b7c8d5",
    "Erin-Passw0rd!",
    policy_dn=seed.EXPIRING_POLICY_DN,
    extra=[("pwdChangedTime", "20000101000000Z")],
)
DEMO_USERS = (ALICE, BOB, CAROL, DAVE, ERIN)
UNKNOWN_ID = "0123456789abcdef01234567"
KEYCLOAK_REALM = "passgate"


def demo_ldif() -> str:
    return "\n".join([seed.base_ldif(), *(u.ldif() for u in DEMO_USERS)])


@dataclass(frozen=True)
class Example:
    title: str  # starts with the expected HTTP status and passgate's code
    user_id: str
    token: str | None  # the shell variable holding the token
    old: str
    new: str
    needs_dev_issuer: bool = False  # a token Keycloak would not issue (locked, expired...)

    def curl(self, base: str) -> str:
        words = ["curl", "-s", "-X", "POST", f"{base}/v1/users/{self.user_id}/change-password"]
        auth = f' -H "Authorization: Bearer ${self.token}"' if self.token else ""
        body = shlex.quote(f'{{"oldPassword": "{self.old}", "newPassword": "{self.new}"}}')
        return f"{shlex.join(words)}{auth} -H 'Content-Type: application/json' -d {body}"


def examples() -> list[Example]:
    a, pw = ALICE.user_id, ALICE.password
    return [
        Example(
            "400 5023 wrong old password", a, "ALICE_TOKEN", "not-her-password", "Whatever-123!"
        ),
        Example(
            "400 5024 passwordTooShort (the demo policy wants 10 characters)",
            *(a, "ALICE_TOKEN", pw, "Sh0rt-pw"),
        ),
        Example(
            "400 5024 insufficientPasswordQuality (slapd refuses pre-hashed values)",
            *(a, "ALICE_TOKEN", pw, "{SSHA}abcdefghij"),
        ),
        Example(
            "400 5024 containsUsername (a local rule: her name in the new password)",
            *(a, "ALICE_TOKEN", pw, "I-am-Alice-2024!"),
        ),
        Example(
            "200 success: alice changes her own password",
            *(a, "ALICE_TOKEN", pw, "Wonder-L4nd-Passw0rd!"),
        ),
        Example(
            "400 5024 passwordInHistory (after the success above, set it back)",
            *(a, "ALICE_TOKEN", "Wonder-L4nd-Passw0rd!", pw),
        ),
        Example(
            "400 5026 account locked (carol)",
            *(CAROL.user_id, "CAROL_TOKEN", CAROL.password, "Carol-N3w-Passw0rd!", True),
        ),
        Example(
            "400 5025 password expired (erin; OpenLDAP allows no bind, so no change as the user)",
            *(ERIN.user_id, "ERIN_TOKEN", ERIN.password, "Erin-N3w-Passw0rd!", True),
        ),
        Example(
            "200 must change at next bind (dave, pwdReset) may change it",
            *(DAVE.user_id, "DAVE_TOKEN", DAVE.password, "Fresh-St4rt-Passw0rd!", True),
        ),
        Example(
            "200 helpdesk (admin role) changes bob's password, old password still required",
            *(BOB.user_id, "HELPDESK_TOKEN", BOB.password, "Helpdesk-S3t-Passw0rd!"),
        ),
        Example(
            "403 4003 bob may not change alice's password",
            *(a, "BOB_TOKEN", pw, "Whatever-123!"),
        ),
        Example(
            "404 3001 no such user (admin token)",
            *(UNKNOWN_ID, "HELPDESK_TOKEN", "Whatever-123!", "Whatever-456!"),
        ),
        Example("400 1001 validation failed", "not-an-id", "ALICE_TOKEN", "short", ""),
        Example("401 4002 no token", a, None, pw, "Whatever-123!"),
        Example("401 4001 expired token", *(a, "EXPIRED_TOKEN", pw, "Whatever-123!", True)),
    ]


def base_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets (RFC 3986), as curl wants it."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def portal_url(host: str, port: int) -> str | None:
    """The page's address as a browser on this machine opens it; None off loopback.

    The realm lets the sign-in return to loopback addresses only, and the page
    wants https anywhere else.
    """
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return base_url(shown, port) + "/portal/" if is_loopback(shown) else None


def portal_settings(issuer: str, page: str) -> dict[str, Any]:
    """The self-service page signing people in at the demo realm's public PKCE client."""
    return {
        "portal_enabled": True,
        "portal_issuer_url": issuer,
        "portal_client_id": "password-portal",
        "portal_redirect_url": page + "callback",
        "portal_cookie_secret": secrets.token_urlsafe(32),
        "portal_helpdesk": "the demo's helpdesk (there is none: restart passgate dev)",
    }


def dev_issuer_tokens(issuer: DevIssuer) -> list[str]:
    """``export NAME=token`` lines: tokens passgate's own demo key signs."""
    tokens = {f"{u.uid.upper()}_TOKEN": issuer.token(u.user_id, username=u.uid) for u in DEMO_USERS}
    tokens["HELPDESK_TOKEN"] = issuer.token(
        "helpdesk", username="helpdesk", roles=["password-admin"]
    )
    tokens["EXPIRED_TOKEN"] = issuer.token(ALICE.user_id, username="alice", lifetime=-3600)
    return [f"export {name}={token}" for name, token in tokens.items()]


def keycloak_tokens(token_url: str, helpdesk_secret: str) -> list[str]:
    """``export NAME=$(curl ...)`` lines that ask Keycloak for each token."""
    pick = r"""sed -E 's/.*"access_token":"([^"]+)".*/\1/'"""
    lines = []
    for user in (ALICE, BOB):
        form = ["-d", "grant_type=password", "-d", "client_id=password-portal"]
        form += ["-d", f"username={user.uid}", "-d", f"password={user.password}"]
        curl = shlex.join(["curl", "-s", token_url, *form])
        lines.append(f"export {user.uid.upper()}_TOKEN=$({curl} | {pick})")
    form = ["-d", "grant_type=client_credentials", "-d", "client_id=passgate-helpdesk"]
    form += ["-d", f"client_secret={helpdesk_secret}"]
    lines.append(
        f"export HELPDESK_TOKEN=$({shlex.join(['curl', '-s', token_url, *form])} | {pick})"
    )
    return lines


def print_guide(base: str, slapd: Slapd, intro: list[str], tokens: list[str], kc: bool) -> None:
    print()
    print("passgate dev: OpenLDAP", slapd.url, f"(rootdn {slapd.root_dn} / {slapd.root_password})")
    for line in intro:
        print(line)
    print("Demo users (uid, userId, password):")
    for u in DEMO_USERS:
        print(f"  {u.uid:6} {u.user_id} {u.password}")
    print("\nTokens, once, as shell variables (paste these first):")
    for line in tokens:
        print(line)
    print("\nTry:")
    for example in examples():
        if not (kc and example.needs_dev_issuer):
            print(f"\n# {example.title}\n{example.curl(base)}")
    print("\nCtrl-C stops everything and removes every file.\n", flush=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_demo(host: str = "127.0.0.1", port: int = 8080, keycloak: bool = False) -> int:
    import uvicorn

    from passgate.app import create_app
    from passgate.config import load_settings
    from passgate.dev.keycloak import Keycloak, KeycloakUnavailable, realm_file
    from passgate.logging_setup import configure_logging
    from passgate.server_protocol import server_options

    configure_logging()
    workdir = Path(tempfile.mkdtemp(prefix="passgate-dev-"))
    slapd = Slapd(seed_ldif=demo_ldif())
    server: Keycloak | None = None
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an
    # exit that runs the clean-up below instead of killing the process.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        try:
            slapd.start()
        except SlapdUnavailable as exc:
            print(f"passgate dev: {exc}", file=sys.stderr)
            return 2
        if keycloak:
            print("passgate dev: starting Keycloak (half a minute or so)...", flush=True)
            try:
                server = Keycloak().start()
            except KeycloakUnavailable as exc:
                print(f"passgate dev: {exc} (bash scripts/setup.sh --keycloak)", file=sys.stderr)
                return 2
            secret = secrets.token_urlsafe(18)
            server.import_realm(
                realm_file(),
                {
                    "PASSGATE_LDAP_CONNECTION_URL": slapd.url,
                    "PASSGATE_LDAP_BIND_DN": seed.SERVICE_DN,
                    "PASSGATE_LDAP_BIND_CREDENTIAL": seed.SERVICE_PASSWORD,
                    "PASSGATE_LDAP_USERS_DN": seed.PEOPLE_DN,
                    "PASSGATE_HELPDESK_SECRET": secret,
                },
            )
            issuer = server.realm_url(KEYCLOAK_REALM)
            page = portal_url(host, port)
            settings = load_settings(
                _env_file=None,
                **{
                    **seed.passgate_settings(slapd.url, issuer, Path("unused")),
                    "auth_public_key_file": None,
                    "auth_jwks_url": server.certs_url(KEYCLOAK_REALM),
                    "auth_audience": "passgate",
                    "auth_user_id_claim": "passgate_user_id",
                    **(portal_settings(issuer, page) if page else {}),
                },
            )
            intro = [
                f"Keycloak {server.url} (admin console {server.url}/admin/, "
                f"login {server.admin_username} / {server.admin_password}), realm {KEYCLOAK_REALM}",
                f"Self-service page {page} (sign in as alice / {ALICE.password}, "
                f"or bob / {BOB.password})"
                if page
                else "Self-service page: off (the realm signs people in on loopback only)",
            ]
            tokens = keycloak_tokens(server.token_url(KEYCLOAK_REALM), secret)
        else:
            dev_issuer = DevIssuer(issuer=base_url(host, port) + "/realms/dev")
            key_file = dev_issuer.write_public_key(workdir / "issuer.pem")
            settings = load_settings(
                _env_file=None, **seed.passgate_settings(slapd.url, dev_issuer.issuer, key_file)
            )
            intro = [f"Tokens: RS256 from a demo key, issuer {dev_issuer.issuer}, valid 1 h"]
            tokens = dev_issuer_tokens(dev_issuer)
        app = create_app(settings)
        # uvicorn re-raises SIGTERM after its graceful shutdown; make that an
        # exit that runs the clean-up below instead of killing the process.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        print_guide(base_url(host, port), slapd, intro, tokens, keycloak)
        uvicorn.run(app, host=host, port=port, **server_options(settings.http))
    finally:
        if server is not None:
            server.stop()
        slapd.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
