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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
        self.limiter_trips = Counter(
            "passgate_limiter_trips",
            "Attempts refused by the attempt limiter (429), by which limit",
            ["scope"],
            registry=self.registry,
        )

    def watch_pools(self, pools: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(PoolCollector(pools))

    def observe_ldap(self, operation: str, seconds: float) -> None:
        self.ldap_seconds.labels(operation).observe(seconds)


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


class _Stdout(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (not the one at start-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


class Auditor:
    """Writes :class:`AuditRecord` lines; ``destination`` is ``stdout``, ``off`` or a path."""

    def __init__(self, destination: str) -> None:
        self.enabled = destination.lower() != "off"
        self._log = logging.getLogger(f"passgate.audit.{id(self)}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        handler: logging.Handler
        if not self.enabled:
            handler = logging.NullHandler()
        elif destination.lower() == "stdout":
            handler = _Stdout()
        else:
            handler = logging.FileHandler(Path(destination), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._log.addHandler(handler)
        self._handler = handler

    def write(self, record: AuditRecord) -> None:
        if self.enabled:
            self._log.info(json.dumps(asdict(record), ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        self._log.removeHandler(self._handler)
        self._handler.close()


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
