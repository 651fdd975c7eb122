"""Log format for the service: one line per event, to stderr, with no secrets."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"(access_token=)[^&\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Blank out an ``access_token`` query parameter (workspace clients may use one)."""
    return _TOKEN_IN_QUERY.sub(r"\1[REDACTED]", text)


class RedactTokens(logging.Filter):
    """Applied to uvicorn's access log, whose lines carry the full request target."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
