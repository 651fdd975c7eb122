"""The service's log line format: the same text as logging's own formatter, cheaper."""

from __future__ import annotations

import logging

import pytest

from passgate.logging_setup import FORMAT, LineFormatter


def record(created: float) -> logging.LogRecord:
    line = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s"', ("a", "b"), None)
    line.created = created
    line.msecs = (created - int(created)) * 1000
    return line


@pytest.mark.parametrize(
    "moments",
    [
        [1764664021.512, 1764664021.999, 1764664022.0005, 1764664021.25],  # a second turns, back
        [0.0, 59.999, 60.001, 86399.9996],
    ],
)
def test_a_line_reads_as_loggings_own_formatter_writes_it(moments: list[float]) -> None:
    ours, theirs = LineFormatter(), logging.Formatter(FORMAT)
    for created in moments:
        assert ours.format(record(created)) == theirs.format(record(created))


def test_an_explicit_date_format_is_honoured() -> None:
    line = record(1764664021.512)
    assert LineFormatter().formatTime(line, "%Y") == logging.Formatter().formatTime(line, "%Y")
