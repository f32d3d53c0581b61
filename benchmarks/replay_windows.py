"""The worst fall of each policy's equity inside windows of stress, from replay journals.

Run: .venv/bin/python benchmarks/replay_windows.py DIR [DIR_BEFORE]

DIR holds ``alvh replay``'s journals (``<policy>.sqlite``). For each window below and
each policy, the largest peak-to-trough fall of equity (USD) between two sessions inside
the window, as docs/replay.md tabulates it. The windows are for reading a result; no
default was chosen on them. With DIR_BEFORE the alvh and alvh-flat columns of that
directory are printed beside, marked "before".
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.replay.report_data import Series, load_series

WINDOWS = (
    ("2008-09", "2008-12"),
    ("2010-04", "2010-07"),
    ("2011-07", "2011-10"),
    ("2015-08", "2015-09"),
    ("2018-01", "2018-02"),
    ("2018-10", "2018-12"),
    ("2020-02", "2020-04"),
    ("2022-01", "2022-10"),
    ("2025-02", "2025-04"),
)
POLICIES = ("none", "static", "vxth", "alvh-flat", "alvh")


def _month_bounds(first: str, last: str) -> tuple[date, date]:
    y0, m0 = map(int, first.split("-"))
    y1, m1 = map(int, last.split("-"))
    end = date(y1 + (m1 == 12), m1 % 12 + 1, 1)
    return date(y0, m0, 1), end


def worst_fall(series: Series, first: str, last: str) -> float:
    start, end = _month_bounds(first, last)
    inside = [i for i, d in enumerate(series.days) if start <= d < end]
    if not inside:
        return float("nan")
    equity = np.asarray(series.equity, dtype=np.float64)[inside]
    return float(np.min(equity - np.maximum.accumulate(equity)))


def _columns(directory: Path, suffix: str, names: tuple[str, ...]) -> dict[str, Series]:
    found = {}
    for name in names:
        path = directory / f"{name}.sqlite"
        if path.exists():
            found[name + suffix] = load_series(path)
    return found


def main() -> None:
    columns = _columns(Path(sys.argv[1]), "", POLICIES)
    if len(sys.argv) > 2:
        columns |= _columns(Path(sys.argv[2]), ", before", ("alvh-flat", "alvh"))
    print("| window | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for first, last in WINDOWS:
        cells = [f"{worst_fall(s, first, last):,.0f}" for s in columns.values()]
        print(f"| {first} .. {last} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
