"""CPU a session of the order side's and the snapshot's stages during a replay.

Run: .venv/bin/python benchmarks/replay_order_stages.py [--policy alvh]
     [--data ../shared/data/market] [--from 2012-01-03] [--to 2012-12-31]

Replays one policy over the window (``replay_policy``, as ``alvh replay`` does) with each
stage's coroutine wrapped in a CPU timer (``time.process_time``; none of them suspends
in the replay, so no other task's CPU is counted in) and prints the whole replay's CPU
a session and each stage's. Stages nest: ``submit.execute`` includes its first sends'
``place_combo``, ``follow._place_repriced`` its re-placements'. The timers add a little
to each stage: compare two trees with this script, not with ``replay_fingerprint.py``'s
figures. docs/benchmarks.md ("Round 4: the order side") uses 2012.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.brokers.sim.broker import SimBroker
from daemon.config import load_config
from daemon.logs import configure_logging
from daemon.replay.parallel import make_market, replay_policy
from daemon.runtime.follow import OrderFollower
from daemon.runtime.snapshot import SnapshotTaker
from daemon.runtime.submit import SubmitExecutor

_STAGES: list[tuple[type, str, str]] = [
    (SnapshotTaker, "_contracts", "snapshot._contracts"),
    (SimBroker, "positions", "sim positions"),
    (SimBroker, "vix_futures", "sim vix_futures"),
    (SimBroker, "place_combo", "sim place_combo"),
    (SimBroker, "cancel", "sim cancel"),
    (SubmitExecutor, "execute", "submit.execute"),
    (OrderFollower, "_place_repriced", "follow._place_repriced"),
    (OrderFollower, "_cancel", "follow._cancel"),
]


def _timed(spent: dict[str, float], label: str, f: Callable[..., Awaitable[Any]]) -> Any:
    @functools.wraps(f)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return await f(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="alvh")
    ap.add_argument("--data", default="../shared/data/market")
    ap.add_argument("--from", dest="first", default="2012-01-03")
    ap.add_argument("--to", dest="last", default="2012-12-31")
    args = ap.parse_args()
    spent: dict[str, float] = {}
    for cls, name, label in _STAGES:
        setattr(cls, name, _timed(spent, label, getattr(cls, name)))
    first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
    config = load_config(Path("config/default.yaml"), {})
    tmp = Path(tempfile.mkdtemp())
    with open(tmp / "log", "w") as log_file:
        configure_logging("warning", "json", stream=log_file)
        market = make_market(args.data, config, first)
        start = time.process_time()
        out = asyncio.run(replay_policy(args.policy, config, market, first, last, tmp / "j.db"))
        whole = time.process_time() - start
    n = out.sessions_done
    print(f"{args.policy} {n} sessions: whole replay {1000 * whole / n:.2f} ms CPU a session")
    for _, _, label in _STAGES:
        print(f"  {label:<24} {1000 * spent.get(label, 0.0) / n:.3f} ms")


if __name__ == "__main__":
    main()
