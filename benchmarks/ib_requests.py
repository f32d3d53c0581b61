"""What one cycle asks IB for, and how long it takes: requests and wall time of a cycle's
snapshot through the project's fake gateway on a realistic listing (tests/ib/big_book.py:
~100k SPX/SPXW/VIX contracts), with each option snapshot taking 20 ms and then 2 s to
answer, as a slow real gateway's can.

Run: .venv/bin/python benchmarks/ib_requests.py [--delays 0.02,2] [--library ib_async]

Two cycles per delay: the first starts cold (contract details, history, subscriptions to
make), the second is a later cycle of the same day (caches warm, streams standing).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.brokers.ib import IbBroker
from daemon.brokers.ib.client import load_library
from daemon.brokers.ib.params import IbParams
from daemon.config import SnapshotParams
from daemon.core.params import ModelParams
from daemon.runtime.snapshot import SnapshotTaker
from tests.ib.big_book import realistic_book
from tests.ib.fake_gateway import FakeGateway
from tests.ib.test_ib_adapter import NOW

NAMES = {"1s": "option/index snapshots", "1t": "stream subscriptions", "9": "contract details",
         "78": "option parameters", "20": "daily bars", "61": "positions"}  # fmt: skip


def _kinds(requests: list[list[str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for f in requests:
        key = f[0] + ("s" if f[17] == "1" else "t") if f[0] == "1" else f[0]
        if key in NAMES:
            out[key] += 1
    return out


async def _run(delay_s: float, library: str) -> list[tuple[str, float, Counter[str], int]]:
    book = realistic_book()
    rows = []
    async with FakeGateway(book) as gw:
        gw.snapshot_delay_s = delay_s
        params = IbParams(port=gw.port, library=library, request_timeout_s=120.0)  # type: ignore[arg-type]
        broker = IbBroker(params, clock=lambda: NOW, library=load_library(library))
        await broker.connect()
        taker = SnapshotTaker(broker, ModelParams(), SnapshotParams(), ())
        for label in ("first cycle", "later cycle"):
            before = len(gw.requests)
            started = time.monotonic()
            try:
                snapshot = await taker.take(NOW)
                quoted = len(snapshot.options)
            except Exception as exc:  # a budget that ran out is a figure, not a crash
                print(f"  {label}: {exc}")
                quoted = -1
            rows.append((label, time.monotonic() - started, _kinds(gw.requests[before:]), quoted))
        await broker.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delays", default="0.02,2", help="seconds per option snapshot, comma list")
    ap.add_argument("--library", default="ib_async")
    args = ap.parse_args()
    print(f"library {args.library}; listing {len(realistic_book().contracts):,} contracts")
    for delay in (float(d) for d in args.delays.split(",")):
        for label, wall, kinds, quoted in asyncio.run(_run(delay, args.library)):
            total = sum(kinds.values())
            detail = ", ".join(f"{NAMES[k]} {n}" for k, n in sorted(kinds.items()))
            print(f"snapshot {delay:g} s | {label}: {wall:6.1f} s, {total} requests ({detail}); "
                  f"{quoted} option quotes")  # fmt: skip


if __name__ == "__main__":
    main()
