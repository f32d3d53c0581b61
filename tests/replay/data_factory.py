"""A small, seeded market history written in the replay's documented CSV formats.

``write_market_data(dir, first, last)`` writes every file of ``DATA_FILES`` for the XNYS
sessions first..last (a path of SPX, VIX, VIX3M, SKEW, breadth, the VX curve by contract
and as VX1..VX8 and UX1/UX2, FOMC and CPI dates), and returns the values it wrote, so a
test compares what the market serves against the input, not against the code's output.
``skip`` leaves files out (a missing series); ``vx_contract_until`` ends the per-contract
file early so the later days come from the continuous files.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from daemon.core.calendar import vix_expiries
from daemon.replay.source import calendar_sessions

MONTH_CODES = "FGHJKMNQUVXZ"
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Written:
    """What the factory wrote, by session."""

    days: list[date]
    spx_open: dict[date, float] = field(default_factory=dict)
    spx_close: dict[date, float] = field(default_factory=dict)
    vix_open: dict[date, float] = field(default_factory=dict)
    vix_close: dict[date, float] = field(default_factory=dict)
    vix3m: dict[date, float] = field(default_factory=dict)
    skew: dict[date, float] = field(default_factory=dict)
    breadth: dict[date, tuple[int, int, int]] = field(default_factory=dict)
    vx: dict[date, list[tuple[date, float]]] = field(default_factory=dict)
    fomc: list[date] = field(default_factory=list)
    cpi: list[date] = field(default_factory=list)


def _path(days: list[date], seed: int) -> Written:
    rng = np.random.default_rng(seed)
    w = Written(days)
    spx, log_vix = 3000.0, math.log(16.0)
    for day in days:
        vix_prev = math.exp(log_vix)
        log_vix += 3.0 * (math.log(17.0) - log_vix) / 252 + 0.08 * rng.standard_normal()
        vix = round(math.exp(log_vix), 2)
        spx_open = round(spx * (1 + 0.002 * rng.standard_normal()), 2)
        spx = round(
            spx_open
            * math.exp(-0.4 * (math.log(vix / vix_prev)) * 0.1 + 0.008 * rng.standard_normal()),
            2,
        )
        w.spx_open[day], w.spx_close[day] = spx_open, spx
        w.vix_open[day], w.vix_close[day] = round(0.5 * (vix + vix_prev), 2), vix
        w.vix3m[day] = round(vix * 1.06 + 0.5, 2)
        w.skew[day] = round(120 + 10 * rng.random(), 2)
        adv = int(1500 + 800 * np.tanh(5 * math.log(spx / spx_open)))
        w.breadth[day] = (adv, 3000 - adv - 100, 100)
        expiries = vix_expiries(day + timedelta(days=1), day + timedelta(days=300))[:8]
        w.vx[day] = [
            (e, round(vix + (20.0 - vix) * (1 - math.exp(-(e - day).days / 90.0)), 2))
            for e in expiries
        ]
    w.fomc = [d for d in days if d.month % 2 == 1 and 15 <= d.day <= 21 and d.weekday() == 2]
    w.cpi = [d for d in days if 10 <= d.day <= 14 and d.weekday() == 1]
    return w


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _mdY(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _ohlc(o: float, c: float) -> list[object]:
    return [f"{o:.2f}", f"{max(o, c) * 1.01:.2f}", f"{min(o, c) * 0.99:.2f}", f"{c:.2f}"]


def _vx_name(expiry: date) -> str:
    return f"{MONTH_CODES[expiry.month - 1]} ({MONTH_NAMES[expiry.month - 1]} {expiry:%y})"


def write_market_data(
    directory: Path,
    first: date = date(2018, 1, 2),
    last: date = date(2019, 6, 28),
    *,
    seed: int = 3,
    skip: frozenset[str] = frozenset(),
    vx_contract_until: date | None = None,
) -> Written:
    """Write the files (see the module docstring) and return what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    days = calendar_sessions(first, last)
    w = _path(days, seed)
    files = {
        "spx_daily_yahoo.csv": (
            ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
            [
                [f"{d}", *_ohlc(w.spx_open[d], w.spx_close[d]), f"{w.spx_close[d]:.2f}", 1000]
                for d in days
            ],
        ),
        "vix_daily_cboe.csv": (
            ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"],
            [[_mdY(d), *_ohlc(w.vix_open[d], w.vix_close[d])] for d in days],
        ),
        "vix3m_daily_cboe.csv": (
            ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"],
            [[_mdY(d), *_ohlc(w.vix3m[d], w.vix3m[d])] for d in days],
        ),
        "skew_daily_cboe.csv": (["DATE", "SKEW"], [[_mdY(d), w.skew[d]] for d in days]),
        "vx_futures_contracts_2004_2014_cboe.csv": (
            ["Trade Date", "Futures", "Open", "High", "Low", "Close", "Settle", "Change",
             "Total Volume", "EFP", "Open Interest"],
            [
                [_mdY(d), _vx_name(e), s, s, s, s, s, 0, 100, 0, 1000]
                for d in days
                if vx_contract_until is None or d <= vx_contract_until
                for e, s in w.vx[d]
            ],
        ),
        "vix_futures_vx1_vx8_continuous.csv": (
            ["", "DATE", "VIX", *(f"VX{i}" for i in range(1, 9)), "SP500"],
            [[i, f"{d}", w.vix_close[d], *(s for _, s in w.vx[d]), w.spx_close[d]]
             for i, d in enumerate(days)],
        ),
        "vix_futures_ux1_ux2_bloomberg.csv": (
            ["date", "ux1", "ux2"], [[f"{d}", w.vx[d][0][1], w.vx[d][1][1]] for d in days]
        ),
        "fomc_decision_dates.csv": (["date"], [[f"{d}"] for d in w.fomc]),
        "cpi_release_dates_2018_2025.csv": (
            ["Release Date", "Time", "Actual", "Forecast", "Previous"],
            [[f"{d:%b} {d.day}, {d.year} ({(d.replace(day=1) - timedelta(days=1)):%b})",
              "08:30", "2.0%", "2.0%", "2.0%"] for d in w.cpi],
        ),
    }  # fmt: skip
    for name, which in (
        ("nyse_advancing_issues.csv", 0),
        ("nyse_declining_issues.csv", 1),
        ("nyse_unchanged_issues.csv", 2),
    ):
        rows = [[f"{d}", *(w.breadth[d][which],) * 4, "", ""] for d in days]
        files[name] = (["time", "open", "high", "low", "close", "Volume", "Volume MA"], rows)
    for name, (header, rows) in files.items():
        if name not in skip:
            _write(directory / name, header, rows)
    return w
