"""Loading the real market history in ``shared/data/market`` (outside the repository).

Used by ``validate_history.py`` only. The files and their known faults are described in
that folder's ``MANIFEST.md``; what this module does about each fault:

- VIX (Cboe ``VIX_History.csv``, dates mm/dd/yyyy): rows dated on a day the NYSE did not
  trade are dropped. Cboe has published VIX on US holidays since 2022 (its extended
  hours), and the 2004-06-11 and 2025-01-09 closures (national days of mourning) also
  carry a row. SPX has no close on those days, so a VIX on them pairs with nothing. The
  bad OPEN of 2004-11-08 is not read (only closes are used).
- VIX3M: same format; starts 2009-09-18, so the term signal exists from then on.
- SPX (Yahoo ``^GSPC``, ISO dates): the Close column; the last line has no newline.
- NYSE advancing/declining/unchanged (TradingView exports): the ``close`` column; the
  three files are joined on their dates and a date missing from any one is dropped.
- FOMC: announcement dates, unscheduled ones included.
- VX contracts (Cboe CFE per-contract rows): some rows carry a trailing comma (12 fields);
  only the date, the contract name, the settle and the volume are read.

Each loader returns plain pandas objects indexed by ``datetime.date`` and records what it
dropped in ``MarketHistory.notes`` so the validation prints it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from daemon.core.calendar import CALENDAR_END, CALENDAR_START, is_session
from daemon.core.models import EventKind, MarketEvent

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "market"

FILES = {
    "spx": "spx_daily_yahoo.csv",
    "vix": "vix_daily_cboe.csv",
    "vix3m": "vix3m_daily_cboe.csv",
    "advancing": "nyse_advancing_issues.csv",
    "declining": "nyse_declining_issues.csv",
    "unchanged": "nyse_unchanged_issues.csv",
    "fomc": "fomc_decision_dates.csv",
    "vx": "vx_futures_contracts_2004_2014_cboe.csv",
}
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec"), start=1)}  # fmt: skip


@dataclass
class MarketHistory:
    """Daily closes indexed by ``date``: ``spx`` (index points), ``vix`` and ``vix3m``
    (vol points), ``breadth`` (columns advancing, declining, unchanged: issues), the FOMC
    events; ``notes`` says what was dropped while loading."""

    spx: pd.Series
    vix: pd.Series
    vix3m: pd.Series
    breadth: pd.DataFrame
    fomc: tuple[MarketEvent, ...]
    notes: list[str] = field(default_factory=list)

    @property
    def last_common_day(self) -> date:
        """The last date every daily series reaches."""
        ends: list[date] = [s.index.max() for s in (self.spx, self.vix, self.vix3m, self.breadth)]
        return min(ends)


def missing_files(data_dir: Path) -> list[str]:
    return [name for name in FILES.values() if not (data_dir / name).is_file()]


def load_spx(data_dir: Path) -> pd.Series:
    frame = pd.read_csv(data_dir / FILES["spx"], usecols=["Date", "Close"])
    days = pd.to_datetime(frame["Date"], format="%Y-%m-%d").dt.date
    return pd.Series(frame["Close"].to_numpy(float), index=days, name="spx").sort_index()


def load_cboe_close(data_dir: Path, key: str, notes: list[str]) -> pd.Series:
    """A Cboe ``DATE,OPEN,HIGH,LOW,CLOSE`` file's closes on NYSE sessions only."""
    frame = pd.read_csv(data_dir / FILES[key], usecols=["DATE", "CLOSE"])
    days = pd.to_datetime(frame["DATE"], format="%m/%d/%Y").dt.date
    series = pd.Series(frame["CLOSE"].to_numpy(float), index=days, name=key).sort_index()
    in_calendar = [CALENDAR_START <= d <= CALENDAR_END for d in series.index]
    dropped = [d for d, inside in zip(series.index, in_calendar, strict=True)
               if inside and not is_session(d)]  # fmt: skip
    if dropped:
        shown = ", ".join(d.isoformat() for d in dropped[:4])
        notes.append(
            f"{key}: dropped {len(dropped)} rows dated on NYSE holidays/closures "
            f"({shown}, ... {dropped[-1].isoformat()})"
        )
    return series.drop(index=dropped)


def load_breadth(data_dir: Path, notes: list[str]) -> pd.DataFrame:
    parts = {}
    for key in ("advancing", "declining", "unchanged"):
        frame = pd.read_csv(data_dir / FILES[key], usecols=["time", "close"])
        days = pd.to_datetime(frame["time"], format="%Y-%m-%d").dt.date
        parts[key] = pd.Series(frame["close"].to_numpy(float), index=days)
    joined = pd.concat(parts, axis=1).sort_index()
    incomplete = joined.isna().any(axis=1)
    if incomplete.any():
        gaps = joined.index[incomplete]
        notes.append(
            f"breadth: dropped {int(incomplete.sum())} dates missing from one of the three "
            f"files ({gaps.min()} .. {gaps.max()}, before the replay's history)"
        )
    joined = joined[~incomplete]
    repeated = (joined.diff() == 0).all(axis=1)
    for day in joined.index[repeated]:
        if day.year >= 2009:  # the span the validation reads
            notes.append(f"breadth: {day} repeats the previous session exactly (kept; suspect)")
    return joined


def load_fomc(data_dir: Path) -> tuple[MarketEvent, ...]:
    frame = pd.read_csv(data_dir / FILES["fomc"])
    days = pd.to_datetime(frame["date"], format="%Y-%m-%d").dt.date
    return tuple(MarketEvent(EventKind.FOMC, d, "FOMC decision") for d in sorted(set(days)))


def load_history(data_dir: Path) -> MarketHistory:
    notes: list[str] = []
    return MarketHistory(
        spx=load_spx(data_dir),
        vix=load_cboe_close(data_dir, "vix", notes),
        vix3m=load_cboe_close(data_dir, "vix3m", notes),
        breadth=load_breadth(data_dir, notes),
        fomc=load_fomc(data_dir),
        notes=notes,
    )


@dataclass(frozen=True)
class VxContract:
    """One VX futures contract's life in the CFE file: its month and every row's date,
    settle and volume (the last row is the final settlement row)."""

    name: str
    year: int
    month: int
    rows: tuple[tuple[date, float, int], ...]


def load_vx_contracts(data_dir: Path) -> tuple[list[VxContract], date]:
    """Every monthly contract in the file (rows in date order) and the file's last date."""
    rows: dict[str, list[tuple[date, float, int]]] = {}
    with (data_dir / FILES["vx"]).open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for record in reader:
            day = datetime.strptime(record[0], "%m/%d/%Y").date()
            settle = float(record[6] or 0.0)
            volume = int(float(record[8] or 0))
            rows.setdefault(record[1], []).append((day, settle, volume))
    contracts = []
    for name, lst in rows.items():
        # "K (May 04)": the contract month is in the parentheses.
        month_name, year_2d = name.split("(")[1].rstrip(")").split()
        contracts.append(
            VxContract(name, 2000 + int(year_2d), MONTHS[month_name], tuple(sorted(lst)))
        )
    last_day = max(c.rows[-1][0] for c in contracts)
    return sorted(contracts, key=lambda c: (c.year, c.month)), last_day
