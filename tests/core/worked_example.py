"""The worked example of docs/model.md: its snapshot, as the text prints it, and the hand oracle.

The data (quotes, book, history, events, parameters, the recipes of the ids and the numbers
the text states) and the builders of ``evaluate``'s inputs live here; the independent
computation the tests compare ``evaluate`` against (settlement times, parity forwards,
vollib's Black-76 implied vols, greeks and stress repricing, the text's piecewise maps) too.
The tests themselves are in test_worked_example.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path

from vollib.black import black as vollib_black
from vollib.black.greeks.analytical import theta as vollib_theta
from vollib.black.implied_volatility import implied_volatility as vollib_iv

from daemon.core.calendar import NY, previous_session
from daemon.core.evaluate import CycleResult, evaluate
from daemon.core.market import MarketView, build_market_view
from daemon.core.models import (
    BreadthDay,
    Contract,
    DailyBar,
    EventKind,
    MarketEvent,
    MarketSnapshot,
    OptionQuote,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.params import (
    DiagonalParams,
    ModelParams,
    SignalsParams,
    SkewParams,
    VixSpreadParams,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"

# ---- the snapshot, exactly as the text gives it ----------------------------------------------
NOW = datetime(2026, 3, 16, 11, 0, tzinfo=NY)  # Monday, 11:00 New York (EDT)
E1 = date(2026, 4, 17)  # SPXW, PM-settled: the condor's expiry
E2 = date(2026, 5, 15)  # SPXW, PM-settled: the diagonal's long leg
EV = date(2026, 4, 15)  # VIX options and future, AM-settled
SPOT, VIX, VIX3M = 5000.00, 19.50, 20.00
VIX_FUTURE_BID, VIX_FUTURE_ASK = 20.35, 20.45
RATE = 0.04  # the default pricing.risk_free_rate_frac
P, C = Right.PUT, Right.CALL

# (class, expiry, strike, right, bid, ask), USD per share.
QUOTES: tuple[tuple[str, date, float, Right, float, float], ...] = (
    ("SPXW", E1, 4550, P, 17.40, 17.80),
    ("SPXW", E1, 4600, P, 20.40, 20.80),
    ("SPXW", E1, 4650, P, 24.00, 24.40),
    ("SPXW", E1, 4800, P, 40.50, 41.50),
    ("SPXW", E1, 4850, P, 49.00, 50.00),
    ("SPXW", E1, 5000, P, 89.70, 90.70),
    ("SPXW", E1, 5050, P, 110.30, 111.30),
    ("SPXW", E1, 5000, C, 101.50, 102.50),
    ("SPXW", E1, 5200, C, 15.10, 15.50),
    ("SPXW", E1, 5300, C, 2.20, 2.30),
    ("SPXW", E2, 4650, P, 54.90, 55.90),
    ("SPXW", E2, 4700, P, 60.50, 61.50),
    ("SPXW", E2, 4750, P, 67.00, 68.00),
    ("SPXW", E2, 5000, P, 121.30, 122.30),
    ("SPXW", E2, 5000, C, 143.50, 144.50),
    ("VIX", EV, 20, C, 2.13, 2.19),
    ("VIX", EV, 22, C, 1.32, 1.38),
    ("VIX", EV, 23, C, 1.02, 1.08),
    ("VIX", EV, 24, C, 0.78, 0.84),
    ("VIX", EV, 26, C, 0.46, 0.48),
    ("VIX", EV, 28, C, 0.25, 0.27),
    ("VIX", EV, 29, C, 0.18, 0.20),
    ("VIX", EV, 30, C, 0.13, 0.15),
    ("VIX", EV, 20, P, 1.73, 1.79),
)

# The book: 10 iron condors; (strike, right, sign, IB avg cost USD per contract).
CONDOR_UNITS = 10
CONDOR = ((4550, P, 1, 1650.0), (4650, P, -1, 2500.0), (5200, C, -1, 1700.0), (5300, C, 1, 300.0))

# History: 60 sessions before today; 40 at 5100, then 20 alternating -50 / +40.
FLAT_CLOSE, FLAT_SESSIONS, ZIGZAG_PAIRS, DOWN_PTS, UP_PTS = 5100.0, 40, 10, 50.0, 40.0
ADVANCING, DECLINING, UNCHANGED = 1420, 1480, 100
EVENTS = (
    MarketEvent(EventKind.CPI, date(2026, 3, 11)),
    MarketEvent(EventKind.GDP, date(2026, 3, 13)),
    MarketEvent(EventKind.FOMC, date(2026, 3, 18)),
    MarketEvent(EventKind.PPI, date(2026, 3, 18)),
)
# Defaults, except one candidate per family so the integer program fits on paper, and the
# model page's original skew map, under which the example's 3.78-point skew buys both
# hedge families (the fitted default would ask a 0.74 VIX share: VIX spreads only).
SKEW_MAP = ((2.0, 0.4), (6.0, 0.6), (10.0, 0.75))
PARAMS = ModelParams(
    vix=VixSpreadParams(neighbour_count=0),
    diagonal=DiagonalParams(neighbour_count=0),
    signals=SignalsParams(skew=SkewParams(breakpoints=SKEW_MAP)),
)

# The adjustment ids' recipes as the text prints them (one JSON line each).
RECIPES = {
    "vcs": '["2026-03-16", "+1 VIX 2026-04-15 23 C / -1 VIX 2026-04-15 29 C", '
    '["+1 VIX 2026-04-15 23 C", "-1 VIX 2026-04-15 29 C"], 11, "open"]',
    "pdg": '["2026-03-16", "-1 SPXW 2026-04-17 4600 P / +1 SPXW 2026-05-15 4650 P", '
    '["+1 SPXW 2026-05-15 4650 P", "-1 SPXW 2026-04-17 4600 P"], 1, "open"]',
}

# ---- what the text states, as printed ----------------------------------------------------------
STATED = {
    "t1": "0.088242",
    "t2": "0.164954",
    "tv": "0.082021",
    "d1": "0.996477",
    "d2": "0.993424",
    "f1": "5011.84",
    "f2": "5022.35",
    "rsi": "46.28",
    "rsi_z": "0.4118",
    "macd_line": "-24.11",
    "macd_signal": "-23.13",
    "macd_hist": "-0.978",
    "macd": "-0.1955",
    "macd_z": "0.0321",
    "breadth": "-0.0200",
    "breadth_z": "0.2388",
    "term": "0.9750",
    "term_z": "0.6769",
    "rv": "14.58",
    "rv_iv": "-4.92",
    "rv_iv_z": "-0.0811",
    "events": "0.5000",
    "events_z": "0.5000",
    "prox_atm_iv": "16.01",
    "sigmas_put": "1.5263",
    "sigmas_call": "0.8249",
    "proximity_z": "-0.0195",
    "scalar": "1.4128",
    "atm_iv": "16.00",
    "put25_iv": "19.78",
    "skew": "3.78",
    "share": "0.4892",
    "tail_down": "-25,331.53",
    "tail": "-65,192.64",
    "max_loss": "77,500.00",
    "remaining": "80,350.00",
    "credit": "22,500.00",
    "book_theta": "661.98",
    "target": "8,947.26",
    "budget": "4,500.00",
    "theta_budget": "198.59",
    "vcs_debit": "86.00",
    "vcs_natural": "90.00",
    "vcs_payoff": "277.91",
    "vcs_theta": "-1.73",
    "pdg_debit": "3,480.00",
    "pdg_natural": "3,550.00",
    "pdg_payoff": "2,744.27",
    "pdg_theta": "-2.19",
    "n_vcs": "11",
    "n_pdg": "1",
    "cover": "5,801.22",
    "debit": "4,426.00",
    "plan_theta": "-21.16",
    "share_after": "0.527",
    "vcs_limit": "0.87",
    "pdg_limit": "34.85",
}


# ---- the builders of evaluate's inputs ---------------------------------------------------------
def contract(tclass: str, expiry: date, strike: float, right: Right) -> Contract:
    symbol = "VIX" if tclass == "VIX" else "SPX"
    return Contract(symbol, SecType.OPTION, tclass, expiry, float(strike), right)


def closes() -> list[float]:
    """The 60 daily closes before today, oldest first."""
    out = [FLAT_CLOSE] * FLAT_SESSIONS
    for _ in range(ZIGZAG_PAIRS):
        out.append(out[-1] - DOWN_PTS)
        out.append(out[-1] + UP_PTS)
    return out


def sessions() -> list[date]:
    days: list[date] = []
    d = NOW.date()
    for _ in closes():
        d = previous_session(d)
        days.append(d)
    return days[::-1]


def snapshot() -> MarketSnapshot:
    days = sessions()
    positions = tuple(
        Position(contract("SPXW", E1, k, r), sign * CONDOR_UNITS, cost)
        for k, r, sign, cost in CONDOR
    )
    return MarketSnapshot(
        now=NOW,
        account_id="DU0000000",
        is_paper=True,
        positions=positions,
        spx=Quote(None, None, NOW, last=SPOT),
        vix=Quote(None, None, NOW, last=VIX),
        vix3m=Quote(None, None, NOW, last=VIX3M),
        vix_futures={EV: Quote(VIX_FUTURE_BID, VIX_FUTURE_ASK, NOW)},
        options=tuple(
            OptionQuote(contract(tc, e, k, r), Quote(b, a, NOW)) for tc, e, k, r, b, a in QUOTES
        ),
        spx_history=tuple(DailyBar(d, c) for d, c in zip(days, closes(), strict=True)),
        breadth_history=tuple(BreadthDay(d, ADVANCING, DECLINING, UNCHANGED) for d in days),
        events=EVENTS,
    )


@cache
def result() -> CycleResult:
    return evaluate(snapshot(), None, PARAMS, NOW)


@cache
def view() -> MarketView:
    return build_market_view(snapshot(), PARAMS)


@cache
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


# ---- the hand computation ------------------------------------------------------------------------
def years(expiry: date, settle: time) -> float:
    """ACT/365 from now to the settlement instant."""
    return (datetime.combine(expiry, settle, NY) - NOW) / timedelta(days=365)


T1, T2, TV = years(E1, time(16)), years(E2, time(16)), years(EV, time(9, 30))
MID = {(tc, e, float(k), r): 0.5 * (b + a) for tc, e, k, r, b, a in QUOTES}


def forward(expiry: date, t: float) -> float:
    """Put-call parity on the one strike quoted both ways: F = K + (C - P) / D."""
    return 5000 + (MID[("SPXW", expiry, 5000, C)] - MID[("SPXW", expiry, 5000, P)]) / math.exp(
        -RATE * t
    )


F1, F2, FV = forward(E1, T1), forward(E2, T2), 0.5 * (VIX_FUTURE_BID + VIX_FUTURE_ASK)
UNDERLYING = {E1: (F1, T1), E2: (F2, T2), EV: (FV, TV)}


def iv(tclass: str, expiry: date, strike: float, right: Right) -> float:
    f, t = UNDERLYING[expiry]
    mid = MID[(tclass, expiry, strike, right)]
    return float(vollib_iv(mid, f, strike, RATE, t, right.value.lower()))


def greek(fn: object, tclass: str, expiry: date, strike: float, right: Right) -> float:
    f, t = UNDERLYING[expiry]
    sigma = iv(tclass, expiry, strike, right)
    return float(fn(right.value.lower(), f, strike, t, RATE, sigma))  # type: ignore[operator]


Key = tuple[str, date, float, Right]  # (class, expiry, strike, right)


# The VIX April future's beta at 30 DTE, read by hand off the default table: between
# (22, 0.69) and (36, 0.53), 0.69 - 0.16 x 8/14.
VIX_BETA_30D = 0.69 - 0.16 * 8 / 14
VIX_OPTION_VOL_SHOCK = 0.18  # the default scenario.vix_option_vol_shock_pts, decimal
DOWN = (-0.07, 15.0)  # the hedge scenario: SPX move, VIX spot shock (points)
UP = (0.06, -6.5)  # the rally with a vol crush


def stress_pnl_usd(legs: list[tuple[Key, int]], move: tuple[float, float] = DOWN) -> float:
    """Instantaneous stress by full repricing (vollib): SPX forward x (1 + move), each SPX
    leg's vol + sqrt(30 / dte) x shock pts; in the down move the VIX future + the hand beta
    x 15 and VIX option vols + 18 points; USD for the leg counts given."""
    spx_move, shock = move
    total = 0.0
    for (tc, e, k, r), n in legs:
        f, t = UNDERLYING[e]
        sigma = iv(tc, e, k, r)
        if tc == "VIX":
            assert move == DOWN  # VIX legs are hedges, valued in the hedge scenario only
            f_new, s_new = f + VIX_BETA_30D * shock, sigma + VIX_OPTION_VOL_SHOCK
        else:
            beta = min(1.5, max(0.3, math.sqrt(30 / (e - NOW.date()).days)))
            f_new, s_new = (1 + spx_move) * f, sigma + beta * shock / 100
        flag = r.value.lower()
        change = vollib_black(flag, f_new, k, t, RATE, s_new) - vollib_black(
            flag, f, k, t, RATE, sigma
        )
        total += 100 * n * change
    return total


def theta_usd(legs: list[tuple[Key, int]]) -> float:
    """vollib's theta (per calendar day, as the daemon's) x 100 x count, summed."""
    return 100 * math.fsum(n * greek(vollib_theta, *key) for key, n in legs)


def piecewise(x: float, points: list[tuple[float, float]]) -> float:
    """The text's maps: straight lines between breakpoints, flat beyond the ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, z0), (x1, z1) in pairwise(points):
        if x <= x1:
            return z0 + (x - x0) / (x1 - x0) * (z1 - z0)
    return points[-1][1]


def reading(name: str) -> tuple[float, float, float]:
    (r,) = [r for r in result().readings if r.name == name]
    assert r.raw is not None and r.z is not None
    return r.raw, r.z, r.contribution


VCS: list[tuple[Key, int]] = [(("VIX", EV, 23.0, C), 1), (("VIX", EV, 29.0, C), -1)]
PDG: list[tuple[Key, int]] = [(("SPXW", E1, 4600.0, P), -1), (("SPXW", E2, 4650.0, P), 1)]
BOOK: list[tuple[Key, int]] = [
    (("SPXW", E1, float(k), r), sign * CONDOR_UNITS) for k, r, sign, _ in CONDOR
]
