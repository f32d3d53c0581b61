"""The replay's market history: a directory of CSVs -> ``MarketData``, aligned on sessions.

``load_market_data(dir)`` reads the files of ``DATA_FILES`` (formats: ``data_formats.py``
and docs/replay.md). SPX and VIX are required (without them there is no market: a
``DataError``, exit 2); every other series is optional: a missing file or an empty
series is recorded in ``MarketData.unavailable`` with the reason, and the signal that
reads it reports itself unavailable while the replay runs on.

Alignment: the sessions are the XNYS sessions with both an SPX and a VIX close; every
other series is an array over those sessions, NaN where it has no value that day. Bad
rows are dropped (``alvh data check`` names them); ``notes`` says how many.

The VX futures curve of a session (``vx_curve``) takes, in order of preference, the
per-contract Cboe settles (2004-2014), the continuous VX1..VX8 settles (2007-2021; VXk is
the k-th VIX expiry strictly after the day, which matches the per-contract file on every
one of their 1,857 common days) and the Bloomberg UX1/UX2 (front two, same rule).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from daemon.core.calendar import vix_expiries
from daemon.core.models import BreadthDay, EventKind, MarketEvent
from daemon.errors import DataError
from daemon.replay import data_formats as fmt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DataFile:
    key: str
    name: str
    read: Callable[[Path], fmt.FileRows]
    required: bool
    what: str  # the signal or price that needs it, for the "unavailable" reason
    fallback: str = ""  # what the replay does without it


DATA_FILES: tuple[DataFile, ...] = (
    DataFile("spx", "spx_daily_yahoo.csv", fmt.read_yahoo_daily, True, "SPX"),
    DataFile("vix", "vix_daily_cboe.csv", fmt.read_cboe_ohlc, True, "VIX"),
    DataFile(
        "vix3m", "vix3m_daily_cboe.csv", fmt.read_cboe_ohlc, False, "VIX3M",
        "the proxy from VIX and the VX curve",
    ),
    DataFile(
        "skew", "skew_daily_cboe.csv", fmt.read_cboe_skew, False, "SKEW",
        "the smile slope at spx_skew_default_pts",
    ),
    DataFile("advancing", "nyse_advancing_issues.csv", fmt.read_breadth, False, "breadth"),
    DataFile("declining", "nyse_declining_issues.csv", fmt.read_breadth, False, "breadth"),
    DataFile("unchanged", "nyse_unchanged_issues.csv", fmt.read_breadth, False, "breadth"),
    DataFile(
        "vx_contracts", "vx_futures_contracts_2004_2014_cboe.csv", fmt.read_vx_contracts,
        False, "VX futures by contract",
    ),
    DataFile(
        "vx_continuous", "vix_futures_vx1_vx8_continuous.csv", fmt.read_vx_continuous,
        False, "VX1..VX8 futures",
    ),
    DataFile("ux", "vix_futures_ux1_ux2_bloomberg.csv", fmt.read_ux, False, "UX1/UX2 futures"),
    DataFile("fomc", "fomc_decision_dates.csv", fmt.read_fomc, False, "FOMC events"),
    DataFile("cpi", "cpi_release_dates_2018_2025.csv", fmt.read_cpi, False, "CPI events"),
)  # fmt: skip


def read_files(data_dir: Path) -> dict[str, fmt.FileRows]:
    """Every present file of ``DATA_FILES`` read; an absent one comes back with one problem."""
    out: dict[str, fmt.FileRows] = {}
    for spec in DATA_FILES:
        path = data_dir / spec.name
        if not path.is_file():
            rows = fmt.FileRows(spec.name)
            severity: fmt.Severity = "error" if spec.required else "warning"
            reason = "required" if spec.required else f"no {spec.what}"
            if spec.fallback:
                reason += f"; {spec.fallback} is used"
            rows.problems.append(fmt.Problem(spec.name, 0, f"file absent ({reason})", severity))
            out[spec.key] = rows
            continue
        try:
            out[spec.key] = spec.read(path)
        except (OSError, UnicodeDecodeError) as err:
            rows = fmt.FileRows(spec.name)
            rows.problems.append(fmt.Problem(spec.name, 0, f"cannot read: {err}"))
            out[spec.key] = rows
    return out


@dataclass
class MarketData:
    """Daily history on ``days`` (see the module docstring). Prices in index points, VIX
    family in vol points, breadth in issues; NaN = no value that session."""

    days: tuple[date, ...]
    spx_open: FloatArray
    spx_close: FloatArray
    vix_open: FloatArray
    vix_close: FloatArray
    vix3m_close: FloatArray
    skew: FloatArray
    breadth: FloatArray  # (n, 3): advancing, declining, unchanged
    vx_by_day: list[list[tuple[date, float]]]  # per session: (expiry, settle), ascending
    events: tuple[MarketEvent, ...]
    unavailable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {d: i for i, d in enumerate(self.days)}

    def has_session(self, day: date) -> bool:
        return day in self._index

    def index_of(self, day: date) -> int:
        return self._index[day]

    def last_index_at_or_before(self, day: date) -> int:
        """The last session <= ``day`` (-1 when none)."""
        return bisect.bisect_right(self.days, day) - 1

    def sessions(self, first: date, last: date) -> list[date]:
        lo, hi = bisect.bisect_left(self.days, first), bisect.bisect_right(self.days, last)
        return list(self.days[lo:hi])

    def vx_curve(self, i: int) -> list[tuple[date, float]]:
        return self.vx_by_day[i]

    def breadth_day(self, i: int) -> BreadthDay | None:
        row = self.breadth[i]
        if np.isnan(row).any():
            return None
        return BreadthDay(self.days[i], int(row[0]), int(row[1]), int(row[2]))


def _by_day(rows: fmt.FileRows) -> dict[date, tuple[float, ...]]:
    """Day -> values; a repeated day is an error of the file (the later row is kept)."""
    seen: dict[date, tuple[float, ...]] = {}
    for day, values in rows.rows:
        if day in seen:
            rows.error(0, f"{day} appears more than once (the later row is used)")
        seen[day] = values
    return seen


def _column(days: tuple[date, ...], series: dict[date, tuple[float, ...]], col: int) -> FloatArray:
    return np.array([series[d][col] if d in series else math.nan for d in days], dtype=np.float64)


def _vx_curves(
    days: tuple[date, ...], files: dict[str, fmt.FileRows]
) -> list[list[tuple[date, float]]]:
    contracts: dict[date, dict[date, float]] = {}
    for day, (expiry_ordinal, settle) in files["vx_contracts"].rows:
        contracts.setdefault(day, {})[date.fromordinal(int(expiry_ordinal))] = settle
    continuous = _by_day(files["vx_continuous"])
    ux = _by_day(files["ux"])
    curves: list[list[tuple[date, float]]] = []
    for day in days:
        if day in contracts:
            curves.append(sorted(contracts[day].items()))
            continue
        values = continuous.get(day) or ux.get(day)
        if values is None:
            curves.append([])
            continue
        expiries = vix_expiries(day + timedelta(days=1), day + timedelta(days=31 * 10))
        curves.append([(e, v) for e, v in zip(expiries, values, strict=False) if not math.isnan(v)])
    return curves


def _events(files: dict[str, fmt.FileRows]) -> tuple[MarketEvent, ...]:
    found = {(d, EventKind.FOMC) for d, _ in files["fomc"].rows}
    found |= {(d, EventKind.CPI) for d, _ in files["cpi"].rows}
    return tuple(
        MarketEvent(kind, day) for day, kind in sorted(found, key=lambda x: (x[0], x[1].value))
    )


def _unavailable(files: dict[str, fmt.FileRows]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in DATA_FILES:
        rows = files[spec.key]
        if not rows.rows:
            absent = [p.message for p in rows.problems if p.line == 0]
            why = absent[0] if absent else "no usable row"
            out[spec.key] = f"{spec.what}: {spec.name}: {why}"
    if any(k in out for k in ("advancing", "declining", "unchanged")):
        out["breadth"] = "breadth: one of the three NYSE issue files is absent or empty"
    if all(k in out for k in ("vx_contracts", "vx_continuous", "ux")):
        out["vx"] = "VX futures: no futures file; VIX options priced on a flat curve at VIX"
    return out


def market_data_from(files: dict[str, fmt.FileRows]) -> MarketData:
    """Assemble ``MarketData`` from files already read (``read_files``)."""
    spx, vix = _by_day(files["spx"]), _by_day(files["vix"])
    for key in ("vix3m", "skew", "advancing", "declining", "unchanged"):
        _by_day(files[key])  # flags repeated days
    if not spx or not vix:
        missing = [f.name for f, s in ((files["spx"], spx), (files["vix"], vix)) if not s]
        raise DataError(f"no usable SPX or VIX history in {', '.join(missing)}")
    days = tuple(sorted(set(spx) & set(vix)))
    notes = [
        f"{len(set(spx) ^ set(vix))} sessions with only one of SPX and VIX dropped",
        *(
            f"{rows.name}: {sum(p.severity == 'error' for p in rows.problems)} bad rows dropped"
            for rows in files.values()
            if any(p.severity == "error" and p.line for p in rows.problems)
        ),
    ]
    breadth = np.column_stack(
        [_column(days, dict(files[k].rows), 0) for k in ("advancing", "declining", "unchanged")]
    )
    return MarketData(
        days=days,
        spx_open=_column(days, spx, 0),
        spx_close=_column(days, spx, 1),
        vix_open=_column(days, vix, 0),
        vix_close=_column(days, vix, 1),
        vix3m_close=_column(days, dict(files["vix3m"].rows), 1),
        skew=_column(days, dict(files["skew"].rows), 0),
        breadth=breadth,
        vx_by_day=_vx_curves(days, files),
        events=_events(files),
        unavailable=_unavailable(files),
        notes=notes,
    )


def load_market_data(data_dir: Path) -> MarketData:
    """The history in ``data_dir`` (see the module docstring); ``DataError`` without SPX/VIX."""
    if not data_dir.is_dir():
        raise DataError(f"no data directory at {data_dir}")
    return market_data_from(read_files(data_dir))
