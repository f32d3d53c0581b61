"""Validation of layer 2 (the signals and the scalar) on real market history.

Run: .venv/bin/python benchmarks/validate_history.py [--data ../shared/data/market]

The data folder lies outside the repository (a clone does not have it); without it the
script says so and exits 0. What it does (docs/validation.md has the figures):

1. Replays every NYSE session from ``--start`` (2010-01-04) to the last date all series
   reach through the project's own ``compute_signals``: on day d the inputs are the
   ``HISTORY_SESSIONS`` SPX closes before d (the depth the daemon asks its broker for),
   d's close as the live price, d's VIX and VIX3M closes, NYSE breadth before d, the
   FOMC dates as the only events, and no book (proximity unavailable). The scalar is
   ``clip(1 + sum w z)``; at daily resolution the smoothing is spent (checked, below).
2. Asks the model page's question: when the scalar rose, what did SPX then realise
   against what VIX implied? Quintile tables, Spearman correlations (with the 20
   non-overlapping subsamples, since 20-session windows overlap), each signal alone, and
   the scalar on named stress days.
3. Cross-checks: RSI(14) and MACD(12,26,9) against TA-Lib on the whole SPX series; the
   300-session truncation against the full history; ``vix_expiry`` against the real VX
   contracts of 2004-2014 (``history_checks.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from history_checks import talib_check, truncation_check, vx_expiry_check
from market_history import DEFAULT_DATA_DIR, MarketHistory, load_history, missing_files

from daemon.core.calendar import NY, session_bounds, sessions_until
from daemon.core.params import ModelParams
from daemon.core.scalar import ScalarState, combine, missing_signals, update_scalar
from daemon.core.signals import BUILTIN_NAMES, SignalInputs, compute_signals
from daemon.core.signals.indicators import realised_vol_pts

HISTORY_SESSIONS = 300  # SnapshotParams.history_sessions: what a cycle receives
FORWARD_SESSIONS = 20  # the RV window of the rv_iv signal and VIX's ~30 calendar days
STRESS_DAYS = ("2011-08-08", "2015-08-24", "2018-02-05", "2020-03-16", "2022-06-13")
MARKET_SIGNALS = tuple(n for n in BUILTIN_NAMES if n != "proximity")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    for k, row in enumerate(cells):
        text = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        print("  " + "  ".join(text))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


# ---- 1. the replay ---------------------------------------------------------------------------
def _quote(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def replay(history: MarketHistory, params: ModelParams, start: date) -> pd.DataFrame:
    """One row per session from ``start`` to the last common day: each market signal's raw
    and z (NaN when unavailable), the raw and clipped scalar, the count missing."""
    days = [d for d in history.spx.index if d <= history.last_common_day]
    closes = history.spx.loc[days].to_numpy(float)
    vix = history.vix.reindex(days).to_numpy(float)
    vix3m = history.vix3m.reindex(days).to_numpy(float)
    breadth = history.breadth.reindex(days)
    first = next(i for i, d in enumerate(days) if d >= start)
    if first < HISTORY_SESSIONS:
        raise SystemExit(f"--start {start} leaves fewer than {HISTORY_SESSIONS} prior sessions")
    rows = []
    reasons: Counter[tuple[str, str]] = Counter()
    for i in range(first, len(days)):
        window = breadth.iloc[i - HISTORY_SESSIONS : i].dropna()
        inputs = SignalInputs(
            today=days[i],
            spx_closes=closes[i - HISTORY_SESSIONS : i],
            spx_last=float(closes[i]),
            vix=_quote(vix[i]),
            vix3m=_quote(vix3m[i]),
            advancing=window["advancing"].to_numpy(),
            declining=window["declining"].to_numpy(),
            unchanged=window["unchanged"].to_numpy(),
            events=history.fomc,
            sessions_until=sessions_until,
        )
        readings = compute_signals(inputs, params.signals)
        row: dict[str, object] = {"day": days[i], "i": i, "spx": closes[i], "vix": vix[i]}
        for r in readings:
            row[f"{r.name}_raw"] = np.nan if r.raw is None else r.raw
            row[f"{r.name}_z"] = np.nan if r.z is None else r.z
            if r.unavailable is not None and r.name != "proximity":
                reasons[(r.name, f"{r.unavailable.value}: {r.detail}")] += 1
        raw = combine(readings)
        row["raw"] = raw
        row["scalar"] = min(max(raw, params.scalar.min_value), params.scalar.max_value)
        row["missing"] = len(missing_signals(readings))
        row["readings"] = readings
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("day")
    frame.attrs["reasons"] = reasons
    return frame


def smoothing_check(frame: pd.DataFrame, params: ModelParams) -> float:
    """Run the project's own ``update_scalar`` once a day at the close; return the
    largest |smoothed - clipped raw|. With a 30-minute half-life and a 0.5-per-hour cap,
    a day's gap leaves ``0.5 ** 48`` of the previous value: the smoothing is spent."""
    state: ScalarState | None = None
    worst = 0.0
    for day, row in frame.iterrows():
        now: datetime = session_bounds(day)[1].astimezone(NY)
        result = update_scalar(row["readings"], state, params.scalar, now)
        if result.value is None:
            continue
        worst = max(worst, abs(result.value - result.clipped_raw))
        state = result.state
    return worst


# ---- 2. forward outcomes and the question ---------------------------------------------------
def forward_outcomes(history: MarketHistory, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``rv_fwd`` (close-to-close RV of the next 20 sessions, annualised, vol points,
    the rv_iv signal's own formula), ``edge`` = rv_fwd - VIX of the day, and ``dd_fwd``:
    the worst peak-to-trough fall of the closes from d through d+20 (d's close counts as
    the first peak), a fraction (-0.07 = -7%)."""
    closes = history.spx.loc[: history.last_common_day].to_numpy(float)
    rv, dd = [], []
    for i in frame["i"]:
        if i + FORWARD_SESSIONS >= len(closes):
            rv.append(np.nan)
            dd.append(np.nan)
            continue
        path = closes[i : i + FORWARD_SESSIONS + 1]
        rv.append(realised_vol_pts(path, FORWARD_SESSIONS))
        dd.append(float(np.min(path / np.maximum.accumulate(path)) - 1.0))
    out = frame.copy()
    out["rv_fwd"] = rv
    out["edge"] = out["rv_fwd"] - out["vix"]
    out["dd_fwd"] = dd
    return out


def quintile_table(frame: pd.DataFrame, stress_frac: float) -> None:
    data = frame.dropna(subset=["rv_fwd", "vix"])
    # Ranks first: the scalar has ties (clipped at the floor), quintiles need equal counts.
    q = pd.qcut(data["scalar"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rows = []
    for label, part in data.groupby(q, observed=True):
        rows.append(
            (
                f"Q{label}",
                len(part),
                f"{part['scalar'].min():.2f}-{part['scalar'].max():.2f}",
                f"{part['scalar'].mean():.3f}",
                f"{part['rv_fwd'].mean():.2f}",
                f"{part['vix'].mean():.2f}",
                f"{part['edge'].mean():+.2f}",
                f"{part['edge'].median():+.2f}",
                f"{(part['edge'] > 0).mean():.1%}",
                f"{(part['dd_fwd'] < stress_frac).mean():.1%}",
                f"{part['dd_fwd'].mean():+.2%}",
            )
        )
    print_table(
        ("quintile", "days", "scalar range", "mean s", "RV fwd", "VIX", "RV-VIX",
         "median", "RV>VIX", f"DD<{stress_frac:.0%}", "mean DD"),
        rows,
    )  # fmt: skip


RhoFn = Callable[[pd.DataFrame, str, str], float]


def spearman(data: pd.DataFrame, column: str, target: str) -> float:
    return float(stats.spearmanr(data[column], data[target])[0])


def partial_spearman(data: pd.DataFrame, column: str, target: str) -> float:
    """Spearman rho of a predictor and a target with the VIX level's rank regressed out of
    both ranks: what the predictor says about the target that VIX alone does not."""
    rx, ry, rc = (data[c].rank().to_numpy(float) for c in (column, target, "vix"))
    design = np.column_stack([np.ones_like(rc), rc])

    def residual(v: np.ndarray) -> np.ndarray:
        fitted: np.ndarray = design @ np.linalg.lstsq(design, v, rcond=None)[0]
        out: np.ndarray = v - fitted
        return out

    return float(np.corrcoef(residual(rx), residual(ry))[0, 1])


def rho_rows(frame: pd.DataFrame, columns: dict[str, str], rho: RhoFn) -> list[tuple[object, ...]]:
    """``rho`` of each predictor with forward edge and drawdown: all days, then the median
    and range over the 20 non-overlapping subsamples (every 20th day)."""
    rows: list[tuple[object, ...]] = []
    for label, column in columns.items():
        data = frame.dropna(subset=[column, "edge", "dd_fwd", "vix"])
        cells: list[object] = [label, len(data)]
        for target in ("edge", "dd_fwd"):
            subs = [
                rho(part, column, target)
                for k in range(FORWARD_SESSIONS)
                if len(part := data.iloc[k::FORWARD_SESSIONS]) > 10
            ]
            cells += [
                f"{rho(data, column, target):+.3f}",
                f"{np.nanmedian(subs):+.3f} [{np.nanmin(subs):+.2f}, {np.nanmax(subs):+.2f}]",
            ]
        rows.append(tuple(cells))
    return rows


def correlations(frame: pd.DataFrame) -> None:
    predictors = {"scalar": "scalar"} | {f"z {n}": f"{n}_z" for n in MARKET_SIGNALS}
    headers = ("predictor", "days", "rho RV-VIX", "non-overlap median [range]",
               "rho DD", "non-overlap median [range]")  # fmt: skip
    independent = int(frame["edge"].notna().sum()) // FORWARD_SESSIONS
    print(
        f"  ~{independent} independent 20-session windows: |rho| under "
        f"{2 / np.sqrt(independent - 3):.2f} (two standard errors) is indistinguishable from 0"
    )
    print_table(headers, rho_rows(frame, predictors | {"VIX level": "vix"}, spearman))
    print("\n  What each adds to the VIX level alone (partial Spearman, VIX rank held fixed)")
    print_table(headers, rho_rows(frame, predictors, partial_spearman))


def stress_days(frame: pd.DataFrame) -> None:
    median = float(frame["scalar"].median())
    ranks = frame["scalar"].rank(pct=True)
    rows = []
    for text in STRESS_DAYS:
        day = date.fromisoformat(text)
        if day not in frame.index:
            rows.append((text, "not in the replay", *[""] * (8 + len(MARKET_SIGNALS))))
            continue
        r = frame.loc[day]
        pos = frame.index.get_loc(day)
        before = f"{frame['scalar'].iloc[pos - 5]:.3f}" if pos >= 5 else "n/a"
        zs = ["n/a" if np.isnan(r[f"{n}_z"]) else f"{r[f'{n}_z']:+.2f}" for n in MARKET_SIGNALS]
        rows.append(
            (text, f"{r['spx']:.0f}", f"{r['vix']:.2f}", f"{r['scalar']:.3f}",
             f"{ranks.loc[day]:.1%}", before, f"{r['scalar'] - median:+.3f}",
             "n/a" if np.isnan(r["edge"]) else f"{r['edge']:+.1f}",
             "n/a" if np.isnan(r["dd_fwd"]) else f"{r['dd_fwd']:+.1%}", *zs)
        )  # fmt: skip
    print(f"  median scalar over the replay: {median:.3f}")
    print_table(
        ("day", "SPX", "VIX", "scalar", "pctile", "s 5 before", "vs median", "RV-VIX fwd", "DD fwd",
         *(f"z {n}" for n in MARKET_SIGNALS)),
        rows,
    )  # fmt: skip


def summary(frame: pd.DataFrame, params: ModelParams) -> None:
    days = frame.index
    print(f"  sessions replayed: {len(frame)} ({days[0]} .. {days[-1]})")
    print(
        f"  scalar: mean {frame['scalar'].mean():.3f}, sd {frame['scalar'].std():.3f}, "
        f"min {frame['scalar'].min():.3f}, max {frame['scalar'].max():.3f}; "
        f"raw below the 0.5 floor on {(frame['raw'] < 0.5).sum()} days"
    )
    counts = Counter(int(m) for m in frame["missing"])
    print(f"  signals missing per day (proximity always, no book): {dict(sorted(counts.items()))}")
    for (name, reason), n in sorted(frame.attrs["reasons"].items()):
        print(f"    {name} unavailable on {n} day(s): {reason[:110]}")
    rows = []
    for n in MARKET_SIGNALS:
        raw, z = frame[f"{n}_raw"], frame[f"{n}_z"]
        points = getattr(params.signals, n).breakpoints
        # Flat beyond the ends: a z at the end value means the reading left the map's range.
        low, high = min(p[1] for p in points), max(p[1] for p in points)
        saturated = ((z <= low + 1e-9) | (z >= high - 1e-9)).mean()
        rows.append(
            (n, int(raw.notna().sum()), f"{raw.quantile(0.05):.3f}", f"{raw.median():.3f}",
             f"{raw.quantile(0.95):.3f}", f"{points[0][0]:g} .. {points[-1][0]:g}",
             f"{z.mean():+.3f}", f"{(z >= high - 1e-9).mean():.1%}", f"{saturated:.1%}")
        )  # fmt: skip
    crosses = sum(
        1 for readings in frame["readings"] for r in readings
        if r.name == "macd" and "bearish cross" in r.detail
    )  # fmt: skip
    print(f"  MACD bearish-cross bonus on {crosses} days ({crosses / len(frame):.1%})")
    print_table(
        ("signal", "days", "raw p5", "raw median", "raw p95", "map range", "mean z",
         "z at top", "z at an end"),
        rows,
    )  # fmt: skip


# ---- main ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2010, 1, 1))
    args = parser.parse_args()
    absent = missing_files(args.data) if args.data.is_dir() else ["the folder itself"]
    if absent:
        print(f"skipped: market data not found in {args.data} (missing: {', '.join(absent)}).")
        print("The real history is not part of the repository; pass --data DIR to point at it.")
        return 0
    started = time.perf_counter()
    params = ModelParams()
    history = load_history(args.data)
    print(f"data: {args.data.resolve()}")
    for note in history.notes:
        print(f"  {note}")

    print("\n== 1. Replay through daemon.core.signals.compute_signals (default parameters)")
    frame = forward_outcomes(history, replay(history, params, args.start))
    summary(frame, params)
    worst = smoothing_check(frame, params)
    print(
        "  smoothing: update_scalar stepped once a day at the close differs from the "
        f"clipped raw by at most {worst:.1e} (a day is 48 half-lives): raw scalar used"
    )

    stress = params.scenario.spx_move_frac
    print("\n== 2. When the scalar rose, what did SPX realise against what VIX implied?")
    print(f"  forward window {FORWARD_SESSIONS} sessions; days with a full window: "
          f"{int(frame['rv_fwd'].notna().sum())}")  # fmt: skip
    quintile_table(frame, stress)
    print("\n  Spearman rho with forward RV-VIX and forward max drawdown (DD < 0: a fall)")
    correlations(frame)
    print("\n  Named stress days (the day's close as the live price)")
    stress_days(frame)

    print("\n== 3. Cross-checks")
    talib_check(history.spx.to_numpy(float), params)
    truncation_check(history, frame, params)
    vx_expiry_check(args.data)
    print(f"\nelapsed {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
