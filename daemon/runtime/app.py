"""The composition root: config -> logging -> broker -> journal -> engine, wired once.

The execution mode is decided here and only here, by picking the executor.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import daemon
from daemon.config import AppConfig
from daemon.core.broker import Broker
from daemon.core.models import MarketEvent
from daemon.core.params import ModelParams
from daemon.core.signals import CustomSignal
from daemon.errors import ConfigError, JournalError
from daemon.events_file import load_events
from daemon.logs import mask_secrets, set_market_clock
from daemon.plugins import load_custom_signals
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.clock import RealClock
from daemon.runtime.engine import Engine
from daemon.runtime.executors import Executor, ProposeExecutor
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_lock import JournalLock
from daemon.runtime.notify.apprise_sink import build_fanout
from daemon.runtime.snapshot import SnapshotTaker
from daemon.runtime.submit import SubmitExecutor
from daemon.runtime.triggers import MarketClock

Mode = Literal["propose", "submit"]


@dataclass
class App:
    config: AppConfig
    mode: Mode
    broker: Broker
    clock: MarketClock
    journal: SqliteJournal
    executor: Executor
    engine: Engine
    run_id: str
    alerts: DecisionAlerts  # and through it the notifier fan-out (alerts.notifier)


def make_broker(config: AppConfig) -> tuple[Broker, MarketClock]:
    """The configured broker and the market clock that goes with it."""
    if config.broker.kind == "sim":
        from daemon.brokers.sim.broker import SimBroker

        sim = SimBroker(config.sim)
        return sim, sim.clock
    try:
        from daemon.brokers.ib.adapter import IbBroker
    except ImportError as exc:
        raise ConfigError.single(
            "broker.kind",
            f"'ib' needs the Interactive Brokers client: pip install 'alvh-daemon[ib]' ({exc})",
            value="ib",
        ) from exc
    return IbBroker(config.broker.ib), RealClock()


def build_app(
    config: AppConfig, *, mode: Mode | None = None, env: Mapping[str, str] | None = None
) -> App:
    """Everything a run needs, wired. Loading errors surface here, before any connection."""
    env = os.environ if env is None else env
    chosen: Mode = mode or config.execution.mode
    events = load_events(config.events_path)
    extra = load_custom_signals(config.signals.custom)
    model = config.model_params()
    broker, clock = make_broker(config)
    set_market_clock(clock.now)  # log lines carry the market's time, the sim's in a sim
    journal = open_locked(config.journal.path)
    try:
        executor, engine, run_id, alerts = _wire(
            config, chosen, env, broker, clock, journal, (model, events, extra)
        )
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
        # What the engine and the alerts read back at start (the scalar state, the
        # standing alerts, the last income day) is damaged in a way quick_check does not
        # see (a corrupt record, malformed JSON): refuse, the file untouched.
        journal.close()
        raise JournalError(
            f"journal {config.journal.path} cannot be read back ({type(exc).__name__}: "
            f"{exc}): it is damaged; move it aside (with its -wal/-shm) to start a new one"
        ) from exc
    return App(config, chosen, broker, clock, journal, executor, engine, run_id, alerts)


def _wire(
    config: AppConfig,
    chosen: Mode,
    env: Mapping[str, str],
    broker: Broker,
    clock: MarketClock,
    journal: SqliteJournal,
    loaded: tuple[ModelParams, tuple[MarketEvent, ...], Sequence[CustomSignal]],
) -> tuple[Executor, Engine, str, DecisionAlerts]:
    """The parts that read the journal back as they are built."""
    model, events, extra = loaded
    alerts = DecisionAlerts(journal, build_fanout(config.notify, env), config.alerts)
    executor: Executor = (
        SubmitExecutor(
            broker, journal, config.execution, config.ticks, clock, env=dict(env), alerts=alerts
        )
        if chosen == "submit"
        else ProposeExecutor(alerts)
    )
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    engine = Engine(
        broker=broker,
        journal=journal,
        executor=executor,
        snapshots=SnapshotTaker(broker, model, config.snapshot, events),
        model=model,
        run_id=run_id,
        clock=clock.now,
        cycle_timeout_s=config.schedule.cycle_timeout_s,
        extra_signals=extra,
    )
    return executor, engine, run_id, alerts


def open_locked(path: Path) -> SqliteJournal:
    """The journal, opened for writing under its one-writer lock (``journal_lock``): a
    second daemon on the same journal is refused here, before it reads or writes it."""
    lock = JournalLock.acquire(path)
    try:
        journal = SqliteJournal.open(path)
    except BaseException:
        lock.release()
        raise
    journal.hold(lock)
    return journal


def start_run(app: App) -> None:
    """The run's journal record: version, host, mode and the whole config, its secrets
    masked (the IB account id: ``daemon.logs.mask_secrets``) as in the log."""
    app.journal.start_run(
        app.run_id,
        now=app.clock.now(),
        version=daemon.__version__,
        host=socket.gethostname(),
        mode=app.mode,
        broker=app.config.broker.kind,
        config=mask_secrets(app.config.model_dump(mode="json")),
    )
