"""What operators see: Prometheus metrics and the audit log.

Metrics live in a registry per app (tests build many apps). Labels are
bounded sets (endpoint names, result codes, operation names, pool names):
never a user id, a DN, a client address or a password.

The audit log is one JSON line per change attempt, to stdout or a file,
through its own logger so it never mixes with (or is filtered like) the
service's log. It holds who asked for what and how it ended; never a
password, never a token.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import prometheus_client.metrics
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from passgate.errors import ConfigurationError
from passgate.logging_setup import PerSecond
from passgate.timing import Phases

K = TypeVar("K")
M = TypeVar("M", bound=MetricWrapperBase)

log = logging.getLogger(__name__)

PHASE_BUCKETS = (
    *(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05),
    *(0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LDAP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class PoolCollector(Collector):
    """Pool sizes, read at scrape time from whatever the directory exposes."""

    def __init__(self, pools: Callable[[], dict[str, Any]]) -> None:
        self._pools = pools

    def collect(self) -> Iterator[Metric]:
        idle = GaugeMetricFamily(
            "passgate_ldap_pool_idle_connections",
            "Open LDAP connections idle in the pool",
            labels=["pool"],
        )
        created = GaugeMetricFamily(
            "passgate_ldap_pool_opened_connections",
            "LDAP connections opened since start",
            labels=["pool"],
        )
        discarded = GaugeMetricFamily(
            "passgate_ldap_pool_discarded_connections",
            "LDAP connections closed as broken or stale since start",
            labels=["pool"],
        )
        for name, pool in self._pools().items():
            idle.add_metric([name], pool.idle)
            created.add_metric([name], pool.created)
            discarded.add_metric([name], pool.discarded)
        yield idle
        yield created
        yield discarded


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "passgate_requests",
            "Requests by endpoint and outcome (HTTP status for successes, else the contract code)",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.ldap_seconds = LabelledHistogram(
            "passgate_ldap_operation_seconds",
            "Latency of LDAP operations",
            "operation",
            LDAP_BUCKETS,
        )
        self.phase_seconds = LabelledHistogram(
            "passgate_request_phase_seconds",
            "Time spent in each phase of a change request (see passgate.timing); "
            "phase=total is the whole request as the route saw it",
            "phase",
            PHASE_BUCKETS,
        )
        self.registry.register(self.ldap_seconds)
        self.registry.register(self.phase_seconds)
        self._request_children: dict[tuple[str, int], Counter] = {}
        self.limiter_trips = Counter(
            "passgate_limiter_trips",
            "Attempts refused by the attempt limiter (429), by which limit",
            ["scope"],
            registry=self.registry,
        )

    def watch_pools(self, pools: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(PoolCollector(pools))

    def observe_phases(self, phases: Phases) -> None:
        self.phase_seconds.observe_all((*phases.spent.items(), ("total", phases.total())))

    def observe_ldap(self, operation: str, seconds: float) -> None:
        self.ldap_seconds.observe_all(((operation, seconds),))

    def count_request(self, endpoint: str, outcome: int) -> None:
        """One request answered."""
        key = (endpoint, outcome)
        _child(self._request_children, self.requests, key, endpoint, str(outcome)).inc()


# How prometheus_client writes a bucket's bound (``1.0``, ``5e-05``, ``+Inf``).
_go_float = cast("Callable[[float], str]", floatToGoString)


class LabelledHistogram(Collector):
    """A histogram with one label, exposed as prometheus_client's ``Histogram`` exposes
    it (buckets, count, sum, created, in the order the series were first observed).

    Every change observes a dozen phases and three or four LDAP operations;
    prometheus_client's histogram takes two locks per observation (the sum,
    the bucket). Here one lock covers all of a request's observations, and a
    bucket is found by bisection. Label values are fixed sets (phase and
    operation names): the series stay few.
    """

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float]) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._bounds = (*(float(bound) for bound in buckets), math.inf)
        self._le = tuple(_go_float(bound) for bound in self._bounds)
        # label value -> [count per bucket..., sum, created]
        self._series: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def observe_all(self, observations: Iterable[tuple[str, float]]) -> None:
        """Each ``(label value, seconds)`` observed, under one lock."""
        bounds, series_of = self._bounds, self._series
        with self._lock:
            for value, seconds in observations:
                series = series_of.get(value)
                if series is None:
                    series = series_of[value] = [0.0] * (len(bounds) + 2)
                    series[-1] = time.time()
                series[bisect_left(bounds, seconds)] += 1  # the first bound >= seconds
                series[-2] += seconds

    def collect(self) -> Iterator[Metric]:
        metric = Metric(self._name, self._documentation, "histogram")
        with self._lock:
            snapshot = [(value, list(series)) for value, series in self._series.items()]
        created = prometheus_client.metrics._use_created
        for value, series in snapshot:
            labels = {self._label: value}
            total = 0.0
            for le, count in zip(self._le, series, strict=False):
                total += count
                metric.add_sample(self._name + "_bucket", {**labels, "le": le}, total)
            metric.add_sample(self._name + "_count", labels, total)
            metric.add_sample(self._name + "_sum", labels, series[-2])
            if created:
                metric.add_sample(self._name + "_created", labels, series[-1])
        yield metric


def _child(children: dict[K, M], metric: M, key: K, *labels: str) -> M:
    """``metric.labels(*labels)``, looked up once per key: ``labels()`` takes a lock,
    and every request is counted. Label values are fixed sets (routes, the contract's
    codes), so the dictionary stays small."""
    child = children.get(key)
    if child is None:
        child = children[key] = metric.labels(*labels)
    return child


@dataclass
class AuditRecord:
    time: str
    request_id: str
    endpoint: str
    caller_kind: str | None
    caller: str | None
    target_user_id: str | None
    outcome: int  # 200, or the contract's code
    reason: str | None
    client_address: str | None
    duration_ms: float


# Built once: json.dumps with any option builds an encoder per call.
_AUDIT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class Auditor:
    """Writes :class:`AuditRecord` lines; ``destination`` is ``stdout``, ``off`` or a path.

    Plain writes under a lock (no logging machinery: this runs on every change
    request), flushed per line so a container's log collector sees each at once.
    """

    def __init__(self, destination: str) -> None:
        where = destination.strip()
        self.enabled = where.lower() != "off"
        self._path = Path(where) if self.enabled and where.lower() != "stdout" else None
        self._file: TextIO | None = None
        self._lock = threading.Lock()
        if self._path is not None:
            try:  # at start-up, so a bad path fails early, with the setting named
                self._file = self._open(self._path)
            except OSError as exc:
                raise ConfigurationError(
                    f"PASSGATE_AUDIT_LOG: cannot open {self._path} for appending "
                    f"({exc.strerror or type(exc).__name__})"
                ) from None

    @staticmethod
    def _open(path: Path) -> TextIO:
        return path.open("a", encoding="utf-8")  # closed by close()

    def write(self, record: AuditRecord) -> None:
        if not self.enabled:
            return
        line = _AUDIT_JSON.encode(vars(record)) + "\n"
        with self._lock:
            try:
                if self._path is not None and self._file is None:  # reopened after close()
                    self._file = self._open(self._path)
                stream = self._file or sys.stdout  # sys.stdout as it is now, not at start-up
                stream.write(line)
                stream.flush()
            except (OSError, ValueError) as exc:
                log.warning("audit line not written: %s", type(exc).__name__)

    def close(self) -> None:
        with self._lock:
            file, self._file = self._file, None
        if file is not None:
            file.close()


# The audit line's date and time of day, made once a second.
_iso_second = PerSecond(
    lambda second: datetime.datetime.fromtimestamp(second, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
)


def now_iso() -> str:
    """``datetime.now(UTC).isoformat(timespec="milliseconds")``, its date and time of
    day formatted once a second (one audit line per change asks for it)."""
    now = time.time()
    second = math.floor(now)
    micro = round((now - second) * 1_000_000)  # as datetime rounds: half to even
    if micro == 1_000_000:
        second, micro = second + 1, 0
    return f"{_iso_second(second)}.{micro // 1000:03d}+00:00"
