"""Fit every default signal map (and the skew -> VIX share map) on 2007-2016 real history,
and report 2017 onward out of sample.

Run: .venv/bin/python benchmarks/calibrate_signals.py [--data ../shared/data/market]

The data folder lies outside the repository; without it the script says so and exits 0.
docs/validation.md ("Calibration of the maps") has the figures and the reasoning.

The rule, the same for every map: the three breakpoints sit at the 5th, 50th and 95th
percentiles of the raw value's distribution over the sessions of 2007-01-01..2016-12-31,
and keep the z values (or VIX shares) and the orientation of the model page's map: a map
that gave +1 at its low end (rsi, macd, breadth, proximity) still does, one that gave +1
at its high end (term, rv_iv) still does. So the median reading of the fit window scores
0 (a share of 0.6 for the skew), and one day in twenty leaves the map at each end.

Where each raw history comes from:
- rsi, macd, breadth, term, rv_iv: the daemon's own ``compute_signals`` replayed on real
  closes (``validate_history.replay``, the day's close as the live price). VIX3M starts on
  2009-09-18, so term is fitted on 2009-09-18..2016-12-31.
- proximity: a simulated rolling 20-delta, ~45-DTE monthly condor on real SPX and VIX
  closes, read with spot and ATM IV (``calibrate_book.proximity_history``).
- skew: a proxy from the Cboe SKEW index and VIX (``calibrate_book.skew_proxy_pts``),
  converted to the daemon's 25-delta-put-minus-ATM units by the ratio measured on the two
  real SPX chains (the only number here taken from outside the fit window; see the docs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calibrate_book import (
    BOOK_FILES,
    chain_checks,
    load_skew_index,
    proximity_history,
    skew_proxy_pts,
)
from market_history import DEFAULT_DATA_DIR, load_history, missing_files
from validate_history import print_table, replay

from daemon.core.params import ModelParams
from daemon.core.signals.maps import piecewise_linear

FIT_START, FIT_END = date(2007, 1, 1), date(2016, 12, 31)
OOS_START = date(2017, 1, 1)
QUANTILES = (0.05, 0.50, 0.95)
# Decimals the fitted breakpoints are rounded to: the reading's own resolution.
DECIMALS = {"rsi": 1, "macd": 2, "breadth": 3, "term": 3, "rv_iv": 1, "proximity": 2, "skew": 1}
MARKET_MAPS = ("rsi", "macd", "breadth", "term", "rv_iv")
# The two chains' rates for the parity fit's sanity bound (the fit replaces them).
RATE_GUESS = {"2020-12-01 OptionMetrics": 0.001, "2026-01-30 Yahoo": 0.037}

Points = tuple[tuple[float, float], ...]


def fit_map(raw: pd.Series, model_map: Points, decimals: int) -> Points:
    """Breakpoints at ``QUANTILES`` of ``raw``, the model map's outputs kept in order."""
    if len(model_map) != len(QUANTILES):
        raise ValueError(f"expected a {len(QUANTILES)}-point map, got {model_map}")
    cuts = [round(float(raw.quantile(q)), decimals) for q in QUANTILES]
    return tuple((c, z) for c, (_, z) in zip(cuts, model_map, strict=True))


def mapped(raw: pd.Series, points: Points) -> pd.Series:
    return raw.map(lambda x: piecewise_linear(float(x), points))


def at_end(raw: pd.Series, points: Points) -> float:
    """Share of readings on the flat part of the map (at or beyond an end breakpoint)."""
    return float(((raw <= points[0][0]) | (raw >= points[-1][0])).mean())


def split(raw: pd.Series, start: date = FIT_START) -> tuple[pd.Series, pd.Series]:
    raw = raw.dropna()
    days = pd.Index(raw.index)
    return raw[(days >= start) & (days <= FIT_END)], raw[days >= OOS_START]


def describe(name: str, raw: pd.Series, old: Points, new: Points, start: date) -> list[list[str]]:
    """One row per sample: size, raw quantiles, share at an end (old map, new map), and
    the new map's output: mean and 5/25/50/75/95th percentiles."""
    rows = []
    for label, part in zip(("2007-16 (fit)", "2017-25 (out)"), split(raw, start), strict=True):
        out = mapped(part, new)
        q = [f"{out.quantile(p):+.2f}" for p in (0.05, 0.25, 0.5, 0.75, 0.95)]
        rows.append(
            [name, label, str(len(part)), f"{part.quantile(0.05):.3g}", f"{part.median():.3g}",
             f"{part.quantile(0.95):.3g}", f"{at_end(part, old):.1%}", f"{at_end(part, new):.1%}",
             f"{out.mean():+.2f}", " ".join(q)]
        )  # fmt: skip
    return rows


def show_points(points: Sequence[tuple[float, float]]) -> str:
    return ", ".join(f"{r:g}->{z:+g}" for r, z in points)


# The model page's maps: the shapes kept, the breakpoints refitted.
MODEL_MAPS: dict[str, Points] = {
    "rsi": ((25.0, 1.0), (50.0, 0.0), (75.0, -0.5)),
    "macd": ((-2.0, 1.0), (0.0, 0.0), (2.0, -0.5)),
    "breadth": ((-0.05, 1.0), (0.0, 0.0), (0.05, -0.5)),
    "term": ((0.85, -0.5), (0.95, 0.0), (1.05, 1.0)),
    "rv_iv": ((-8.0, -0.5), (0.0, 0.0), (5.0, 1.0)),
    "proximity": ((0.75, 1.0), (1.5, 0.0), (2.5, -0.5)),
    "skew": ((2.0, 0.4), (6.0, 0.6), (10.0, 0.75)),
}
STARTS = dict.fromkeys(MODEL_MAPS, FIT_START) | {"term": date(2009, 9, 18)}


def report_fits(raws: dict[str, pd.Series], fitted: dict[str, Points]) -> None:
    quantiles = ", ".join(f"{q:.0%}" for q in QUANTILES)
    print(f"== Fitted maps (breakpoints at the {quantiles} percentiles, {FIT_START}..{FIT_END})")
    for name, old in MODEL_MAPS.items():
        print(f"  {name:10s} old {show_points(old)}")
        print(f"  {'':10s} new {show_points(fitted[name])}")
    print("\n== In sample (2007-2016) and out of sample (2017 onward)")
    rows = [
        r for n, old in MODEL_MAPS.items() for r in describe(n, raws[n], old, fitted[n], STARTS[n])
    ]
    print_table(
        ("map", "sample", "days", "raw p5", "raw p50", "raw p95", "at an end (old)",
         "at an end (new)", "mean out", "out p5 p25 p50 p75 p95"),
        rows,
    )  # fmt: skip


def report_proximity(book: pd.DataFrame, checks: list[dict[str, object]], new: Points) -> None:
    print("\n== Proximity: a fresh 20-delta condor")
    fresh = split(book.loc[book["fresh"], "raw"])
    for label, part in zip(("2007-16", "2017-25"), fresh, strict=True):
        z = mapped(part, new)
        print(
            f"  simulated book, {label}: {len(part)} condors opened, reading median "
            f"{part.median():.3f}, z median {z.median():+.2f} [{z.min():+.2f}, {z.max():+.2f}]"
        )
    for c in checks:
        old_z = piecewise_linear(float(c["old"]), MODEL_MAPS["proximity"])  # type: ignore[arg-type]
        new_z = piecewise_linear(float(c["new"]), new)  # type: ignore[arg-type]
        print(
            f"  {c['chain']}: expiry {c['condor_expiry']}, short put {c['k_put']:g} / call "
            f"{c['k_call']:g}, spot {c['spot']:.2f}, ATM IV {c['atm_iv']:.4f}: own IV and "
            f"forward {c['old']:.3f} (old map z {old_z:+.2f}); spot and ATM IV put "
            f"{c['new_put']:.3f}, call {c['new_call']:.3f}, nearest {c['new']:.3f} "
            f"(new map z {new_z:+.2f})"
        )


def report_skew(
    checks: list[dict[str, object]], proxy: pd.Series, vix: pd.Series, scaled: pd.Series,
    new: Points,
) -> None:  # fmt: skip
    print("\n== Skew: the project's skew on the real chains against the SKEW/VIX proxy")
    for c in checks:
        day, skew = c["day"], float(c["skew_pts"])  # type: ignore[arg-type]
        print(
            f"  {c['chain']}: expiry {c['skew_expiry']}, skew {skew:.2f} pts; VIX "
            f"{vix.loc[day]:.2f}, proxy {proxy.loc[day]:.2f} pts (ratio "
            f"{skew / proxy.loc[day]:.3f}); VIX share old map "
            f"{piecewise_linear(skew, MODEL_MAPS['skew']):.3f}, new map "
            f"{piecewise_linear(skew, new):.3f}"
        )
    for label, part in zip(("2007-16", "2017-25"), split(scaled), strict=True):
        share, old = mapped(part, new), mapped(part, MODEL_MAPS["skew"])
        print(
            f"  VIX share {label}: new map p5 {share.quantile(0.05):.2f}, median "
            f"{share.median():.2f}, p95 {share.quantile(0.95):.2f}; old map p5 "
            f"{old.quantile(0.05):.2f}, median {old.median():.2f}, p95 {old.quantile(0.95):.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    absent = missing_files(args.data) if args.data.is_dir() else ["the folder itself"]
    absent += [f for f in BOOK_FILES if args.data.is_dir() and not (args.data / f).is_file()]
    if absent:
        print(f"skipped: market data not found in {args.data} (missing: {', '.join(absent)}).")
        return 0
    history = load_history(args.data)
    frame = replay(history, ModelParams(), FIT_START)
    raws = {n: frame[f"{n}_raw"] for n in MARKET_MAPS}
    book = proximity_history(history.spx, history.vix)
    raws["proximity"] = book["raw"]
    checks = chain_checks(args.data, RATE_GUESS)
    proxy = skew_proxy_pts(history.vix, load_skew_index(args.data))
    # The proxy's level, in the daemon's units: the mean ratio on the two real chains.
    ratio = float(np.mean([float(c["skew_pts"]) / proxy.loc[c["day"]] for c in checks]))  # type: ignore[arg-type]
    print(f"skew proxy -> 25-delta put minus ATM: x {ratio:.3f} (mean ratio on the chains)")
    raws["skew"] = proxy * ratio
    fitted = {
        name: fit_map(split(raws[name], STARTS[name])[0], points, DECIMALS[name])
        for name, points in MODEL_MAPS.items()
    }
    report_fits(raws, fitted)
    report_proximity(book, checks, fitted["proximity"])
    report_skew(checks, proxy, history.vix, raws["skew"], fitted["skew"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
