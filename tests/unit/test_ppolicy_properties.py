"""Property tests for the password-policy control codec (hypothesis)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from passgate.directory import ppolicy
from passgate.directory.ppolicy import PolicyControlDecodeError, PolicyError, PolicyResponse

counts = st.integers(min_value=0, max_value=ppolicy.MAX_INT)
responses = st.builds(
    lambda warning, error: PolicyResponse(
        time_before_expiration=warning[1] if warning and warning[0] == "time" else None,
        grace_authns_remaining=warning[1] if warning and warning[0] == "grace" else None,
        error=error,
    ),
    st.none() | st.tuples(st.sampled_from(["time", "grace"]), counts),
    st.none() | st.sampled_from(list(PolicyError)),
)


@given(responses)
@settings(max_examples=500, deadline=None)
def test_decode_inverts_encode(response: PolicyResponse) -> None:
    assert ppolicy.decode(ppolicy.encode(response)) == response


def _decodes_or_refuses(data: bytes) -> None:
    try:
        result = ppolicy.decode(data)
    except PolicyControlDecodeError:
        return  # the only error decode may raise
    assert isinstance(result, PolicyResponse)
    # Whatever decodes is a well-formed response that encodes back to DER.
    assert ppolicy.decode(ppolicy.encode(result)) == result


@given(st.binary(max_size=64))
@settings(max_examples=2000, deadline=None)
@example(b"")
@example(b"\x30")
@example(b"\x30\x80\x00\x00")  # indefinite length
@example(b"\x30\x03\x81\x01\x63")  # error 99: not an enumerated value
@example(b"\x30\x06\xa0\x04\x80\x02\xff\xff")  # negative timeBeforeExpiration
@example(b"\x30\x84\xff\xff\xff\xff")  # a length far past the end
def test_garbage_raises_only_the_projects_error(data: bytes) -> None:
    _decodes_or_refuses(data)


@given(responses, st.data())
@settings(max_examples=500, deadline=None)
def test_mutated_encodings_raise_only_the_projects_error(
    response: PolicyResponse, data: st.DataObject
) -> None:
    encoded = bytearray(ppolicy.encode(response))
    position = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    encoded[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded)))
    _decodes_or_refuses(bytes(encoded[:cut]))
