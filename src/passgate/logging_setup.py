"""Log format for the service: one line per event, to stderr, with no secrets."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

# A query parameter: after ``?``, ``&`` or ``;``, a name, ``=``, a value up to the next
# separator (or the end of the request target in an access-log line).
_PARAMETER = re.compile(r"(?<=[?&;])([^=&;\s\"?#]{1,256})=([^&;\s\"#]*)")
_SEPARATORS = re.compile(r"[\s_.-]+")
SECRET_PARAMETERS = frozenset({"access_token"})


def secret_parameter(name: str) -> bool:
    """Whether a query parameter's name means ``access_token``, however it is spelled.

    Starlette decodes names once (``%5F`` is ``_``, ``+`` a space), compares
    them case-sensitively; here the name is decoded until it stops changing,
    case-folded, and runs of spaces, dots, dashes, underscores count as one
    ``_``: a name that any client or proxy could read as the token is hidden.
    """
    for _ in range(4):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return _SEPARATORS.sub("_", name.strip()).casefold() in SECRET_PARAMETERS


def redact(text: str) -> str:
    """Blank out every ``access_token`` query parameter's value (workspace clients may use one)."""
    if "=" not in text:
        return text

    def hide(match: re.Match[str]) -> str:
        if secret_parameter(match.group(1)):
            return f"{match.group(1)}=[REDACTED]"
        return match.group(0)

    return _PARAMETER.sub(hide, text)


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
