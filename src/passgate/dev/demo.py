"""``passgate dev``: a throwaway OpenLDAP, demo users, the service, and curl lines to try."""

from __future__ import annotations

import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from passgate.dev import seed
from passgate.dev.slapd import Slapd, SlapdUnavailable
from passgate.dev.tokens import DevIssuer

ALICE = seed.User("alice", "64b7f0c2a1d3e4f5a6b7c8d1", "Looking-Gl4ss!", cn="Alice Doe")
BOB = seed.User("bob", "64b7f0c2a1d3e4f5a6b7c8d2", "Bob-Passw0rd!", cn="Bob Roe")
CAROL = seed.User(
    "carol",
    "64b7f0c2a1d3e4f5a6b7c8d3",
    "Carol-Passw0rd!",
    extra=[("pwdAccountLockedTime", "000001010000Z")],
)
DAVE = seed.User("dave", "64b7f0c2a1d3e4f5a6b7c8d4", "Dave-Passw0rd!", extra=[("pwdReset", "TRUE")])
ERIN = seed.User(
    "erin",
    "64b7f0c2a1d3e4f5a6b7c8d5",
    "Erin-Passw0rd!",
    policy_dn=seed.EXPIRING_POLICY_DN,
    extra=[("pwdChangedTime", "20000101000000Z")],
)
DEMO_USERS = (ALICE, BOB, CAROL, DAVE, ERIN)
UNKNOWN_ID = "0123456789abcdef01234567"


def demo_ldif() -> str:
    return "\n".join([seed.base_ldif(), *(u.ldif() for u in DEMO_USERS)])


def _curl(base: str, user_id: str, token: str | None, old: str, new: str) -> str:
    parts = ["curl", "-s", "-X", "POST", f"{base}/v1/users/{user_id}/change-password"]
    if token:
        parts += ["-H", f"Authorization: Bearer {token}"]
    parts += ["-H", "Content-Type: application/json"]
    parts += ["-d", f'{{"oldPassword": "{old}", "newPassword": "{new}"}}']
    return shlex.join(parts)


def print_guide(base: str, slapd: Slapd, issuer: DevIssuer) -> None:
    alice = issuer.token(ALICE.user_id, username="alice")
    bob = issuer.token(BOB.user_id, username="bob")
    helpdesk = issuer.token("helpdesk", username="helpdesk", roles=["password-admin"])
    expired_token = issuer.token(ALICE.user_id, username="alice", lifetime=-3600)
    tok = {u.uid: issuer.token(u.user_id, username=u.uid) for u in DEMO_USERS}
    a = ALICE.user_id
    examples = [
        ("400 5023 wrong old password", _curl(base, a, alice, "not-her-password", "Whatever-123!")),
        (
            "400 5024 passwordTooShort (the demo policy wants 10 characters)",
            _curl(base, a, alice, ALICE.password, "Sh0rt-pw"),
        ),
        (
            "400 5024 insufficientPasswordQuality (slapd refuses pre-hashed values)",
            _curl(base, a, alice, ALICE.password, "{SSHA}abcdefghij"),
        ),
        (
            "400 5024 containsUsername (a local rule: her name in the new password)",
            _curl(base, a, alice, ALICE.password, "I-am-Alice-2024!"),
        ),
        (
            "200 success: alice changes her own password",
            _curl(base, a, alice, ALICE.password, "Wonder-L4nd-Passw0rd!"),
        ),
        (
            "400 5024 passwordInHistory (after the success above, set it back)",
            _curl(base, a, alice, "Wonder-L4nd-Passw0rd!", ALICE.password),
        ),
        (
            "400 5026 account locked (carol)",
            _curl(base, CAROL.user_id, tok["carol"], CAROL.password, "Carol-N3w-Passw0rd!"),
        ),
        (
            "400 5025 password expired (erin; OpenLDAP allows no bind, so no change as the user)",
            _curl(base, ERIN.user_id, tok["erin"], ERIN.password, "Erin-N3w-Passw0rd!"),
        ),
        (
            "200 must change at next bind (dave, pwdReset) may change it",
            _curl(base, DAVE.user_id, tok["dave"], DAVE.password, "Fresh-St4rt-Passw0rd!"),
        ),
        (
            "200 helpdesk (admin role) changes bob's password, old password still required",
            _curl(base, BOB.user_id, helpdesk, BOB.password, "Helpdesk-S3t-Passw0rd!"),
        ),
        (
            "403 4003 bob may not change alice's password",
            _curl(base, a, bob, ALICE.password, "Whatever-123!"),
        ),
        (
            "404 3001 no such user (admin token)",
            _curl(base, UNKNOWN_ID, helpdesk, "Whatever-123!", "Whatever-456!"),
        ),
        ("400 1001 validation failed", _curl(base, "not-an-id", alice, "short", "")),
        ("401 4002 no token", _curl(base, a, None, ALICE.password, "Whatever-123!")),
        ("401 4001 expired token", _curl(base, a, expired_token, ALICE.password, "Whatever-123!")),
    ]
    print()
    print("passgate dev: OpenLDAP", slapd.url, f"(rootdn {slapd.root_dn} / {slapd.root_password})")
    print("Demo users (uid, userId, password):")
    for u in DEMO_USERS:
        print(f"  {u.uid:6} {u.user_id} {u.password}")
    print(f"\nTokens (RS256, issuer {issuer.issuer}, valid 1 h):")
    print(f"  alice:    {alice}")
    print(f"  helpdesk: {helpdesk}")
    print("\nTry:")
    for title, line in examples:
        print(f"\n# {title}\n{line}")
    print("\nCtrl-C stops the service and the directory and removes every file.\n", flush=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_demo(host: str = "127.0.0.1", port: int = 8080) -> int:
    import uvicorn

    from passgate.app import create_app
    from passgate.cli import server_options
    from passgate.config import load_settings
    from passgate.logging_setup import configure_logging

    configure_logging()
    workdir = Path(tempfile.mkdtemp(prefix="passgate-dev-"))
    issuer = DevIssuer(issuer=f"http://{host}:{port}/realms/dev")
    slapd = Slapd(seed_ldif=demo_ldif())
    try:
        try:
            slapd.start()
        except SlapdUnavailable as exc:
            print(f"passgate dev: {exc}", file=sys.stderr)
            return 2
        key_file = issuer.write_public_key(workdir / "issuer.pem")
        settings = load_settings(
            _env_file=None, **seed.passgate_settings(slapd.url, issuer.issuer, key_file)
        )
        app = create_app(settings)
        # uvicorn re-raises SIGTERM after its graceful shutdown; make that an
        # exit that runs the clean-up below instead of killing the process.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        print_guide(f"http://{host}:{port}", slapd, issuer)
        uvicorn.run(app, host=host, port=port, **server_options(settings.http))
    finally:
        slapd.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
