"""Fit the stress scenario's VIX-future beta by DTE, and the VIX options' vol shock, on
real VX history (docs/validation.md, "The VIX-future beta").

Run: .venv/bin/python benchmarks/fit_vix_beta.py [--data ../shared/data/market]

The data folder lies outside the repository; without it the script says so and exits 0.

Data: the Cboe per-contract VX settles (2004-03..2014-08; read from 2007 on, as the file's
prices are x10 before 2007-03-26) and the VX1..VX8 continuous settles (2007-04..2021-12),
each VXn mapped to its contract by the Cboe expiry rule (``calendar.vix_expiry``); the
mapping is checked against the per-contract file where both exist. VIX closes from Cboe.

Method (nothing here is tuned to a particular crisis):

- A **spike** is found by a chronological scan: from the first day s from which VIX
  rises at least ``RISE_PTS`` points to its highest close p within the next
  ``WINDOW_SESSIONS`` sessions; the scan resumes after p, so spikes never overlap.
- For each spike and each VX contract quoted on s and p and not expired by p, the
  contract's **beta** is (F_p - F_s) / (VIX_p - VIX_s), with its DTE on s (calendar
  days to its final settlement date): how far the future a hedge holds follows spot.
- The beta table: the **median over spikes** within each DTE bucket (a median, so the
  largest spike does not set the default), fitted on spikes starting 2007-01-01 ..
  2016-12-31 only, and reported on 2017 onward (out of sample) beside it.
- The **rally move** of the stress set: over 5-session windows of SPX closes, the upward
  return as likely (same tail probability) as the hedge scenario's -7% fall, and the
  median VIX change over the windows at or beyond it.
- The **VIX option vol shock**: VIX implied-vol history (VVIX) is not in the data, so the
  default is the median change, over the fit window's spikes, of the annualised realised
  vol of the 25-55 DTE future's daily log changes: the ``WINDOW_SESSIONS`` sessions
  after s against the 20 sessions before s. It is the realised vol of the very future
  the options are written on; implied vol follows realised in a spike.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from market_history import DEFAULT_DATA_DIR, load_cboe_close, load_spx, load_vx_contracts

from daemon.core.calendar import vix_expiries, vix_expiry

RISE_PTS = 6.0
WINDOW_SESSIONS = 10
FIT = (date(2007, 1, 1), date(2016, 12, 31))
OOS_START = date(2017, 1, 1)
# DTE buckets (calendar days on the spike's first day): the table's breakpoint is each
# bucket's median DTE.
BUCKETS = ((0, 15), (15, 30), (30, 45), (45, 60), (60, 90), (90, 120), (120, 160), (160, 260))
MIN_SPIKES = 5  # a bucket with fewer spikes is too thin for a default
HEDGE_DTE = (25, 55)  # the DTE a VIX call spread hedge holds (vix.min_dte_days 25 and up)
CONTINUOUS = "vix_futures_vx1_vx8_continuous.csv"
PER_CONTRACT_END = date(2014, 8, 14)
RALLY_SESSIONS = 5
FALL_FRAC = -0.07  # the hedge scenario's SPX move


def contract_panel(data_dir: Path) -> tuple[pd.DataFrame, str]:
    """Settles by (date, expiry): the per-contract file through its end, VX1..VX8 mapped to
    their expiries after it. Returns the panel and a line on the mapping check."""
    contracts, _ = load_vx_contracts(data_dir)
    rows = [
        (day, vix_expiry(c.year, c.month), settle)
        for c in contracts
        for day, settle, _ in c.rows
        if day >= date(2007, 3, 26) and settle > 0 and day < vix_expiry(c.year, c.month)
    ]
    per = pd.DataFrame(rows, columns=["day", "expiry", "settle"])
    cont = pd.read_csv(data_dir / CONTINUOUS)
    cont["day"] = pd.to_datetime(cont["DATE"]).dt.date
    expiries = vix_expiries(date(2007, 1, 1), date(2023, 12, 31))
    mapped = []
    for record in cont.itertuples():
        # VXn on day d: the n-th contract whose final settlement is after d (a contract
        # settles at the open of its expiry day and is not traded that day).
        ahead = [e for e in expiries if e > record.day][:8]
        for n, expiry in enumerate(ahead, start=1):
            value = getattr(record, f"VX{n}")
            if np.isfinite(value) and value > 0:
                mapped.append((record.day, expiry, float(value)))
    cmap = pd.DataFrame(mapped, columns=["day", "expiry", "settle"])
    both = per.merge(cmap, on=["day", "expiry"], suffixes=("_cboe", "_cont"))
    agree = np.isclose(both["settle_cboe"], both["settle_cont"], atol=0.051)
    check = (
        f"VX1..VX8 mapped by the expiry rule vs the per-contract file, {len(both)} common "
        f"(day, contract) rows: {agree.mean():.1%} agree within 0.05"
    )
    panel = pd.concat([per, cmap[cmap["day"] > PER_CONTRACT_END]], ignore_index=True)
    return panel.drop_duplicates(["day", "expiry"]).set_index(["day", "expiry"]), check


def find_spikes(vix: pd.Series) -> list[tuple[date, date]]:
    """Non-overlapping (start, peak) pairs: the chronological scan of the module docstring."""
    days, values = list(vix.index), vix.to_numpy(float)
    spikes: list[tuple[date, date]] = []
    i = 0
    while i < len(values) - 1:
        window = values[i + 1 : i + 1 + WINDOW_SESSIONS]
        j = int(np.argmax(window))
        if window[j] - values[i] >= RISE_PTS:
            peak = i + 1 + j
            spikes.append((days[i], days[peak]))
            i = peak + 1
        else:
            i += 1
    return spikes


def spike_betas(
    spikes: list[tuple[date, date]], vix: pd.Series, panel: pd.DataFrame
) -> pd.DataFrame:
    """One row per (spike, contract): the DTE on the start day and the beta."""
    settles = panel["settle"]
    rows = []
    for start, peak in spikes:
        d_vix = float(vix[peak] - vix[start])
        if start not in settles.index.get_level_values(0):
            continue
        for expiry, f_start in settles.loc[start].items():
            if expiry <= peak or (peak, expiry) not in settles.index:
                continue
            beta = (settles[(peak, expiry)] - f_start) / d_vix
            rows.append((start, peak, (expiry - start).days, beta, d_vix))
    return pd.DataFrame(rows, columns=["start", "peak", "dte", "beta", "d_vix"])


def beta_table(betas: pd.DataFrame) -> list[tuple[float, float, int, int]]:
    """Per bucket: (median DTE, median over spikes of the spike's median beta, spikes,
    contracts). A spike with two contracts in one bucket counts once."""
    out = []
    for lo, hi in BUCKETS:
        rows = betas[(betas["dte"] >= lo) & (betas["dte"] < hi)]
        if rows.empty:
            continue
        per_spike = rows.groupby("start")["beta"].median()
        out.append(
            (float(rows["dte"].median()), float(per_spike.median()), len(per_spike), len(rows))
        )
    return out


def hedge_rv_change(
    spikes: list[tuple[date, date]], panel: pd.DataFrame, vix_days: list[date]
) -> list[float]:
    """Per spike: realised vol (annualised, vol points) of the 25-55 DTE future's daily log
    changes over the WINDOW_SESSIONS sessions after the start minus the 20 sessions before."""
    settles = panel["settle"]
    index = {d: i for i, d in enumerate(vix_days)}
    out = []
    for start, _ in spikes:
        if start not in settles.index.get_level_values(0):
            continue
        held = [
            e for e in settles.loc[start].index if HEDGE_DTE[0] <= (e - start).days <= HEDGE_DTE[1]
        ]
        if not held or start not in index:
            continue
        expiry = held[0]
        i = index[start]
        before = vix_days[max(0, i - 20) : i + 1]
        after = vix_days[i : i + WINDOW_SESSIONS + 1]
        vols = []
        for days in (before, after):
            series = [settles.get((d, expiry), np.nan) for d in days]
            changes = np.diff(np.log(np.asarray(series, dtype=float)))
            changes = changes[np.isfinite(changes)]
            vols.append(100 * np.sqrt(252) * changes.std(ddof=1) if changes.size > 4 else np.nan)
        if np.all(np.isfinite(vols)):
            out.append(vols[1] - vols[0])
    return out


def report(name: str, spikes: list[tuple[date, date]], vix: pd.Series, panel: pd.DataFrame) -> None:
    betas = spike_betas(spikes, vix, panel)
    print(
        f"\n{name}: {len(spikes)} spikes (VIX +{RISE_PTS:g} pts within {WINDOW_SESSIONS} sessions)"
    )
    if betas.empty:
        print("  no contract quoted across a spike")
        return
    print("  DTE bucket  median DTE  beta (median over spikes)  spikes  contracts")
    for (lo, hi), (dte, beta, n_spikes, n_rows) in zip(
        [b for b in BUCKETS if not betas[(betas.dte >= b[0]) & (betas.dte < b[1])].empty],
        beta_table(betas),
        strict=True,
    ):
        print(f"  [{lo:3d}, {hi:3d})  {dte:10.0f}  {beta:25.3f}  {n_spikes:6d}  {n_rows:9d}")
    table = [(round(d), round(b, 2)) for d, b, n, _ in beta_table(betas) if n >= MIN_SPIKES]
    print(f"  as config (buckets with >= {MIN_SPIKES} spikes): vix_future_beta_by_dte: {table}")
    hedge = betas[(betas.dte >= HEDGE_DTE[0]) & (betas.dte <= HEDGE_DTE[1])]
    q = hedge.groupby("start")["beta"].median().quantile([0.25, 0.5, 0.75])
    print(
        f"  the hedge's future (DTE {HEDGE_DTE[0]}-{HEDGE_DTE[1]}): beta quartiles "
        f"{q[0.25]:.3f} / {q[0.5]:.3f} / {q[0.75]:.3f} over {hedge.start.nunique()} spikes"
    )
    rv = hedge_rv_change(spikes, panel, list(vix.index))
    if rv:
        qs = np.percentile(rv, [25, 50, 75])
        print(
            f"  realised vol of that future, {WINDOW_SESSIONS} sessions after the start minus "
            f"20 before (vol pts): quartiles {qs[0]:.1f} / {qs[1]:.1f} / {qs[2]:.1f} "
            f"over {len(rv)} spikes"
        )


def rally_move(spx: pd.Series, vix: pd.Series, lo: date, hi: date) -> str:
    """The 5-session rally as likely as a -7% fall, and VIX's median change with it."""
    both = pd.concat([spx, vix], axis=1, keys=["spx", "vix"]).dropna()
    ret = both["spx"].pct_change(RALLY_SESSIONS).shift(-RALLY_SESSIONS)
    d_vix = both["vix"].diff(RALLY_SESSIONS).shift(-RALLY_SESSIONS)
    inside = [lo <= d <= hi for d in both.index]
    ret, d_vix = ret[inside].dropna(), d_vix[inside]
    p_fall = float((ret <= FALL_FRAC).mean())
    up = float(ret.quantile(1 - p_fall))
    crush = float(d_vix[ret[ret >= up].index].median())
    return (
        f"  rally: P(5-session SPX return <= {FALL_FRAC:.0%}) = {p_fall:.4f}; the return "
        f"as likely upward {up:+.3f}, VIX change with it (median) {crush:+.1f} pts"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    if not (args.data / CONTINUOUS).is_file():
        print(f"no market data in {args.data}: nothing to fit (the data is not in the repository)")
        return 0
    notes: list[str] = []
    vix = load_cboe_close(args.data, "vix", notes)
    panel, check = contract_panel(args.data)
    print(check)
    last = max(d for d, _ in panel.index)
    vix = vix[(vix.index >= FIT[0]) & (vix.index <= last)]
    spikes = find_spikes(vix)
    fit = [s for s in spikes if FIT[0] <= s[0] and s[1] <= FIT[1]]
    oos = [s for s in spikes if s[0] >= OOS_START]
    report(f"FIT {FIT[0]}..{FIT[1]}", fit, vix, panel)
    report(f"OUT OF SAMPLE {OOS_START}..{last}", oos, vix, panel)
    spx, vix_all = load_spx(args.data), load_cboe_close(args.data, "vix", notes)
    print(f"\nFIT {FIT[0]}..{FIT[1]}")
    print(rally_move(spx, vix_all, *FIT))
    oos_end = min(spx.index.max(), vix_all.index.max())
    print(f"OUT OF SAMPLE {OOS_START}..{oos_end}")
    print(rally_move(spx, vix_all, OOS_START, oos_end))
    print(f"\nrun {datetime.now():%Y-%m-%d %H:%M}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
