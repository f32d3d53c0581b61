"""The Prometheus metrics (``/metrics``), on a registry of their own.

Each cycle's outcome feeds the counters and gauges as it ends (``DaemonStatus.on_cycle``);
what the daemon already counts elsewhere (connection, reconnects, journal write failures,
orders in the journal) is read when Prometheus scrapes, so there is one source of truth.
A registry per daemon (not the library's global one) keeps tests and a second daemon in
one process from sharing counters.

Label values are bounded: a cycle's outcome is one of five statuses; a skip's reason is
its *kind* (the text before the first colon: ``timeout``, ``BrokerDisconnected``,
``internal error`` ...), never its free text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.core.broker import ConnectionState
from daemon.core.evaluate import CycleStatus
from daemon.runtime.engine import SKIPPED, CycleOutcome
from daemon.runtime.health import HealthReport
from daemon.runtime.status import DaemonStatus

# No ``*_created`` series: they double the page and no alert rule reads them. (A library-wide
# switch; the daemon has no other Prometheus user.)
disable_created_metrics()  # type: ignore[no-untyped-call]

# Real seconds; a cycle on the simulated market takes ~0.1-1 s, on IB several seconds.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

OUTCOMES = (*(s.value for s in CycleStatus), SKIPPED)


def skip_kind(reason: str) -> str:
    """The bounded label of a skip's reason: its leading kind, before the first colon."""
    kind = reason.split(":", 1)[0].strip()
    return kind[:60] or "unknown"


class Metrics:
    def __init__(
        self,
        status: DaemonStatus,
        order_counts: Callable[[], Mapping[str, int]],
        health: Callable[[], HealthReport] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cycles = Counter("alvh_cycles", "Cycles run, by outcome", ["outcome"], registry=r)
        for outcome in OUTCOMES:
            self.cycles.labels(outcome=outcome)  # every outcome shows, at 0
        self.skips = Counter(
            "alvh_cycle_skips", "Skipped cycles, by reason", ["reason"], registry=r
        )
        self.latency = Histogram(
            "alvh_cycle_duration_seconds",
            "Real seconds a cycle took, start to journal",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.scalar = Gauge(
            "alvh_scalar", "The smoothed hedge scalar of the last cycle", registry=r
        )
        self.component = Gauge(
            "alvh_scalar_component",
            "Each signal's weighted contribution (weight x z) to the last cycle's scalar",
            ["signal"],
            registry=r,
        )
        self.tail_loss = Gauge(
            "alvh_tail_loss_usd", "The condor book's stress loss (<= 0), USD", registry=r
        )
        self.hedge_payoff = Gauge(
            "alvh_hedge_payoff_usd", "The held hedges' stress payoff, USD", registry=r
        )
        self.coverage = Gauge(
            "alvh_coverage_usd",
            "Hedge payoff in the stress scenario before and after the proposal, USD",
            ["stage"],
            registry=r,
        )
        self.coverage_target = Gauge(
            "alvh_coverage_target_usd", "The payoff the hedge aims at, USD", registry=r
        )
        self.coverage_ratio = Gauge(
            "alvh_coverage_ratio",
            "Coverage after the proposal / target (1 = on target)",
            registry=r,
        )
        self.proposals_last = Gauge(
            "alvh_proposals_last_cycle", "Adjustments the last cycle proposed", registry=r
        )
        self.adjustments = Counter(
            "alvh_adjustments", "Adjustments by what became of them", ["outcome"], registry=r
        )
        self.last_cycle_time = Gauge(
            "alvh_last_cycle_timestamp_seconds",
            "Market time (Unix seconds) the last cycle started",
            registry=r,
        )
        r.register(_StatusCollector(status, order_counts, health))
        status.on_cycle(self.observe_cycle)

    def observe_cycle(self, outcome: CycleOutcome, duration_s: float) -> None:
        self.cycles.labels(outcome=outcome.status).inc()
        self.latency.observe(duration_s)
        self.last_cycle_time.set(outcome.started_at.timestamp())
        if outcome.status == SKIPPED:
            self.skips.labels(reason=skip_kind(outcome.reason)).inc()
        for execution in outcome.executions:
            self.adjustments.labels(outcome=execution.outcome).inc()
        self.proposals_last.set(len(outcome.executions))
        result = outcome.result
        if result is None:
            return
        if result.scalar is not None:
            if result.scalar.value is not None:
                self.scalar.set(result.scalar.value)
            for reading in result.scalar.components:
                self.component.labels(signal=reading.name).set(reading.contribution)
        if result.risk is not None:
            self.tail_loss.set(result.risk.tail_loss_usd)
            self.hedge_payoff.set(result.risk.hedge_payoff_usd)
        if result.proposal is not None:
            p = result.proposal
            self.coverage.labels(stage="before").set(p.coverage_before_usd)
            self.coverage.labels(stage="after").set(p.coverage_after_usd)
            self.coverage_target.set(p.target_payoff_usd)
            if p.target_payoff_usd > 0:
                self.coverage_ratio.set(p.coverage_after_usd / p.target_payoff_usd)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StatusCollector(Collector):
    """Read at each scrape from the daemon's status and journal."""

    def __init__(
        self,
        status: DaemonStatus,
        order_counts: Callable[[], Mapping[str, int]],
        health: Callable[[], HealthReport] | None,
    ) -> None:
        self._status = status
        self._order_counts = order_counts
        self._health = health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self._status
        state = status.connection_state
        connection = GaugeMetricFamily(
            "alvh_broker_connection_state",
            "1 for the broker connection's current state, 0 for the others",
            labels=["state"],
        )
        for candidate in ConnectionState:
            connection.add_metric([candidate.value], 1.0 if candidate is state else 0.0)
        yield connection
        yield GaugeMetricFamily(
            "alvh_broker_connected",
            "1 when the broker is connected",
            value=float(state is ConnectionState.CONNECTED),
        )
        yield CounterMetricFamily(
            "alvh_broker_reconnects",
            "Reconnections after a lost connection",
            value=status.reconnects,
        )
        yield CounterMetricFamily(
            "alvh_journal_write_failures",
            "Journal transactions that failed (disk full, I/O error, locked)",
            value=status.journal_write_failures,
        )
        orders = GaugeMetricFamily(
            "alvh_orders", "Orders in the journal, by their last known status", labels=["status"]
        )
        try:
            counts = dict(self._order_counts())
        except sqlite3.Error:  # the journal is closing (a scrape during the stop)
            counts = {}
        for name, count in sorted(counts.items()):
            orders.add_metric([name], float(count))
        yield orders
        if self._health is not None:
            # The daemon's own verdict, calendar-aware: alert on it rather than rebuilding
            # market hours and holidays in PromQL.
            checks = GaugeMetricFamily(
                "alvh_health_ok", "1 when the /healthz check passes, by check", labels=["check"]
            )
            for name, check in self._health().checks.items():
                checks.add_metric([name], float(check.ok))
            yield checks
        yield GaugeMetricFamily(
            "alvh_up",
            "1 while the daemon runs (0 while it starts or stops)",
            value=float(status.phase == "running"),
        )
