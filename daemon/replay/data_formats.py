"""The replay's input files: one reader per documented CSV format, row by row.

Every reader returns the rows it could use and the ``Problem`` of every row it could not
(or had to repair), each named by file and line, so ``alvh data check`` and the loader
share one path: the check prints the problems, the loader keeps the good rows.

Severity: an ``error`` is a row (or file) that cannot be read as its format says (a date
or a number that does not parse, missing fields, a price <= 0, a close outside its own
high/low); a ``warning`` is a row that is readable but is dropped or repaired by a
documented rule (a date that is not an XNYS session, a VX settle of 0, an opening print
outside the day's high/low). ``alvh data check`` exits 2 on any error.

Rows dated before ``CALENDAR_START`` (2004-01-01: the exchange calendar's first day) or
after ``CALENDAR_END`` are skipped without a problem: the replay cannot place them on a
session. The formats themselves are described in docs/replay.md ("Data").
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from daemon.core.calendar import CALENDAR_END, CALENDAR_START, is_session, vix_expiry

Severity = Literal["error", "warning"]
# CFE quoted VX futures at ten times the index before this date (the "VX" -> "new VX" rescale).
VX_RESCALE_DAY = date(2007, 3, 26)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
)}  # fmt: skip
_VX_NAME = re.compile(r"^[FGHJKMNQUVXZ] \((?P<mon>[A-Z][a-z]{2}) (?P<yy>\d{2})\)$")
_CPI_DATE = re.compile(r"^(?P<day>[A-Z][a-z]{2} \d{1,2}, \d{4})(?: \([A-Z][a-z]{2}\))?$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based line in the file; 0 = the file as a whole
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class FileRows:
    """What one file gave: ``rows`` of (day, values) in file order, and its problems."""

    name: str
    rows: list[tuple[date, tuple[float, ...]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message, "error"))

    def warn(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message, "warning"))


class _BadRow(ValueError):
    pass


def _date(text: str, fmt: str) -> date:
    text = text.strip()
    try:
        # Fast paths for the two common formats (strptime is ~20x slower); a text they
        # reject goes through strptime, which decides and names the problem.
        if fmt == "%Y-%m-%d" and len(text) == 10:
            return date.fromisoformat(text)
        if fmt == "%m/%d/%Y":
            month, day, year = text.split("/")
            if len(year) == 4 and month.isdigit() and day.isdigit() and year.isdigit():
                return date(int(year), int(month), int(day))
    except ValueError:
        pass
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise _BadRow(f"date {text!r} is not {fmt.replace('%', '')}") from None


def _number(text: str, name: str, *, positive: bool = True, blank_ok: bool = False) -> float:
    text = text.strip()
    if text == "" and blank_ok:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise _BadRow(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or (positive and value <= 0) or value < 0:
        raise _BadRow(f"{name} {text!r} must be {'> 0' if positive else '>= 0'}")
    return value


def _rows(path: Path, out: FileRows, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """The data rows of a CSV (line number, fields) after checking its header."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None:
            out.error(1, "empty file (no header)")
            return
        got = tuple(h.strip() for h in first)
        if got[: len(header)] != header:
            out.error(1, f"header {','.join(got)!r} is not {','.join(header)!r}")
            return
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row


def _in_calendar(day: date) -> bool:
    return CALENDAR_START <= day <= CALENDAR_END


def _session_row(out: FileRows, line: int, day: date) -> bool:
    """Keep a row only on an XNYS session (a warning otherwise)."""
    if not _in_calendar(day):
        return False
    if not is_session(day):
        out.warn(line, f"{day} is not an NYSE session: row dropped")
        return False
    return True


def _read(
    path: Path, header: tuple[str, ...], parse: Callable[[FileRows, int, list[str]], None]
) -> FileRows:
    out = FileRows(path.name)
    for line, row in _rows(path, out, header):
        try:
            parse(out, line, row)
        except _BadRow as bad:
            out.error(line, str(bad))
    return out


def _need(row: list[str], count: int) -> None:
    if len(row) < count:
        raise _BadRow(f"{len(row)} fields, expected {count}")


# ---- Cboe index history (VIX_History.csv, VIX3M_History.csv): DATE,OPEN,HIGH,LOW,CLOSE ----
CBOE_OHLC = ("DATE", "OPEN", "HIGH", "LOW", "CLOSE")


def read_cboe_ohlc(path: Path) -> FileRows:
    """Rows (day, (open, close)); an open outside [low, high] is replaced by NaN (warning)."""

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 5)
        day = _date(row[0], "%m/%d/%Y")
        o, h, lo, c = (_number(row[i], CBOE_OHLC[i]) for i in range(1, 5))
        if not lo <= c <= h:
            raise _BadRow(f"CLOSE {c:g} outside LOW..HIGH {lo:g}..{h:g}")
        if not _session_row(out, line, day):
            return
        if not lo <= o <= h:
            out.warn(line, f"OPEN {o:g} outside LOW..HIGH {lo:g}..{h:g}: opening print dropped")
            o = math.nan
        out.rows.append((day, (o, c)))

    return _read(path, CBOE_OHLC, parse)


# ---- Cboe SKEW_History.csv: DATE,SKEW -------------------------------------------------------
def read_cboe_skew(path: Path) -> FileRows:
    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 2)
        day = _date(row[0], "%m/%d/%Y")
        value = _number(row[1], "SKEW")
        if _session_row(out, line, day):
            out.rows.append((day, (value,)))

    return _read(path, ("DATE", "SKEW"), parse)


# ---- Yahoo ^GSPC daily: Date,Open,High,Low,Close,Adj Close,Volume ------------------------
YAHOO = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")


def read_yahoo_daily(path: Path) -> FileRows:
    """Rows (day, (open, close)) of the S&P 500."""

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 5)
        day = _date(row[0], "%Y-%m-%d")
        if not _in_calendar(day):
            return
        o, h, lo, c = (_number(row[i], YAHOO[i]) for i in range(1, 5))
        if not lo - 1e-6 <= c <= h + 1e-6:
            raise _BadRow(f"Close {c:g} outside Low..High {lo:g}..{h:g}")
        if _session_row(out, line, day):
            out.rows.append((day, (o, c)))

    return _read(path, YAHOO, parse)


# ---- NYSE breadth (TradingView export): time,open,high,low,close,Volume,Volume MA -----------
BREADTH = ("time", "open", "high", "low", "close")


def read_breadth(path: Path) -> FileRows:
    """Rows (day, (issues,)): the ``close`` column, a count of issues (>= 0)."""

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 5)
        day = _date(row[0], "%Y-%m-%d")
        issues = _number(row[4], "close", positive=False)
        if issues != round(issues):
            raise _BadRow(f"close {row[4]!r} is not a whole number of issues")
        if _session_row(out, line, day):
            out.rows.append((day, (issues,)))

    return _read(path, BREADTH, parse)


# ---- VX continuous settles: <index>,DATE,VIX,VX1..VX8,SP500 --------------------------------
VX_CONTINUOUS = ("", "DATE", "VIX", *(f"VX{i}" for i in range(1, 9)), "SP500")


def read_vx_continuous(path: Path) -> FileRows:
    """Rows (day, (VX1, ..., VX8)); a blank settle is NaN."""

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 11)
        day = _date(row[1], "%Y-%m-%d")
        settles = tuple(_number(row[i], VX_CONTINUOUS[i], blank_ok=True) for i in range(3, 11))
        if _session_row(out, line, day):
            out.rows.append((day, settles))

    return _read(path, VX_CONTINUOUS, parse)


# ---- Bloomberg UX1/UX2 (converted): date,ux1,ux2 -------------------------------------------
def read_ux(path: Path) -> FileRows:
    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 3)
        day = _date(row[0], "%Y-%m-%d")
        ux1 = _number(row[1], "ux1")
        ux2 = _number(row[2], "ux2", blank_ok=True)
        if _session_row(out, line, day):
            out.rows.append((day, (ux1, ux2)))

    return _read(path, ("date", "ux1", "ux2"), parse)


# ---- Cboe CFE per-contract VX history ------------------------------------------------------
VX_CONTRACTS = ("Trade Date", "Futures", "Open", "High", "Low", "Close", "Settle")


def vx_contract_expiry(name: str) -> date:
    """``"K (May 04)"`` -> the May 2004 VIX expiry (final settlement date)."""
    match = _VX_NAME.match(name.strip())
    if match is None or match["mon"] not in _MONTHS:
        raise _BadRow(f"Futures {name!r} is not like 'K (May 04)'")
    return vix_expiry(2000 + int(match["yy"]), _MONTHS[match["mon"]])


def read_vx_contracts(path: Path) -> FileRows:
    """Rows (day, (expiry ordinal, settle in index points)); pre-rescale settles / 10.

    A trailing comma (12 fields) is accepted: Cboe's files carry one on some rows.
    """

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 7)
        day = _date(row[0], "%m/%d/%Y")
        expiry = vx_contract_expiry(row[1])
        settle = _number(row[6], "Settle", positive=False)
        if not _session_row(out, line, day):
            return
        if settle == 0:
            out.warn(line, f"Settle 0 for {row[1].strip()}: row dropped")
            return
        if day > expiry:
            raise _BadRow(f"trade date {day} after the contract's expiry {expiry}")
        scale = 10.0 if day < VX_RESCALE_DAY else 1.0
        out.rows.append((day, (float(expiry.toordinal()), settle / scale)))

    return _read(path, VX_CONTRACTS, parse)


# ---- release dates ---------------------------------------------------------------------------
def read_fomc(path: Path) -> FileRows:
    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 1)
        day = _date(row[0], "%Y-%m-%d")
        if _in_calendar(day):
            out.rows.append((day, ()))

    return _read(path, ("date",), parse)


def read_cpi(path: Path) -> FileRows:
    """investing.com CPI releases: "Release Date" like ``Feb 14, 2018 (Jan)``."""

    def parse(out: FileRows, line: int, row: list[str]) -> None:
        _need(row, 1)
        match = _CPI_DATE.match(row[0].strip())
        if match is None:
            raise _BadRow(f"Release Date {row[0]!r} is not like 'Feb 14, 2018 (Jan)'")
        day = _date(match["day"], "%b %d, %Y")
        if _in_calendar(day):
            out.rows.append((day, ()))

    return _read(path, ("Release Date",), parse)
