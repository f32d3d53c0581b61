"""The overlay's exact enumeration (``overlay_search``) against HiGHS (scipy ``milp``),
side by side on the programs the daemon itself builds.

Run: .venv/bin/python benchmarks/overlay_solver.py [--data ../shared/data/market]
     [--from 2008-01-02] [--to 2008-12-31]

The alvh policy is replayed over the window (``replay_policy``, as ``alvh replay`` runs
it) and every program the overlay hands to ``overlay_search.search`` is kept. Then each
one is solved again, in this process, by both: ``search`` and HiGHS (``milp``, default
options as the daemon's fallback uses them; "the most cover, then the least debit" as two
solves, as the daemon solved it before). Programs whose objective is the number of lines
or with a lines cap are timed for the enumeration only (HiGHS needs the indicator
variables of ``overlay_program._milp`` for them; the plain programs are the comparison).
Printed: programs, total and median milliseconds of each, the ratio, and agreement (the
same feasibility verdict; optimal values equal within 1e-6 relative, or the enumeration
better where HiGHS stopped at its default 0.01% gap).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import daemon.core.overlay_program as program
from daemon.config import load_config
from daemon.core.overlay_search import Found, Problem, search
from daemon.logs import configure_logging
from daemon.replay.parallel import make_market, replay_policy


def _record(first: date, last: date, data: str) -> list[Problem]:
    kept: list[Problem] = []
    real = program.search

    def keep(problem: Problem, limit: int = 200_000) -> object:
        kept.append(problem)
        return real(problem, limit)

    program.search = keep  # type: ignore[assignment]
    try:
        config = load_config(Path("config/default.yaml"), {})
        market = make_market(data, config, first)
        with tempfile.TemporaryDirectory() as tmp:
            journal = Path(tmp) / "alvh.sqlite"
            asyncio.run(replay_policy("alvh", config, market, first, last, journal))
    finally:
        program.search = real
    return kept


def _highs(p: Problem, cost: np.ndarray, extra: list[tuple[np.ndarray, float]]) -> float | None:
    a = np.vstack([p.a, *[row for row, _ in extra]]) if extra else p.a
    lo = np.concatenate([p.lo, [floor for _, floor in extra]])
    hi = np.concatenate([p.hi, [np.inf] * len(extra)])
    res = milp(
        c=cost,
        integrality=np.ones(len(cost)),
        bounds=Bounds(np.zeros(len(cost)), p.upper.astype(np.float64)),
        constraints=[LinearConstraint(a, lo, hi)],
        options={"time_limit": 5.0},
    )
    return None if res.x is None or res.status not in (0, 1) else float(cost @ np.rint(res.x))


def _highs_solve(p: Problem) -> float | None:
    """The primary optimum by HiGHS (two solves when there is a tie-break objective)."""
    assert p.cost is not None
    best = _highs(p, p.cost, [])
    if best is None or not p.then:
        return best
    # Keep the primary within its tie window, minimise the tie-break: the value reported
    # is still the primary's, which is what the two solvers must agree on.
    tol = p.tie_rel * max(1.0, abs(best))
    _highs(p, p.then[0], [(-p.cost, -(best + tol))])
    return best


def _timed(fn: object, p: Problem) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(p)  # type: ignore[operator]
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/market")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, default=date(2008, 1, 2))
    parser.add_argument("--to", dest="last", type=date.fromisoformat, default=date(2008, 12, 31))
    args = parser.parse_args()
    with (Path(tempfile.gettempdir()) / "overlay_solver.log").open("w") as log_file:
        configure_logging("warning", "json", stream=log_file)
        problems = _record(args.first, args.last, args.data)
    plain = [p for p in problems if p.cost is not None and p.max_lines is None]
    enum_ms, highs_ms, agree, better, too_big = [], [], 0, 0, 0
    for p in plain:
        t_enum, found = _timed(search, p)
        t_highs, value = _timed(_highs_solve, p)
        enum_ms.append(1000 * t_enum)
        highs_ms.append(1000 * t_highs)
        assert p.cost is not None
        if found.found is Found.TOO_BIG:  # type: ignore[attr-defined]
            too_big += 1
            continue
        mine = None if found.n is None else float(p.cost @ found.n)  # type: ignore[attr-defined]
        if (mine is None) == (value is None) and (
            mine is None or value is None or abs(mine - value) <= 1e-6 * max(1.0, abs(value))
        ):
            agree += 1
        elif mine is not None and value is not None and mine < value:
            better += 1
    rest = [p for p in problems if p.cost is None or p.max_lines is not None]
    rest_ms = [1000 * _timed(search, p)[0] for p in rest]
    e, h = sum(enum_ms), sum(highs_ms)
    print(f"window {args.first} .. {args.last}: {len(problems)} programs from the alvh replay")
    print(f"plain programs: {len(plain)}")
    print(f"  enumeration  {e:8.1f} ms in all, median {np.median(enum_ms):.2f} ms")
    print(f"  HiGHS (milp) {h:8.1f} ms in all, median {np.median(highs_ms):.2f} ms")
    print(f"  HiGHS / enumeration = {h / e:.1f}x")
    print(f"  agree {agree}, enumeration better {better}, too big to enumerate {too_big}")
    print(f"lines programs (enumeration only): {len(rest)}, {sum(rest_ms):.1f} ms in all")


if __name__ == "__main__":
    main()
