"""What operators see, written cheaply: the change's histograms read on /metrics exactly as
prometheus_client's own would, and the audit line's time exactly as datetime writes it."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from passgate.observability import LDAP_BUCKETS, PHASE_BUCKETS, LabelledHistogram, Metrics
from passgate.timing import Phases

CREATED = re.compile(rb"(_created\{[^}]*\}) \S+")


def both(
    buckets: tuple[float, ...],
) -> tuple[CollectorRegistry, Histogram, CollectorRegistry, LabelledHistogram]:
    theirs_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    theirs = Histogram(
        "x_seconds", "Some time", ["phase"], buckets=buckets, registry=theirs_registry
    )
    ours = LabelledHistogram("x_seconds", "Some time", "phase", buckets)
    ours_registry.register(ours)
    return theirs_registry, theirs, ours_registry, ours


observations = st.lists(
    st.tuples(
        st.sampled_from(["auth", "bind", "total", 'odd "name"\\']),
        st.one_of(
            st.sampled_from([0.0, *PHASE_BUCKETS, 10.000001, 1e6]),  # on a bound, past the last
            st.floats(min_value=0, max_value=20, allow_nan=False),
        ),
    ),
    max_size=60,
)


@pytest.mark.parametrize("buckets", [PHASE_BUCKETS, LDAP_BUCKETS])
@given(seen=observations)
@settings(max_examples=150, deadline=None)
def test_the_exposition_is_prometheus_clients_own(
    buckets: tuple[float, ...], seen: list[tuple[str, float]]
) -> None:
    theirs_registry, theirs, ours_registry, ours = both(buckets)
    for label, seconds in seen:
        theirs.labels(label).observe(seconds)
    ours.observe_all(seen)
    for generate in (generate_latest, generate_openmetrics):
        expected = CREATED.sub(rb"\1 T", generate(theirs_registry))
        assert CREATED.sub(rb"\1 T", generate(ours_registry)) == expected


def test_observations_from_many_threads_are_all_counted() -> None:
    histogram = LabelledHistogram("x_seconds", "Some time", "operation", LDAP_BUCKETS)

    def observe() -> None:
        for _ in range(2000):
            histogram.observe_all((("bind", 0.001), ("modify", 0.003)))

    threads = [threading.Thread(target=observe) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    registry = CollectorRegistry()
    registry.register(histogram)
    text = generate_latest(registry).decode()
    assert 'x_seconds_count{operation="bind"} 8000.0' in text
    assert 'x_seconds_count{operation="modify"} 8000.0' in text


def test_a_requests_phases_and_ldap_operations_land_in_their_series() -> None:
    metrics = Metrics()
    phases = Phases()
    phases.add("bind", 0.0004)
    phases.add("modify", 0.002)
    metrics.observe_phases(phases)
    metrics.observe_ldap("search", 0.0007)
    text = generate_latest(metrics.registry).decode()
    assert 'passgate_request_phase_seconds_bucket{le="0.0005",phase="bind"} 1.0' in text
    assert 'passgate_request_phase_seconds_bucket{le="0.001",phase="modify"} 0.0' in text
    assert 'passgate_request_phase_seconds_count{phase="total"} 1.0' in text
    assert 'passgate_ldap_operation_seconds_bucket{le="0.001",operation="search"} 1.0' in text
    assert 'passgate_ldap_operation_seconds_sum{operation="search"} 0.0007' in text


@given(
    st.one_of(
        st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=4_000_000_000).map(float),
        st.integers(min_value=0, max_value=4_000_000_000).map(lambda s: s + 0.9999995),
        st.integers(min_value=0, max_value=4_000_000_000).map(lambda s: s + 0.0005),
    )
)
@settings(max_examples=1000, deadline=None)
def test_the_audit_time_is_datetimes_own(moment: float) -> None:
    import datetime
    from unittest import mock

    from passgate import observability

    with mock.patch.object(observability.time, "time", return_value=moment):
        ours = observability.now_iso()
    expected = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    assert ours == expected.isoformat(timespec="milliseconds")
