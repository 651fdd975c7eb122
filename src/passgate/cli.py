"""``passgate serve`` and ``passgate dev``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from passgate.errors import ConfigurationError


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from passgate.app import create_app
    from passgate.config import load_settings
    from passgate.logging_setup import configure_logging

    configure_logging(args.log_level)
    try:
        app = create_app(load_settings())  # validate before forking workers
    except ConfigurationError as exc:
        print(f"passgate: {exc}", file=sys.stderr)
        return 2
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "server_header": False,
        "access_log": not args.no_access_log,
    }
    if args.workers > 1:
        os.environ["PASSGATE_LOG_LEVEL"] = args.log_level
        # Each worker process builds its own app (own pools) from the environment.
        uvicorn.run(
            "passgate.app:app_from_environment", factory=True, workers=args.workers, **common
        )
    else:
        uvicorn.run(app, **common)
    return 0


def _dev(args: argparse.Namespace) -> int:
    from passgate.dev.demo import run_demo

    return run_demo(host=args.host, port=args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="passgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service, configured from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes (uvicorn workers); default 1"
    )
    serve.add_argument(
        "--no-access-log", action="store_true", help="no uvicorn access log line per request"
    )
    serve.set_defaults(run=_serve)

    dev = commands.add_parser(
        "dev", help="throwaway OpenLDAP with demo users, and the service in front of it"
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8080)
    dev.set_defaults(run=_dev)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result
