"""`make soak`: the reliability campaign's long version, for as long as it is given.

Rounds of (1) the fault matrix (every case of tests/runtime/test_campaign_faults.py,
``--fault-cycles`` faulted cycles each, in submit mode on the simulated broker, a new sim
seed each round: another market path, other instruments hit by the quote faults) and
(2) kill -9 at random points (tests/runtime/test_campaign_kill.py, ``--kills`` daemons
killed per round, a new seed each round), until ``--seconds`` have passed (a round that
has started finishes). Every check of the quick versions holds in each round; a failed
check is counted with its message, a death (an exception other than a failed check) too.

The figures go to docs/reliability.md between the campaign markers (``--write``), and
to stdout. Run: ``make soak SOAK_S=1800``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daemon.logs import configure_logging  # noqa: E402
from tests.runtime.test_campaign_faults import CASES, faulted_run  # noqa: E402
from tests.runtime.test_campaign_kill import kill_campaign  # noqa: E402

DOC = REPO / "docs" / "reliability.md"
BEGIN, END = "<!-- campaign:begin -->", "<!-- campaign:end -->"


def _round(n: int, fault_cycles: int, kills: int, totals: dict[str, Any]) -> None:
    for case in sorted(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                got = asyncio.run(faulted_run(Path(tmp), case, fault_cycles, seed=1000 + n))
            except AssertionError as exc:
                totals["failures"].append(f"round {n} {case}: {str(exc).splitlines()[0]}")
                continue
            except Exception:  # a death: the daemon's cycle raised out of the engine
                totals["deaths"].append(f"round {n} {case}: {traceback.format_exc(limit=3)}")
                continue
        totals["fault_runs"] += 1
        totals["cycles"] += got["cycles"]
        totals["statuses"].update(got["statuses"])
        totals["orders_in_matrix"] += got["orders_received"]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            got = kill_campaign(Path(tmp), kills, seed=1000 + n)
        except AssertionError as exc:
            totals["failures"].append(f"round {n} kill -9: {str(exc).splitlines()[0]}")
            return
    totals["kills"] += got["kills"]
    totals["orders_in_kills"] += got["orders_received"]
    totals["references"] += got["references"]


def _figures(totals: dict[str, Any], seconds: float, args: argparse.Namespace) -> str:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(totals["statuses"].items()))
    lines = [
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `make soak SOAK_S={args.seconds:g}`"
        f" ({seconds:.0f} s, {totals['rounds']} round(s); {args.fault_cycles} faulted"
        f" cycles per case, {args.kills} kill(s) per round).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| fault-matrix runs (cases x rounds) | {totals['fault_runs']} |",
        f"| cycles under faults, by status | {totals['cycles']} ({statuses}) |",
        f"| orders received by the broker in the matrix | {totals['orders_in_matrix']} |",
        "| orders on a spoiled quote | 0 unless listed below |",
        f"| daemons killed with kill -9 | {totals['kills']} |",
        f"| orders received across kills (placements / references) |"
        f" {totals['orders_in_kills']} / {totals['references']} |",
        "| references re-sent by a restarted daemon | 0 unless listed below |",
        f"| daemon deaths | {len(totals['deaths'])} |",
        f"| failed checks | {len(totals['failures'])} |",
        f"| peak RSS of the soak process (in-process matrix) | {totals['peak_rss_mb']:.0f} MB |",
    ]
    for what in ("deaths", "failures"):
        lines += [f"- {what[:-1]}: {text}" for text in totals[what][:20]]
    return "\n".join(lines)


def _write(figures: str) -> None:
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} block to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{figures}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--fault-cycles", type=int, default=20)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args()
    # The cycles' own lines would bury the figures: errors only, and to nowhere.
    configure_logging("error", "json", open(os.devnull, "w"))  # noqa: SIM115
    totals: dict[str, Any] = {
        "rounds": 0, "fault_runs": 0, "cycles": 0, "statuses": Counter(),
        "orders_in_matrix": 0, "kills": 0, "orders_in_kills": 0, "references": 0,
        "deaths": [], "failures": [], "peak_rss_mb": 0.0,
    }  # fmt: skip
    start = time.monotonic()
    while totals["rounds"] == 0 or time.monotonic() - start < args.seconds:
        totals["rounds"] += 1
        _round(totals["rounds"], args.fault_cycles, args.kills, totals)
        print(f"round {totals['rounds']} done at {time.monotonic() - start:.0f} s", flush=True)
    totals["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    figures = _figures(totals, time.monotonic() - start, args)
    print(figures)
    if args.write:
        _write(figures)
    return 1 if totals["deaths"] or totals["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
