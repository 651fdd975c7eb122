"""Log format for the service: one line per event, to stderr, with no secrets."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
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


class DropExplainedStartupFailure(logging.Filter):
    """uvicorn logs a failed start-up as the lifespan's whole traceback (Starlette sends
    it as the failure's message). A ``ConfigurationError`` is an operator's setting that
    passgate has already logged as one line naming it; its traceback is left out."""

    RAISED = "passgate.errors.ConfigurationError: "

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        if not (isinstance(message, str) and message.startswith("Traceback (most recent")):
            return True
        lines = message.rstrip().splitlines()
        frames = [i for i, line in enumerate(lines) if line.startswith(" ")]
        raised = lines[frames[-1] + 1] if frames and frames[-1] + 1 < len(lines) else ""
        return not raised.startswith(self.RAISED)  # the last exception, not one it handled


FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class PerSecond:
    """The text of a whole second (``render(second)``), made once a second and kept.

    For timestamps written on every request (the access line, the audit
    line): only the fraction changes from one to the next. The second and its
    text are kept as one tuple, so a thread never sees half of an update.
    """

    def __init__(self, render: Callable[[int], str]) -> None:
        self._render = render
        self._last: tuple[int, str] = (-1, "")

    def __call__(self, second: int) -> str:
        last = self._last
        if last[0] != second:
            last = self._last = (second, self._render(second))
        return last[1]


class LineFormatter(logging.Formatter):
    """:data:`FORMAT`, its timestamp as logging's own (``2026-12-02 08:27:01,512``),
    the date and time of day formatted once a second instead of once a line
    (uvicorn's access log writes a line per request)."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._seconds = PerSecond(
            lambda second: time.strftime(self.default_time_format, self.converter(second))
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return f"{self._seconds(int(record.created))},{int(record.msecs):03d}"


def configure_logging(level: str = "INFO") -> None:
    """The service's log: one line per event to stderr, uvicorn's access lines redacted.

    The record fields no line of this format shows are not gathered (the
    caller's file and line, the thread, the process: what the logging HOWTO's
    "Optimization" section lists), which makes each access line cheaper.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(LineFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DropExplainedStartupFailure) for f in errors.filters):
        errors.addFilter(DropExplainedStartupFailure())
