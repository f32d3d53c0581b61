"""What the running daemon knows about itself, in one object every observer reads.

The service writes it (each cycle's outcome, the warm-up, the scheduler's liveness beats,
the broker connection it observes, the stop); the health check, the Prometheus metrics,
the sd_notify STATUS line and any page served beside them read it. Nothing here decides
anything: the health rules are in ``daemon.runtime.health``.

Two clocks, on purpose: *market time* (``market_now``: what the sessions and cycles are
scheduled in, accelerated on the simulated market) and *real monotonic seconds*
(``monotonic``: how long the process has been stuck or the broker down, which no market
clock can stretch). Both are injected, so the rules are tested on hand-set clocks.

Listeners (``on_cycle``) are called after every cycle with the outcome and the cycle's real
duration; a listener that raises is logged and dropped from that call, never the daemon.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from daemon.core.broker import ConnectionState
from daemon.runtime.engine import SKIPPED, CycleOutcome

log = structlog.get_logger("alvh.status")

CycleListener = Callable[[CycleOutcome, float], None]


@dataclass(frozen=True)
class CycleSummary:
    """The last cycle, in the few numbers a supervisor or a status page shows."""

    cycle_id: str
    started_at: datetime  # market time
    status: str  # ok | data_invalid | unpriced_book | insufficient_signals | skipped
    reason: str
    duration_s: float  # real seconds
    scalar: float | None
    tail_loss_usd: float | None
    hedge_payoff_usd: float | None
    target_payoff_usd: float | None
    coverage_before_usd: float | None
    coverage_after_usd: float | None
    proposals: int

    @classmethod
    def of(cls, outcome: CycleOutcome, duration_s: float) -> CycleSummary:
        result = outcome.result
        risk = None if result is None else result.risk
        proposal = None if result is None else result.proposal
        scalar = None if result is None or result.scalar is None else result.scalar.value
        return cls(
            cycle_id=outcome.cycle_id,
            started_at=outcome.started_at,
            status=outcome.status,
            reason=outcome.reason,
            duration_s=duration_s,
            scalar=scalar,
            tail_loss_usd=None if risk is None else risk.tail_loss_usd,
            hedge_payoff_usd=None if risk is None else risk.hedge_payoff_usd,
            target_payoff_usd=None if proposal is None else proposal.target_payoff_usd,
            coverage_before_usd=None if proposal is None else proposal.coverage_before_usd,
            coverage_after_usd=None if proposal is None else proposal.coverage_after_usd,
            proposals=len(outcome.executions),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id,
            "started_at": self.started_at.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "duration_s": round(self.duration_s, 3),
            "scalar": self.scalar,
            "tail_loss_usd": self.tail_loss_usd,
            "hedge_payoff_usd": self.hedge_payoff_usd,
            "target_payoff_usd": self.target_payoff_usd,
            "coverage_before_usd": self.coverage_before_usd,
            "coverage_after_usd": self.coverage_after_usd,
            "proposals": self.proposals,
        }

    def line(self) -> str:
        """One line for systemd's STATUS= (``systemctl status`` shows it)."""
        when = f"{self.started_at:%Y-%m-%d %H:%M}"
        if self.status == SKIPPED:
            return f"cycle {when}: skipped ({self.reason})"[:200]
        scalar = "n/a" if self.scalar is None else f"{self.scalar:.3f}"
        return f"cycle {when}: {self.status}, scalar {scalar}, {self.proposals} proposal(s)"


class DaemonStatus:
    """The daemon's state as its observers see it. Written by the service only."""

    def __init__(
        self,
        *,
        run_id: str,
        mode: str,
        broker_kind: str,
        version: str,
        connection: Callable[[], ConnectionState],
        market_now: Callable[[], datetime],
        journal_write_failures: Callable[[], int] = lambda: 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.mode = mode
        self.broker_kind = broker_kind
        self.version = version
        self._connection = connection
        self.market_now = market_now
        self._journal_write_failures = journal_write_failures
        self.monotonic = monotonic
        self.started_market = market_now()
        self.started_mono = monotonic()
        self.phase = "starting"  # starting -> running -> stopping
        self.warmup = "pending"  # pending | ok | failed: <reason>
        self.last_cycle: CycleSummary | None = None
        self.cycles_by_status: Counter[str] = Counter()
        self.reconnects = 0
        self.last_beat_mono: float | None = None
        self.cycle_started_mono: float | None = None
        self._last_state: ConnectionState | None = None
        self._ever_connected = False
        # The scheduler runs the beat (a plain function) on a worker thread while the loop
        # observes at cycles and reconnects: one reconnect seen by both was counted twice.
        self._observing = threading.Lock()
        # Since when (monotonic) the broker has been seen not connected; None = connected.
        self.disconnected_since_mono: float | None = self.started_mono
        self._listeners: list[CycleListener] = []

    # ---- read ------------------------------------------------------------------------
    @property
    def connection_state(self) -> ConnectionState:
        """The broker's connection now (asked live, not the last observation)."""
        return self._connection()

    @property
    def journal_write_failures(self) -> int:
        return self._journal_write_failures()

    def to_json(self) -> dict[str, Any]:
        """Everything above as JSON-ready values (the status page's and /healthz's source)."""
        now = self.monotonic()
        down = self.disconnected_since_mono
        return {
            "run_id": self.run_id,
            "version": self.version,
            "mode": self.mode,
            "broker": self.broker_kind,
            "phase": self.phase,
            "warmup": self.warmup,
            "market_now": self.market_now().isoformat(),
            "started_at": self.started_market.isoformat(),
            "uptime_s": round(now - self.started_mono, 1),
            "connection": self.connection_state.value,
            "disconnected_for_s": None if down is None else round(now - down, 1),
            "reconnects": self.reconnects,
            "cycles": dict(self.cycles_by_status),
            "last_cycle": None if self.last_cycle is None else self.last_cycle.to_json(),
            "journal_write_failures": self.journal_write_failures,
        }

    def status_line(self) -> str:
        if self.last_cycle is not None:
            return self.last_cycle.line()
        return f"no cycle yet; warm-up {self.warmup}; broker {self.connection_state.value}"

    # ---- write (the service) ---------------------------------------------------------
    def on_cycle(self, listener: CycleListener) -> None:
        """Call ``listener(outcome, duration_s)`` after every cycle."""
        self._listeners.append(listener)

    def beat(self) -> None:
        """The scheduler ran a job: it is alive. Also a moment to look at the broker."""
        self.last_beat_mono = self.monotonic()
        self.observe_connection()

    def observe_connection(self) -> None:
        """Note a change of the broker's connection: when it went down, each reconnect.

        Observed at every beat, cycle and reconnection attempt: a drop and a reconnect
        between two observations are not seen (they also cost nothing)."""
        with self._observing:
            state = self.connection_state
            if state is self._last_state:
                return
            if state is ConnectionState.CONNECTED:
                if self._ever_connected:
                    self.reconnects += 1
                    log.info("broker_reconnected", reconnects=self.reconnects)
                self._ever_connected = True
                self.disconnected_since_mono = None
            elif self.disconnected_since_mono is None:
                self.disconnected_since_mono = self.monotonic()
            self._last_state = state

    def cycle_started(self) -> None:
        self.cycle_started_mono = self.monotonic()
        self.observe_connection()

    def cycle_done(self, outcome: CycleOutcome) -> None:
        started = self.cycle_started_mono
        duration = 0.0 if started is None else self.monotonic() - started
        self.cycle_started_mono = None
        self.last_cycle = CycleSummary.of(outcome, duration)
        self.cycles_by_status[outcome.status] += 1
        self.observe_connection()
        for listener in list(self._listeners):
            try:
                listener(outcome, duration)
            except Exception:  # an observer's bug must not stop the cycles
                log.exception("cycle_listener_failed", listener=repr(listener))

    def cycle_abandoned(self) -> None:
        """A cycle ended by an exception the engine did not turn into an outcome."""
        self.cycle_started_mono = None
