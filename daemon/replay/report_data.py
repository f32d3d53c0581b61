"""What ``alvh report`` computes, from journals alone (no market data needed).

A journal gives one *series*: per session, the account (``replay_session`` events, which
a replay writes and a live run does not) and the market (SPX, VIX, the scalar). A live
journal without account records still gives its market and scalar series, so the
scalar table works on it; its account columns are empty.

Definitions (docs/replay.md, "How to read the report"):
- CAGR over the calendar time from the first session's open equity to the last mark;
  volatility = stdev of daily log returns of equity x sqrt(252);
- max drawdown: the deepest fall of equity from a running peak, in % of that peak, with
  the peak's and the trough's dates (and the USD depth, used against ``none``);
- a session is *in stress* when VIX is at or above ``report.stress_vix_pts``; hedge
  carry = the hedge P&L of the sessions outside stress, hedge payoff = that of the
  sessions in stress (each session's change of cumulative hedge P&L);
- drawdown saved per unit of carry = (max drawdown USD of ``none`` - the policy's) /
  the policy's carry cost (minus its carry), both over the same sessions;
- scalar table: sessions binned by the scalar's quantiles; for each, the mean over its
  sessions of the next ``forward_sessions`` sessions' realised SPX vol (close to close,
  annualised, vol points) minus that session's VIX, and the worst SPX drawdown in them.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from daemon.errors import JournalError
from daemon.replay.params import ReportParams

FloatArray = npt.NDArray[np.float64]
TRADING_DAYS = 252.0


@dataclass
class Series:
    name: str
    days: list[date]
    spx: FloatArray
    vix: FloatArray
    scalar: FloatArray
    equity: FloatArray | None = None  # None: the journal has no account records
    hedge_pnl: FloatArray | None = None
    book_pnl: FloatArray | None = None
    costs: FloatArray | None = None
    book_credit_usd: float = 0.0
    hedge_premium_usd: float = 0.0
    initial_usd: float | None = None
    hedge_orders: int = 0  # hedge orders journalled (the book's excluded)
    hedge_orders_filled: int = 0  # of which filled in full
    notes: list[str] = field(default_factory=list)


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise JournalError(f"no journal at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM cycles LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a journal: {exc}") from exc
    return conn


def _arr(values: list[Any]) -> FloatArray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def load_series(path: Path) -> Series:
    """One journal's series (see the module docstring)."""
    conn = _connect(path)
    try:
        started = conn.execute(
            "SELECT detail_json FROM events WHERE kind = 'replay_started' ORDER BY event_id"
        ).fetchone()
        name = json.loads(started[0])["policy"] if started else path.stem
        rows = conn.execute(
            "SELECT detail_json FROM events WHERE kind = 'replay_session' ORDER BY event_id"
        ).fetchall()
        series = (
            _replay_series(name, [json.loads(r[0]) for r in rows], conn)
            if rows
            else _live_series(name, conn)
        )
        counts = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 'FILLED'), 0) FROM orders"
            " WHERE order_ref NOT LIKE 'book-%'"
        ).fetchone()
        series.hedge_orders, series.hedge_orders_filled = int(counts[0]), int(counts[1])
        return series
    finally:
        conn.close()


def _replay_series(name: str, details: list[dict[str, Any]], conn: sqlite3.Connection) -> Series:
    config = conn.execute("SELECT config_json FROM runs ORDER BY started_at").fetchone()
    initial = None
    if config is not None:
        initial = json.loads(config[0]).get("replay", {}).get("initial_equity_usd")
    last = details[-1]
    return Series(
        name=name,
        days=[date.fromisoformat(d["day"]) for d in details],
        spx=_arr([d.get("spx") for d in details]),
        vix=_arr([d.get("vix") for d in details]),
        scalar=_arr([d.get("scalar") for d in details]),
        equity=_arr([d["equity_usd"] for d in details]),
        hedge_pnl=_arr([d["hedge_pnl_usd"] for d in details]),
        book_pnl=_arr([d["book_pnl_usd"] for d in details]),
        costs=_arr([d["costs_usd"] for d in details]),
        book_credit_usd=float(last.get("book_credit_usd", 0.0)),
        hedge_premium_usd=float(last.get("hedge_premium_usd", 0.0)),
        initial_usd=None if initial is None else float(initial),
    )


def _live_series(name: str, conn: sqlite3.Connection) -> Series:
    """The last cycle of each trading day: SPX, VIX and the scalar (no account)."""
    rows = conn.execute(
        "SELECT trading_day, scalar, record_json FROM cycles c WHERE started_at ="
        " (SELECT MAX(started_at) FROM cycles d WHERE d.trading_day = c.trading_day)"
        " ORDER BY trading_day"
    ).fetchall()
    spx, vix = [], []
    for _, _, record in rows:
        inputs = ((json.loads(record).get("result") or {}).get("inputs")) or {}
        spx.append(inputs.get("spx"))
        vix.append(inputs.get("vix"))
    series = Series(
        name=name,
        days=[date.fromisoformat(r[0]) for r in rows],
        spx=_arr(spx),
        vix=_arr(vix),
        scalar=_arr([r[1] for r in rows]),
    )
    series.notes.append("no account records (replay_session events): market and scalar only")
    return series


# ---- metrics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Drawdown:
    depth_frac: float
    depth_usd: float
    peak: date | None
    trough: date | None


def max_drawdown(days: list[date], equity: FloatArray) -> Drawdown:
    if equity.size == 0:
        return Drawdown(0.0, 0.0, None, None)
    peaks = np.maximum.accumulate(equity)
    falls = (peaks - equity) / peaks
    trough = int(np.argmax(falls))
    if falls[trough] <= 0:
        return Drawdown(0.0, 0.0, None, None)
    peak = int(np.argmax(equity[: trough + 1]))
    return Drawdown(
        float(falls[trough]), float(peaks[trough] - equity[trough]), days[peak], days[trough]
    )


def drawdown_curve(equity: FloatArray) -> FloatArray:
    peaks = np.maximum.accumulate(equity)
    return np.asarray((equity - peaks) / peaks, dtype=np.float64)


def cagr(days: list[date], start_usd: float, end_usd: float) -> float | None:
    years = (days[-1] - days[0]).days / 365.25 if days else 0.0
    if years <= 0 or start_usd <= 0 or end_usd <= 0:
        return None
    return float((end_usd / start_usd) ** (1.0 / years) - 1.0)


def volatility(equity: FloatArray) -> float | None:
    if equity.size < 3:
        return None
    returns = np.diff(np.log(equity))
    return float(np.std(returns, ddof=1) * math.sqrt(TRADING_DAYS))


def stress_split(series: Series, params: ReportParams) -> tuple[float, float]:
    """(hedge P&L outside stress, hedge P&L in stress), USD."""
    assert series.hedge_pnl is not None
    daily = np.diff(series.hedge_pnl, prepend=0.0)
    stress = np.nan_to_num(series.vix, nan=0.0) >= params.stress_vix_pts
    return float(daily[~stress].sum()), float(daily[stress].sum())


@dataclass(frozen=True)
class PolicyRow:
    policy: str
    start: date
    end: date
    sessions: int
    final_equity_usd: float
    cagr: float | None
    volatility: float | None
    drawdown: Drawdown
    premium_of_credit_frac: float | None
    carry_usd: float
    stress_payoff_usd: float
    saved_per_carry: float | None
    costs_usd: float
    hedge_orders: int
    hedge_orders_filled: int


def policy_rows(all_series: list[Series], params: ReportParams) -> list[PolicyRow]:
    with_account = [s for s in all_series if s.equity is not None and s.equity.size]
    base = next((s for s in with_account if s.name == "none"), None)
    base_dd = None if base is None else max_drawdown(base.days, _eq(base))
    rows = []
    for s in with_account:
        eq = _eq(s)
        start = s.initial_usd if s.initial_usd is not None else float(eq[0])
        dd = max_drawdown(s.days, eq)
        carry, payoff = stress_split(s, params)
        saved = None
        if base_dd is not None and s.name != "none" and carry < 0:
            saved = (base_dd.depth_usd - dd.depth_usd) / -carry
        rows.append(
            PolicyRow(
                policy=s.name,
                start=s.days[0],
                end=s.days[-1],
                sessions=len(s.days),
                final_equity_usd=float(eq[-1]),
                cagr=cagr(s.days, start, float(eq[-1])),
                volatility=volatility(eq),
                drawdown=dd,
                premium_of_credit_frac=(
                    s.hedge_premium_usd / s.book_credit_usd if s.book_credit_usd > 0 else None
                ),
                carry_usd=carry,
                stress_payoff_usd=payoff,
                saved_per_carry=saved,
                costs_usd=float(s.costs[-1]) if s.costs is not None else 0.0,
                hedge_orders=s.hedge_orders,
                hedge_orders_filled=s.hedge_orders_filled,
            )
        )
    return rows


def _eq(series: Series) -> FloatArray:
    assert series.equity is not None
    return series.equity


@dataclass(frozen=True)
class YearRow:
    policy: str
    year: int
    return_frac: float
    max_drawdown_frac: float
    hedge_pnl_usd: float
    book_pnl_usd: float


def year_rows(all_series: list[Series]) -> list[YearRow]:
    rows = []
    for s in all_series:
        if s.equity is None or s.hedge_pnl is None or s.book_pnl is None:
            continue
        years = np.array([d.year for d in s.days])
        start_eq = s.initial_usd if s.initial_usd is not None else float(s.equity[0])
        prev_eq, prev_hedge, prev_book = start_eq, 0.0, 0.0
        for year in sorted(set(years.tolist())):
            idx = np.nonzero(years == year)[0]
            eq = s.equity[idx]
            path = np.concatenate([[prev_eq], eq])
            rows.append(
                YearRow(
                    s.name,
                    int(year),
                    float(eq[-1] / prev_eq - 1.0),
                    float(-drawdown_curve(path).min()),
                    float(s.hedge_pnl[idx[-1]] - prev_hedge),
                    float(s.book_pnl[idx[-1]] - prev_book),
                )
            )
            prev_eq, prev_hedge, prev_book = (
                float(eq[-1]),
                float(s.hedge_pnl[idx[-1]]),
                float(s.book_pnl[idx[-1]]),
            )
    return rows


@dataclass(frozen=True)
class ScalarBin:
    policy: str
    bin: int
    scalar_low: float
    scalar_high: float
    sessions: int
    rv_minus_vix_pts: float
    worst_spx_drawdown_frac: float


def forward_stats(spx: FloatArray, vix: FloatArray, ahead: int) -> tuple[FloatArray, FloatArray]:
    """Per session: next ``ahead`` sessions' realised vol (pts) minus VIX, and the worst
    SPX drawdown in them from that session's close (NaN where the window runs out)."""
    n = spx.size
    rv_minus = np.full(n, np.nan)
    worst = np.full(n, np.nan)
    log_s = np.log(spx)
    for i in range(n - ahead):
        window = log_s[i : i + ahead + 1]
        if not np.all(np.isfinite(window)) or not math.isfinite(vix[i]):
            continue
        rv = float(np.std(np.diff(window), ddof=1) * math.sqrt(TRADING_DAYS) * 100.0)
        rv_minus[i] = rv - vix[i]
        path = np.exp(window)
        worst[i] = float(drawdown_curve(path).min())
    return rv_minus, worst


def scalar_bins(all_series: list[Series], params: ReportParams) -> list[ScalarBin]:
    out = []
    for s in all_series:
        ok = np.isfinite(s.scalar)
        if ok.sum() < params.scalar_bins:
            continue
        if np.ptp(s.scalar[ok]) == 0:  # alvh-flat: held at 1, nothing to bin
            s.notes.append(f"scalar constant at {s.scalar[ok][0]:g}: no scalar bins")
            continue
        rv_minus, worst = forward_stats(s.spx, s.vix, params.forward_sessions)
        edges = np.quantile(s.scalar[ok], np.linspace(0.0, 1.0, params.scalar_bins + 1))
        which = np.clip(
            np.searchsorted(edges, s.scalar, side="right") - 1, 0, params.scalar_bins - 1
        )
        for b in range(params.scalar_bins):
            sel = ok & (which == b) & np.isfinite(rv_minus)
            if not sel.any():
                continue
            out.append(
                ScalarBin(
                    s.name,
                    b + 1,
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(sel.sum()),
                    float(np.mean(rv_minus[sel])),
                    float(np.min(worst[sel])),
                )
            )
    return out
