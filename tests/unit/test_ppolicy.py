"""The password-policy control codec, on byte strings seen from real servers."""

from __future__ import annotations

import pytest

from passgate.directory.ppolicy import (
    PolicyControlDecodeError,
    PolicyError,
    PolicyResponse,
    decode,
    encode,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"0\x00", PolicyResponse()),  # OpenLDAP 2.5, plain failed bind
        (b"0\x03\x81\x01\x06", PolicyResponse(error=PolicyError.PASSWORD_TOO_SHORT)),
        (b"0\x03\x81\x01\x08", PolicyResponse(error=PolicyError.PASSWORD_IN_HISTORY)),
        (b"0\x03\x81\x01\x01", PolicyResponse(error=PolicyError.ACCOUNT_LOCKED)),
        (b"0\x03\x81\x01\x02", PolicyResponse(error=PolicyError.CHANGE_AFTER_RESET)),
        (b"0\x03\x81\x01\x09", PolicyResponse(error=PolicyError.PASSWORD_TOO_LONG)),
        # 389-DS: non-minimal long-form length
        (
            b"0\x84\x00\x00\x00\x03\x81\x01\x05",
            PolicyResponse(error=PolicyError.INSUFFICIENT_PASSWORD_QUALITY),
        ),
        (bytes.fromhex("3006a0048002012c"), PolicyResponse(time_before_expiration=300)),
        (
            bytes.fromhex("3008a003810102810102"),
            PolicyResponse(grace_authns_remaining=2, error=PolicyError.CHANGE_AFTER_RESET),
        ),
    ],
)
def test_decode_known_values(value: bytes, expected: PolicyResponse) -> None:
    assert decode(value) == expected


@pytest.mark.parametrize(
    "response",
    [
        PolicyResponse(),
        *(PolicyResponse(error=e) for e in PolicyError),
        PolicyResponse(time_before_expiration=0),
        PolicyResponse(time_before_expiration=2147483647),
        PolicyResponse(grace_authns_remaining=3, error=PolicyError.PASSWORD_EXPIRED),
    ],
)
def test_round_trip(response: PolicyResponse) -> None:
    assert decode(encode(response)) == response


def test_encoding_is_der() -> None:
    assert encode(PolicyResponse(error=PolicyError.PASSWORD_IN_HISTORY)) == b"0\x03\x81\x01\x08"


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"0",
        b"abc",
        b"0\x03\x81\x01\x63",  # unknown error value
        b"0\x03\x81\x01\x06xx",  # trailing bytes
        bytes.fromhex("3003020101"),  # an INTEGER where a tagged field belongs
        bytes.fromhex("3006a004800280ff"),  # negative time
        b"\xff" * 40,
    ],
)
def test_garbage_raises_only_the_codec_error(garbage: bytes) -> None:
    with pytest.raises(PolicyControlDecodeError):
        decode(garbage)


def test_empty_fast_path_agrees_with_the_full_decoder() -> None:
    assert decode(b"0\x00") == decode(b"0\x84\x00\x00\x00\x00") == PolicyResponse()
