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
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

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
        self.ldap_seconds = Histogram(
            "passgate_ldap_operation_seconds",
            "Latency of LDAP operations",
            ["operation"],
            buckets=LDAP_BUCKETS,
            registry=self.registry,
        )
        self.phase_seconds = Histogram(
            "passgate_request_phase_seconds",
            "Time spent in each phase of a change request (see passgate.timing); "
            "phase=total is the whole request as the route saw it",
            ["phase"],
            buckets=PHASE_BUCKETS,
            registry=self.registry,
        )
        self._phase_children: dict[str, Histogram] = {}
        self._ldap_children: dict[str, Histogram] = {}
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
        children = self._phase_children
        for name, seconds in (*phases.spent.items(), ("total", phases.total())):
            _child(children, self.phase_seconds, name, name).observe(seconds)

    def observe_ldap(self, operation: str, seconds: float) -> None:
        _child(self._ldap_children, self.ldap_seconds, operation, operation).observe(seconds)

    def count_request(self, endpoint: str, outcome: int) -> None:
        """One request answered."""
        key = (endpoint, outcome)
        _child(self._request_children, self.requests, key, endpoint, str(outcome)).inc()


def _child(children: dict[K, M], metric: M, key: K, *labels: str) -> M:
    """``metric.labels(*labels)``, looked up once per key: ``labels()`` takes a lock, and
    every change observes a dozen. Label values are fixed sets (phases, LDAP operations,
    routes, the contract's codes), so the dictionary stays small."""
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
            self._file = self._open(self._path)  # at start-up, so a bad path fails early

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


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
