"""Speed of ``alvh replay``: sessions per second of each policy, one process, no profiler.

Run: .venv/bin/python benchmarks/replay.py [--data ../shared/data/market]
     [--from 2007-01-03] [--to 2025-12-31] [--hedge none,static,vxth,alvh-flat,alvh]
     [--max-s 120] [--by-year]

Each policy replays the window in this process (``replay_policy``, the function each of
``alvh replay``'s processes runs) into a throw-away journal, with logging at warning
level to a file, as ``alvh replay`` does. Reported per policy: sessions done, wall and
CPU seconds, sessions per second of wall time and of CPU time (the machine is shared:
CPU time says what the code costs, wall time what a user waits), and the projection to
the 2007-2025 window (~4,700 sessions). ``--max-s`` stops a policy after that many wall
seconds and projects from what was done (the daemon's policies are the slow ones).
``--by-year`` adds each policy's CPU milliseconds a session, year by year (where the
cost sits in the history). ``--data sim`` runs on the stochastic simulated market instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import machine

from daemon.config import load_config
from daemon.logs import configure_logging
from daemon.replay.parallel import make_market, replay_policy
from daemon.replay.policies import POLICIES

FULL_WINDOW_SESSIONS = 4700


def _one(
    policy: str, args: argparse.Namespace, out: Path
) -> tuple[int, float, float, dict[int, tuple[int, float]]]:
    """Sessions done, wall s, CPU s, and per year (sessions, CPU s)."""
    config = load_config(Path("config/default.yaml"), {})
    market = make_market(args.data, config, args.first)
    days = market.sessions(args.first, args.last)
    years: dict[int, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    started, cpu0 = time.perf_counter(), time.process_time()
    last = [cpu0]

    def stop() -> bool:
        return time.perf_counter() - started > args.max_s

    def progress(done: int, total: int, equity: float) -> None:
        now, year = time.process_time(), days[done - 1].year
        n, cpu = years[year]
        years[year] = (n + 1, cpu + now - last[0])
        last[0] = now

    outcome = asyncio.run(
        replay_policy(
            policy,
            config,
            market,
            args.first,
            args.last,
            out / f"{policy}.sqlite",
            stop=stop,
            progress=progress,
        )
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return outcome.sessions_done, wall, cpu, dict(years)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/market")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, default=date(2007, 1, 3))
    parser.add_argument("--to", dest="last", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--hedge", default=",".join(reversed(POLICIES)))
    parser.add_argument("--max-s", type=float, default=120.0)
    parser.add_argument(
        "--by-year", action="store_true", help="also print each year's CPU ms a session"
    )
    args = parser.parse_args()
    print(machine())
    print(f"data {args.data}, {args.first} .. {args.last}, at most {args.max_s:g} s a policy")
    header = "policy     sessions  wall s   cpu s  sessions/s wall  sessions/s cpu  4,700 sessions"
    print(header)
    with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "replay.log").open("w") as log_file:
        configure_logging("warning", "json", stream=log_file)
        for policy in args.hedge.split(","):
            done, wall, cpu, years = _one(policy, args, Path(tmp))
            rate_wall, rate_cpu = done / wall, done / max(cpu, 1e-9)
            projected = FULL_WINDOW_SESSIONS / rate_wall
            print(
                f"{policy:<10} {done:>8} {wall:>7.1f} {cpu:>7.1f} {rate_wall:>16.1f}"
                f" {rate_cpu:>15.1f} {projected:>10.0f} s wall",
                flush=True,
            )
            if args.by_year:
                print(
                    "  CPU ms a session by year: "
                    + " ".join(f"{y}:{1000 * c / n:.0f}" for y, (n, c) in sorted(years.items())),
                    flush=True,
                )


if __name__ == "__main__":
    main()
