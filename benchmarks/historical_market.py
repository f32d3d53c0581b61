"""Throughput of the historical market alone: the daemon's own snapshot, once a session.

    .venv/bin/python benchmarks/historical_market.py [DATA_DIR] [FROM] [TO]

Loads the history, then for every session FROM..TO (default 2007-01-03..2025-09-26) moves
a manual clock to the close print and takes the daemon's ``SnapshotTaker`` snapshot (the
default config's strikes and expiries: ~500 option quotes) from a ``SimBroker`` on a
``HistoricalSource``; prints the load time, the sessions per second and the CPU time. This is the
market's share of a replay; the engine's own cost is in benchmarks/cycle.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import date
from pathlib import Path

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.historical import HistoricalSource
from daemon.config import AppConfig
from daemon.replay.data import load_market_data
from daemon.runtime.snapshot import SnapshotTaker

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "market"


async def play(data_dir: Path, first: date, last: date) -> None:
    t0 = time.perf_counter()
    data = load_market_data(data_dir)
    load_s = time.perf_counter() - t0
    config = AppConfig()
    params = SimParams(book=())
    source = HistoricalSource(data, params)
    days = data.sessions(first, last)
    clock = SimClock.manual(source.close_print_time(days[0]))
    broker = SimBroker(params, clock, source=source)
    taker = SnapshotTaker(broker, config, config.snapshot, data.events)
    await broker.connect()
    quotes = 0
    t1, cpu1 = time.perf_counter(), time.process_time()
    for day in days:
        clock.advance_to(source.close_print_time(day))
        quotes += len((await taker.take(clock.now())).options)
    run_s, cpu_s = time.perf_counter() - t1, time.process_time() - cpu1
    await broker.close()
    print(f"load: {load_s:.2f} s ({len(data.days)} sessions of history)")
    print(
        f"{len(days)} sessions {days[0]}..{days[-1]} in {run_s:.1f} s: "
        f"{len(days) / run_s:.0f} sessions/s, {1000 * run_s / len(days):.2f} ms/session, "
        f"{quotes / len(days):.0f} option quotes/session; CPU {cpu_s:.1f} s "
        f"({1000 * cpu_s / len(days):.2f} ms/session: on a shared machine wall > CPU)"
    )


def main() -> int:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    first = date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else date(2007, 1, 3)
    last = date.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else date(2025, 9, 26)
    asyncio.run(play(data_dir, first, last))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
