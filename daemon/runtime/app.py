"""The composition root: config -> logging -> broker -> journal -> engine, wired once.

The execution mode is decided here and only here, by picking the executor.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import daemon
from daemon.config import AppConfig
from daemon.core.broker import Broker
from daemon.errors import ConfigError
from daemon.events_file import load_events
from daemon.logs import mask_secrets, set_market_clock
from daemon.plugins import load_custom_signals
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.clock import RealClock
from daemon.runtime.engine import Engine
from daemon.runtime.executors import Executor, ProposeExecutor
from daemon.runtime.journal import SqliteJournal
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
    journal = SqliteJournal.open(config.journal.path)
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
    return App(config, chosen, broker, clock, journal, executor, engine, run_id, alerts)


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
