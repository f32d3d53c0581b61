"""A replay's behaviour as one comparable file: what a speed change must leave unchanged.

Run: .venv/bin/python benchmarks/replay_fingerprint.py OUT.txt [--policy alvh]
     [--data ../shared/data/market] [--from 2024-01-02] [--to 2024-03-28]

Replays one policy over the window (``replay_policy``, as ``alvh replay`` does) and
writes, from its journal: every cycle's record (status, reason and the whole record
JSON), every adjustment, every order (status, quantity, limit, debit, legs, fills), and
the replay's session events (each session's equity, to the cent and beyond). Random
ids (cycle, run, adjustment, order ids and references) are replaced by ``ID``. Two code
versions behave the same on the window when their files are byte-identical
(``cmp A B``); the CPU a session is printed too, for the speed side of the comparison.
docs/benchmarks.md uses 2024-01-02..2024-03-28 and 2008-09-02..2008-11-28.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.config import load_config
from daemon.logs import configure_logging
from daemon.replay.parallel import make_market, replay_policy

_IDS = re.compile(r'"(cycle_id|run_id|adjustment_id|order_id|order_ref)": "[^"]*"')
_CYCLE_ID = re.compile(r"c-[0-9TZ:+-]+-[0-9a-f]{4,}")


def _plain(text: str) -> str:
    return _CYCLE_ID.sub("ID", _IDS.sub("ID", text))


def fingerprint(journal: Path) -> list[str]:
    """The journal's decisions and results, ids removed, in a stable order."""
    conn = sqlite3.connect(journal)
    try:
        lines = [
            f"cycle {day} {status} {reason} {_plain(record)}"
            for day, status, reason, record in conn.execute(
                "SELECT trading_day, status, reason, record_json FROM cycles ORDER BY started_at"
            )
        ]
        lines += [
            "adj " + _plain(repr(row))
            for row in conn.execute(
                "SELECT created_at, action, kind, quantity, limit_usd, adjustment_json"
                " FROM adjustments ORDER BY created_at, adjustment_json"
            )
        ]
        lines += [
            "order " + repr(row)
            for row in conn.execute(
                "SELECT trading_day, status, quantity, limit_usd, debit_usd, leg_keys,"
                " filled_qty, avg_fill_usd FROM orders"
                " ORDER BY trading_day, leg_keys, quantity, status"
            )
        ]
        lines += [
            "event " + _plain(repr(row))
            for row in conn.execute(
                "SELECT at, kind, detail_json FROM events WHERE kind LIKE 'replay%' ORDER BY at"
            )
        ]
    finally:
        conn.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--policy", default="alvh")
    parser.add_argument("--data", default="../shared/data/market")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, default=date(2024, 1, 2))
    parser.add_argument("--to", dest="last", type=date.fromisoformat, default=date(2024, 3, 28))
    args = parser.parse_args()
    config = load_config(Path("config/default.yaml"), {})
    with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "replay.log").open("w") as log_file:
        configure_logging("warning", "json", stream=log_file)
        market = make_market(args.data, config, args.first)
        journal = Path(tmp) / f"{args.policy}.sqlite"
        cpu0 = time.process_time()
        outcome = asyncio.run(
            replay_policy(args.policy, config, market, args.first, args.last, journal)
        )
        cpu = time.process_time() - cpu0
        lines = fingerprint(journal)
    args.out.write_text("\n".join(lines) + "\n")
    sessions = max(outcome.sessions_done, 1)
    print(
        f"{args.policy}: {outcome.sessions_done} sessions, equity {outcome.final_equity_usd!r},"
        f" CPU {cpu:.2f} s = {1000 * cpu / sessions:.1f} ms a session;"
        f" {len(lines)} lines -> {args.out}"
    )


if __name__ == "__main__":
    main()
