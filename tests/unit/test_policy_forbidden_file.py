"""The forbidden-password file: UTF-8 or a ConfigurationError, never a silently weaker list."""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import pytest

from passgate.config import PolicySettings
from passgate.errors import ConfigurationError
from passgate.policy.local import ForbiddenPasswords, LocalRules

SUMMER, WINTER = "Summer-Holiday-2024!", "Winter-Holiday-2024!"
LATIN = "Passwört-Sommer-1"
VARIABLE = "PASSGATE_POLICY_FORBIDDEN_FILE"


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "forbidden.txt"
    path.write_bytes(data)
    return path


def refusal(path: Path) -> str:
    """The ConfigurationError's message; it names the variable and the file, no password."""
    with pytest.raises(ConfigurationError) as caught:
        ForbiddenPasswords.load(path)
    message = str(caught.value)
    assert VARIABLE in message
    assert str(path) in message
    for password in (SUMMER, WINTER, LATIN, "Summer", "Passw"):
        assert password not in message
    return message


def test_a_byte_order_mark_is_no_part_of_the_first_password(tmp_path: Path) -> None:
    path = written(tmp_path, b"\xef\xbb\xbf" + f"{SUMMER}\n{WINTER}\n".encode())
    forbidden = ForbiddenPasswords.load(path)
    assert (SUMMER in forbidden, WINTER in forbidden, len(forbidden)) == (True, True, 2)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_any_line_ending(tmp_path: Path, ending: bytes) -> None:
    path = written(tmp_path, SUMMER.encode() + ending + WINTER.encode() + ending)
    forbidden = ForbiddenPasswords.load(path)
    assert SUMMER in forbidden
    assert WINTER in forbidden


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("latin-1", f"{LATIN}\n{WINTER}\n".encode("latin-1")),
        ("utf-16 with BOM", f"{SUMMER}\n{WINTER}\n".encode("utf-16")),
        ("utf-16-be with BOM", b"\xfe\xff" + f"{SUMMER}\n".encode("utf-16-be")),
    ],
)
def test_a_file_that_is_not_utf8_is_a_configuration_error(
    tmp_path: Path, label: str, data: bytes
) -> None:
    assert "not UTF-8" in refusal(written(tmp_path, data)), label


def test_utf16_without_a_bom_is_skipped_line_by_line_and_then_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """UTF-16 text without a BOM decodes as UTF-8 with a NUL after each letter."""
    caplog.set_level(logging.DEBUG)
    path = written(tmp_path, f"{SUMMER}\n{WINTER}\n".encode("utf-16-le"))
    assert "no password" in refusal(path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("skipped 3 line(s)" in w and "control characters" in w for w in warnings)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_a_list_without_a_password_is_a_configuration_error(tmp_path: Path, data: bytes) -> None:
    assert "holds no password" in refusal(written(tmp_path, data))


def test_lines_with_control_characters_are_skipped_with_a_warning_naming_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = written(tmp_path, f"{SUMMER}\x00\nWin\x00ter\n{LATIN}\n".encode())
    forbidden = ForbiddenPasswords.load(path)
    assert len(forbidden) == 1
    assert LATIN in forbidden
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "skipped 2 line(s)" in warning
    assert "line 1" in warning
    for record in caplog.records:
        for text in ("Summer", "Win", LATIN):
            assert text not in record.getMessage()


def test_an_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    assert "cannot read" in refusal(tmp_path)  # a directory: IsADirectoryError
    mem = Path("/proc/self/mem")  # a regular file whose read at offset 0 fails (EIO)
    if mem.exists():
        assert "cannot read" in refusal(mem)


def test_an_unreadable_file_is_a_configuration_error_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``passgate check`` and the app both build LocalRules.from_settings."""
    path = written(tmp_path, f"{SUMMER}\n".encode())
    settings = PolicySettings(_env_file=None, forbidden_file=path)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ConfigurationError, match=f"{VARIABLE}: cannot read .*Permission denied"):
        LocalRules.from_settings(settings)


def test_settings_with_an_empty_list_do_not_claim_the_rule(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=VARIABLE):
        LocalRules.from_settings(
            PolicySettings(_env_file=None, forbidden_file=written(tmp_path, b"\n"))
        )


def test_composed_and_decomposed_spellings_are_one_password(tmp_path: Path) -> None:
    path = written(tmp_path, unicodedata.normalize("NFD", LATIN).encode() + b"\n")
    forbidden = ForbiddenPasswords.load(path)
    assert unicodedata.normalize("NFC", LATIN) in forbidden
    assert unicodedata.normalize("NFD", LATIN.upper()) in forbidden
