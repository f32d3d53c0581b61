"""The Prometheus page across states, read back with prometheus_client's own text parser.

Oracles: the cycle outcomes fed in (counts by outcome and skip kind, latency bucket edges
placed by hand), the scalar's identity raw = 1 + sum of components, coverage ratio =
after / target, the broker state set by hand, and orders counted in a journal written here.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from daemon.config import load_config
from daemon.core.broker import ConnectionState
from daemon.runtime.app import build_app, start_run
from daemon.runtime.metrics import Metrics, skip_kind
from tests.runtime.ops_rig import SESSION_DAY_OPEN, Clocks, make_health, make_status, skipped

REPO = Path(__file__).resolve().parents[2]


def _samples(page: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(page.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_skip_kind_is_bounded() -> None:
    """A skip's label is its kind, never its free text (which would explode the series)."""
    assert skip_kind("timeout: cycle took over 120 s") == "timeout"
    assert skip_kind("BrokerDisconnected: not connected") == "BrokerDisconnected"
    assert skip_kind("internal error: KeyError: 'x'") == "internal error"
    assert skip_kind("") == "unknown"


def test_cycles_skips_latency_connection_and_journal_failures() -> None:
    """Three skipped cycles of two kinds and known durations; disconnected broker after a
    reconnect; two journal failures: each shows on the page as fed."""
    clocks = Clocks()
    status = make_status(clocks)
    status.beat()
    orders = {"FILLED": 2, "CANCELLED": 1}
    health = make_health(status, max_disconnected_s=60.0)
    metrics = Metrics(status, lambda: orders, health.report)
    for duration, reason in ((0.2, "timeout: x"), (3.0, "BrokerTimeout: y"), (7.0, "timeout: z")):
        status.cycle_started()
        clocks.advance(duration)
        status.cycle_done(skipped(clocks.market, reason))
    clocks.connection = ConnectionState.DISCONNECTED
    status.beat()
    clocks.connection = ConnectionState.CONNECTED
    status.beat()
    clocks.connection = ConnectionState.DISCONNECTED
    clocks.journal_failures = 2
    s = _samples(metrics.render())
    assert _value(s, "alvh_cycles_total", outcome="skipped") == 3
    assert _value(s, "alvh_cycles_total", outcome="ok") == 0  # present at zero
    assert _value(s, "alvh_cycle_skips_total", reason="timeout") == 2
    assert _value(s, "alvh_cycle_skips_total", reason="BrokerTimeout") == 1
    # Buckets are cumulative: <= 0.25 holds the 0.2 s cycle; <= 5 adds the 3 s one; <= 10 all.
    assert _value(s, "alvh_cycle_duration_seconds_bucket", le="0.25") == 1
    assert _value(s, "alvh_cycle_duration_seconds_bucket", le="5.0") == 2
    assert _value(s, "alvh_cycle_duration_seconds_bucket", le="10.0") == 3
    assert _value(s, "alvh_cycle_duration_seconds_sum") == pytest.approx(10.2)
    assert _value(s, "alvh_broker_connection_state", state="disconnected") == 1
    assert _value(s, "alvh_broker_connection_state", state="connected") == 0
    assert _value(s, "alvh_broker_connected") == 0
    assert _value(s, "alvh_broker_reconnects_total") == 1
    assert _value(s, "alvh_journal_write_failures_total") == 2
    assert _value(s, "alvh_orders", status="FILLED") == 2
    assert _value(s, "alvh_orders", status="CANCELLED") == 1
    assert _value(s, "alvh_up") == 0  # still "starting"
    # /healthz's verdicts: starting (phase fails); the broker only just dropped (passes).
    assert _value(s, "alvh_health_ok", check="phase") == 0
    assert _value(s, "alvh_health_ok", check="broker") == 1
    assert _value(s, "alvh_health_ok", check="scheduler") == 1
    assert _value(s, "alvh_last_cycle_timestamp_seconds") == clocks.market.timestamp()


def test_a_real_cycle_fills_scalar_components_tail_loss_coverage_and_proposals(
    tmp_path: Path,
) -> None:
    """One cycle on the simulated market: the page's scalar components add up to the raw
    scalar (raw = 1 + sum w z), coverage ratio is after / target, proposals as executed."""
    raw = yaml.safe_load((REPO / "config" / "sim.yaml").read_text())
    raw["journal"]["path"] = str(tmp_path / "j.sqlite")
    raw["events_path"] = str(REPO / "config" / "events.yaml")
    raw["sim"]["start"] = (SESSION_DAY_OPEN + timedelta(hours=1)).isoformat()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path, env={})

    async def go() -> tuple[Any, bytes]:
        app = build_app(config)
        status = make_status(Clocks())
        metrics = Metrics(status, app.journal.order_status_counts)
        start_run(app)
        await app.broker.connect()
        try:
            status.cycle_started()
            outcome = await app.engine.run_cycle(app.clock.now())
            status.cycle_done(outcome)
            return outcome, metrics.render()
        finally:
            await app.broker.close()
            app.journal.close()

    outcome, page = asyncio.run(go())
    assert outcome.status == "ok", outcome.reason
    s = _samples(page)
    result = outcome.result
    components = [
        _value(s, "alvh_scalar_component", signal=r.name) for r in result.scalar.components
    ]
    assert 1.0 + math.fsum(components) == pytest.approx(result.scalar.raw, abs=1e-12)
    assert _value(s, "alvh_scalar") == result.scalar.value
    assert _value(s, "alvh_tail_loss_usd") == result.risk.tail_loss_usd < 0
    after = _value(s, "alvh_coverage_usd", stage="after")
    target = _value(s, "alvh_coverage_target_usd")
    assert _value(s, "alvh_coverage_ratio") == pytest.approx(after / target)
    proposed = len(result.adjustments)
    assert _value(s, "alvh_proposals_last_cycle") == proposed
    if proposed:
        assert _value(s, "alvh_adjustments_total", outcome="proposed") == proposed
    assert _value(s, "alvh_cycles_total", outcome="ok") == 1


def test_a_scrape_while_the_journal_closes_still_answers() -> None:
    """The journal closed under a scrape (the stop): the page answers without orders."""

    def closed() -> dict[str, int]:
        raise sqlite3.ProgrammingError("Cannot operate on a closed database.")

    status = make_status(Clocks())
    s = _samples(Metrics(status, closed).render())
    assert not [k for k in s if k[0] == "alvh_orders"]
    assert _value(s, "alvh_broker_connected") == 1
