"""``passgate serve | dev | check | config from-keycloak``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from passgate.errors import ConfigurationError


def workers_option(text: str) -> int | str:
    """``--workers``: a count from 1, or ``auto``."""
    if text == "auto":
        return text
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of processes, or auto") from None
    if count < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return count


def port_option(text: str) -> int:
    """``--port``: a TCP port, 1 to 65535 (uvicorn would take 99999 as 99999 - 65536)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port from 1 to 65535")
    return port


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def log_level_option(text: str) -> str:
    """``--log-level``: a level's name in any case (``debug``); argparse checks the choices."""
    return text.strip().upper()


def metrics_listener_refused(host: str, port: int) -> str | None:
    """Whether the /metrics listener could listen at ``host:port``: tried, then let go.

    Before uvicorn starts, so that a port in use is one line and exit 2 rather than a
    failed start-up; bound as prometheus_client binds it (its address family, and
    SO_REUSEADDR as ``http.server`` sets).
    """
    import socket

    from passgate.config import metrics_listener_problem

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return metrics_listener_problem(host, port, exc)
    return None


def worker_count(option: int | str) -> int:
    """``auto``: the CPUs this process may run on (a container's or taskset's, not the host's)."""
    if option == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    return int(option)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from passgate.app import create_app
    from passgate.config import load_settings
    from passgate.logging_setup import configure_logging
    from passgate.server_protocol import server_options

    configure_logging(args.log_level)
    try:
        settings = load_settings()
        app = create_app(settings)  # validate before forking workers
    except ConfigurationError as exc:
        print(f"passgate: {exc}", file=sys.stderr)
        return 2
    workers = worker_count(args.workers)
    if workers > 1 and settings.http.metrics_port is not None:
        print(
            "passgate: PASSGATE_METRICS_PORT: one metrics listener per process; "
            "not with --workers (each worker has its own metrics)",
            file=sys.stderr,
        )
        return 2
    if workers > 1 and urlsplit(settings.limiter.url).scheme.lower() == "memory":
        print(
            f"passgate: --workers {args.workers} ({workers} processes) needs a shared attempt "
            "limiter: with PASSGATE_LIMITER_URL=memory:// each process counts and serialises "
            "attempts on its own, so two attempts on one entry could run at once and the "
            "lockout guard could not hold them apart. Set PASSGATE_LIMITER_URL=redis://... "
            "or run one worker",
            file=sys.stderr,
        )
        return 2
    if settings.http.metrics_port is not None:
        refused = metrics_listener_refused(settings.http.metrics_host, settings.http.metrics_port)
        if refused is not None:
            print(f"passgate: {refused}", file=sys.stderr)
            return 2
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": not args.no_access_log,
        **server_options(settings.http),
    }
    if workers > 1:
        os.environ["PASSGATE_LOG_LEVEL"] = args.log_level
        # Each worker process builds its own app (own pools) from the environment.
        uvicorn.run("passgate.app:app_from_environment", factory=True, workers=workers, **common)
    else:
        uvicorn.run(app, **common)
    return 0


def _dev(args: argparse.Namespace) -> int:
    from passgate.dev.demo import run_demo

    return run_demo(host=args.host, port=args.port, keycloak=args.keycloak)


def _check(args: argparse.Namespace) -> int:
    import logging

    from passgate.config import load_settings
    from passgate.tools.check import run_check

    logging.basicConfig(level=logging.CRITICAL)  # the verdict lines say it all
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"[FAIL] settings: {exc}", file=sys.stdout)
        print("passgate check: FAILED", file=sys.stdout)
        return 2
    return run_check(settings, sys.stdout)


def _from_keycloak(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from passgate.tools.keycloak import KeycloakImportError, read_keycloak_json, settings_for
    from passgate.tools.keycloak.live import AdminCredentials, fetch_federation

    if (args.export is None) == (args.url is None):
        print("passgate: give an export file or --url URL --realm R (one of them)", file=sys.stderr)
        return 2
    try:
        if args.url is not None:
            if not args.realm:
                print("passgate: --url needs --realm", file=sys.stderr)
                return 2
            credentials = AdminCredentials.from_environment(os.environ)
            federation = fetch_federation(
                args.url, args.realm, credentials, args.provider, args.admin_realm
            )
        else:
            try:
                data = json.loads(Path(args.export).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                print(f"passgate: cannot read {args.export}: {exc}", file=sys.stderr)
                return 2
            except RecursionError:
                print(
                    f"passgate: cannot read {args.export}: its JSON is nested too deeply "
                    "(not a Keycloak export)",
                    file=sys.stderr,
                )
                return 2
            federation = read_keycloak_json(data, args.provider)
        imported = settings_for(federation, include_secrets=args.include_secrets)
    except KeycloakImportError as exc:
        print(f"passgate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(imported.to_env())
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from passgate.app import schema_document

    sys.stdout.write(schema_document())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="passgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service, configured from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_option, default=8080, help="1 to 65535; default 8080")
    serve.add_argument(
        "--log-level",
        type=log_level_option,
        choices=LOG_LEVELS,
        default="INFO",
        help="in any case; default INFO",
    )
    serve.add_argument(
        "--workers",
        type=workers_option,
        default=1,
        help="processes (uvicorn workers), or 'auto': one per CPU this process may use; "
        "more than one needs PASSGATE_LIMITER_URL=redis://...; default 1",
    )
    serve.add_argument(
        "--no-access-log", action="store_true", help="no uvicorn access log line per request"
    )
    serve.set_defaults(run=_serve)

    dev = commands.add_parser(
        "dev", help="throwaway OpenLDAP with demo users, and the service in front of it"
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=port_option, default=8080, help="1 to 65535; default 8080")
    dev.add_argument(
        "--keycloak",
        action="store_true",
        help="tokens from a real Keycloak (the project's realm, federated to the demo "
        "directory; needs scripts/setup.sh --keycloak, starts in about half a minute)",
    )
    dev.set_defaults(run=_dev)

    check = commands.add_parser(
        "check", help="try the configured settings against the directory and the token issuer"
    )
    check.set_defaults(run=_check)

    config = commands.add_parser("config", help="configuration helpers")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    keycloak = config_commands.add_parser(
        "from-keycloak",
        help="print PASSGATE_* settings (.env) from a Keycloak LDAP user federation provider",
        description=(
            "Read the LDAP provider from a realm export (kc.sh export, the admin console's "
            "Partial export), from bare components (GET /admin/realms/R/components, "
            "kcadm.sh get components), or from a running Keycloak (--url, --realm)."
        ),
        epilog=(
            "With --url, admin credentials come from the environment only, never the command "
            "line: KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET (client credentials; its "
            "service account needs realm-management view-realm), or KEYCLOAK_ADMIN and "
            "KEYCLOAK_ADMIN_PASSWORD (password grant on admin-cli), in the --admin-realm."
        ),
    )
    keycloak.add_argument(
        "export", nargs="?", help="realm export or components JSON file (instead of --url)"
    )
    keycloak.add_argument("--url", help="a running Keycloak's base URL, e.g. https://sso.example")
    keycloak.add_argument("--realm", help="with --url: the realm whose LDAP provider to read")
    keycloak.add_argument(
        "--admin-realm", default="master", help="with --url: the realm of the admin credentials"
    )
    keycloak.add_argument("--provider", help="the LDAP provider's name, when there are several")
    keycloak.add_argument(
        "--include-secrets", action="store_true", help="also print bindCredential"
    )
    keycloak.set_defaults(run=_from_keycloak)

    openapi = commands.add_parser(
        "openapi", help="print the OpenAPI document (as in docs/openapi.json)"
    )
    openapi.set_defaults(run=_openapi)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result
