"""The worked example of docs/model.md, rebuilt from the numbers printed in its text.

The snapshot below is the one the text describes (quotes, book, history, calendar); the
tests check that the text's tables are these very numbers, that ``evaluate`` produces
the results the text states (to the rounding the text shows), and that those results
agree with an independent computation: the hand formulas the text gives, vollib's
Black-76 for implied vols, deltas, thetas and the stress repricing, TA-Lib for RSI and
MACD, and a brute-force enumeration for the integer program.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import talib
from vollib.black import black as vollib_black
from vollib.black.greeks.analytical import delta as vollib_delta
from vollib.black.greeks.analytical import theta as vollib_theta
from vollib.black.implied_volatility import implied_volatility as vollib_iv

from daemon.core.calendar import NY, previous_session
from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
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
from daemon.core.overlay import OverlayStatus
from daemon.core.params import DiagonalParams, ModelParams, VixSpreadParams
from daemon.core.proposal import AdjustmentAction

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
# Defaults, except one candidate per family so the integer program fits on paper.
PARAMS = ModelParams(
    vix=VixSpreadParams(neighbour_count=0), diagonal=DiagonalParams(neighbour_count=0)
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
    "rsi_z": "0.1488",
    "macd_line": "-24.11",
    "macd_signal": "-23.13",
    "macd_hist": "-0.978",
    "macd": "-0.1955",
    "macd_z": "0.0978",
    "breadth": "-0.0200",
    "breadth_z": "0.4000",
    "term": "0.9750",
    "term_z": "0.2500",
    "rv": "14.58",
    "rv_iv": "-4.92",
    "rv_iv_z": "-0.3076",
    "events": "0.5000",
    "events_z": "0.5000",
    "sigmas_put": "1.0744",
    "sigmas_call": "1.0071",
    "proximity_z": "0.6572",
    "scalar": "1.4772",
    "atm_iv": "16.00",
    "put25_iv": "19.78",
    "skew": "3.78",
    "share": "0.4892",
    "tail": "-25,331.53",
    "max_loss": "77,500.00",
    "credit": "22,500.00",
    "book_theta": "661.98",
    "target": "9,355.23",
    "budget": "4,500.00",
    "theta_budget": "198.59",
    "vcs_debit": "86.00",
    "vcs_natural": "90.00",
    "vcs_payoff": "302.91",
    "vcs_theta": "-1.73",
    "pdg_debit": "3,480.00",
    "pdg_natural": "3,550.00",
    "pdg_payoff": "2,744.27",
    "pdg_theta": "-2.19",
    "n_vcs": "11",
    "n_pdg": "1",
    "cover": "6,076.26",
    "debit": "4,426.00",
    "plan_theta": "-21.16",
    "share_after": "0.548",
    "vcs_limit": "0.87",
    "pdg_limit": "34.85",
}


def _digits(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def shown(value: float, key: str) -> None:
    """``value`` printed the way the text prints ``STATED[key]`` equals it."""
    text = STATED[key]
    grouped = "," in text
    printed = f"{value:,.{_digits(text)}f}" if grouped else f"{value:.{_digits(text)}f}"
    assert printed == text, f"{key}: computed {value!r} prints as {printed}, text says {text}"


# ---- the snapshot ------------------------------------------------------------------------------
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


def stress_pnl_usd(legs: list[tuple[Key, int]]) -> float:
    """Instantaneous stress by full repricing (vollib): SPX forward x 0.93, each SPX leg's
    vol + sqrt(30 / dte) x 15 pts; VIX future + 0.6 x 15; USD for the leg counts given."""
    total = 0.0
    for (tc, e, k, r), n in legs:
        f, t = UNDERLYING[e]
        sigma = iv(tc, e, k, r)
        if tc == "VIX":
            f_new, s_new = f + 0.6 * 15.0, sigma
        else:
            beta = min(1.5, max(0.3, math.sqrt(30 / (e - NOW.date()).days)))
            f_new, s_new = 0.93 * f, sigma + beta * 0.15
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


# ---- the tests ---------------------------------------------------------------------------------
_ROW = re.compile(
    r"^\| (SPXW|VIX) (\d{4}-\d\d-\d\d) \| ([\d.]+) \| ([CP]) \| ([\d.]+) \| ([\d.]+) \| "
    r"([\d.]+) \| ([\d.]+) \| (-?[\d.]+) \|$",
    re.MULTILINE,
)


def test_text_quote_table_is_the_snapshot() -> None:
    """The text's quote table is this snapshot, its IV and delta columns vollib's."""
    rows = _ROW.findall(doc())
    assert len(rows) == len(QUOTES)
    for (tc, day, k, r, bid, ask, mid, iv_pct, delta), q in zip(rows, QUOTES, strict=True):
        assert (tc, date.fromisoformat(day), float(k), Right(r)) == q[:4]
        assert (float(bid), float(ask)) == q[4:]
        assert mid == f"{0.5 * (q[4] + q[5]):.2f}"
        assert iv_pct == f"{100 * iv(*q[:4]):.2f}"
        assert delta == f"{greek(vollib_delta, *q[:4]):.3f}"


def test_stated_numbers_appear_in_the_text() -> None:
    """Every number this module checks is printed in the text as stated here."""
    text = doc()
    missing = [f"{k}={v}" for k, v in STATED.items() if v not in text]
    assert not missing


def test_times_forwards_and_implied_vols() -> None:
    """T from the settlement instants, F from parity, IVs equal vollib's on the same mids."""
    shown(T1, "t1")
    shown(T2, "t2")
    shown(TV, "tv")
    shown(math.exp(-RATE * T1), "d1")
    shown(math.exp(-RATE * T2), "d2")
    shown(F1, "f1")
    shown(F2, "f2")
    by_date = {(e.trading_class, e.expiry): e for e in view().expiry_views}
    for (tc, e), (f, t) in {
        ("SPXW", E1): (F1, T1),
        ("SPXW", E2): (F2, T2),
        ("VIX", EV): (FV, TV),
    }.items():
        ev = by_date[(tc, e)]
        assert ev.reliable
        assert ev.t_years == pytest.approx(t, abs=1e-12)
        assert ev.forward == pytest.approx(f, abs=1e-9)
    for q in QUOTES:
        ov = view().option(contract(*q[:4]))
        assert ov is not None and ov.iv_sigma is not None
        assert ov.iv_sigma == pytest.approx(iv(*q[:4]), abs=1e-7)
    assert not view().problems


def test_signals_by_hand() -> None:
    """Each signal's raw value, z and contribution from the text's hand formulas."""
    q = 13 / 14
    rsi = 100 * UP_PTS / (UP_PTS + DOWN_PTS * q)  # the zig-zag's geometric sums cancel
    hand = {
        "rsi": (rsi, piecewise(rsi, [(25, 1), (50, 0), (75, -0.5)]), 0.25),
        "breadth": ((ADVANCING - DECLINING) / 3000, 0.4, 0.25),
        "term": (VIX / VIX3M, piecewise(VIX / VIX3M, [(0.85, -0.5), (0.95, 0), (1.05, 1)]), 0.25),
        "events": (1.0 * 0.5, 0.5, 0.2),  # FOMC in 2 sessions: weight 1 x proximity 0.5
    }
    returns = np.diff(np.log(closes()[-21:]))
    rv = 100 * math.sqrt(252) * float(np.std(returns, ddof=1))
    hand["rv_iv"] = (rv - VIX, piecewise(rv - VIX, [(-8, -0.5), (0, 0), (5, 1)]), 0.25)
    sqrt_t = math.sqrt(T1)
    put = -math.log(4650 / F1) / (iv("SPXW", E1, 4650, P) * sqrt_t)
    call = math.log(5200 / F1) / (iv("SPXW", E1, 5200, C) * sqrt_t)
    near = min(put, call)
    hand["proximity"] = (near, piecewise(near, [(0.75, 1), (1.5, 0), (2.5, -0.5)]), 0.35)
    for name, (raw, z, weight) in hand.items():
        got = reading(name)
        assert got == pytest.approx((raw, z, weight * z), abs=1e-9), name
    shown(rsi, "rsi")
    shown(hand["rsi"][1], "rsi_z")
    shown(hand["breadth"][0], "breadth")
    shown(hand["breadth"][1], "breadth_z")
    shown(hand["term"][0], "term")
    shown(hand["term"][1], "term_z")
    shown(rv, "rv")
    shown(rv - VIX, "rv_iv")
    shown(hand["rv_iv"][1], "rv_iv_z")
    shown(0.5, "events")
    shown(0.5, "events_z")
    shown(put, "sigmas_put")
    shown(call, "sigmas_call")
    shown(hand["proximity"][1], "proximity_z")


def test_rsi_and_macd_match_talib() -> None:
    """RSI(14) and MACD(12,26,9) on the closes plus today's live 5000 equal TA-Lib's."""
    series = np.array([*closes(), SPOT])
    assert reading("rsi")[0] == pytest.approx(talib.RSI(series, 14)[-1], abs=1e-9)
    line, signal, hist = (a[-1] for a in talib.MACD(series, 12, 26, 9))
    shown(line, "macd_line")
    shown(signal, "macd_signal")
    shown(hist, "macd_hist")
    raw = hist / SPOT * 1000
    shown(raw, "macd")
    # No bearish cross in the last 3 sessions: the histogram stays below zero throughout.
    assert np.all(talib.MACD(series, 12, 26, 9)[2][-4:] < 0)
    z = piecewise(raw, [(-2, 1), (0, 0), (2, -0.5)])
    assert reading("macd") == pytest.approx((raw, z, 0.25 * z), abs=1e-9)
    shown(z, "macd_z")


def test_scalar_is_one_plus_the_contributions() -> None:
    """First cycle: the scalar is 1 + sum of the seven contributions, inside [0.5, 2.5]."""
    scalar = result().scalar
    assert scalar is not None and scalar.value is not None
    total = 1 + math.fsum(reading(n)[2] for n in ("rsi", "macd", "breadth", "term", "rv_iv"))
    total += reading("events")[2] + reading("proximity")[2]
    assert scalar.raw == pytest.approx(total, abs=1e-12)
    assert scalar.value == scalar.raw  # first cycle starts at the (unclipped here) raw
    shown(scalar.value, "scalar")


def test_skew_and_vix_share_by_hand() -> None:
    """ATM IV at F by strike, 25-delta put IV by delta, share from the 2/6/10 map."""
    atm = np.interp(F1, [5000, 5050], [iv("SPXW", E1, 5000, P), iv("SPXW", E1, 5050, P)])
    d_lo, d_hi = (greek(vollib_delta, "SPXW", E1, k, P) for k in (4800, 4850))
    w = (-0.25 - d_lo) / (d_hi - d_lo)
    put25 = iv("SPXW", E1, 4800, P) + w * (iv("SPXW", E1, 4850, P) - iv("SPXW", E1, 4800, P))
    skew = 100 * (put25 - atm)
    share = piecewise(skew, [(2, 0.4), (6, 0.6), (10, 0.75)])
    assert result().skew_pts == pytest.approx(skew, abs=1e-6)
    assert result().vix_share_target == pytest.approx(share, abs=1e-8)
    shown(100 * atm, "atm_iv")
    shown(100 * put25, "put25_iv")
    shown(skew, "skew")
    shown(share, "share")


def test_tail_loss_and_target() -> None:
    """L by vollib repricing of the four legs (not capped: above max loss); H = 0.25 |L| s."""
    risk = result().risk
    scalar = result().scalar
    assert risk is not None and scalar is not None and scalar.value is not None
    tail = stress_pnl_usd(BOOK)
    max_loss = 100 * 100 * CONDOR_UNITS - 22_500
    assert -max_loss < tail < 0
    assert risk.tail_loss_usd == pytest.approx(tail, abs=1e-4)
    credit = math.fsum(-sign * CONDOR_UNITS * cost for _, _, sign, cost in CONDOR)
    assert risk.open_credit_usd == credit
    (condor,) = risk.income
    assert condor.max_loss_usd == max_loss
    theta = theta_usd(BOOK)
    assert risk.theta_usd_per_day == pytest.approx(theta, abs=1e-6)
    target = 0.25 * abs(tail) * scalar.value
    plan = result().plan
    assert plan is not None
    assert plan.target_payoff_usd == pytest.approx(target, abs=1e-4)
    shown(tail, "tail")
    shown(max_loss, "max_loss")
    shown(credit, "credit")
    shown(theta, "book_theta")
    shown(target, "target")
    shown(0.20 * credit, "budget")
    shown(0.30 * theta, "theta_budget")


def test_candidates_by_vollib() -> None:
    """Strikes chosen by delta; debit at mids, natural, stress payoff and theta per unit."""
    vix_calls = [k for tc, e, k, r, _, _ in QUOTES if tc == "VIX" and r is C]
    deltas = {k: greek(vollib_delta, "VIX", EV, k, C) for k in vix_calls}
    assert min(vix_calls, key=lambda k: abs(deltas[k] - 0.35)) == 23
    assert min(vix_calls, key=lambda k: abs(deltas[k] - 0.10)) == 29
    e2_puts = [k for tc, e, k, r, _, _ in QUOTES if e == E2 and r is P]
    assert min(e2_puts, key=lambda k: abs(greek(vollib_delta, "SPXW", E2, k, P) + 0.20)) == 4650
    plan = result().plan
    assert plan is not None
    found = {c.kind.value: c for c, _ in plan.chosen}
    quotes = {(tc, e, float(k), r): (b, a) for tc, e, k, r, b, a in QUOTES}
    for name, legs in (("vcs", VCS), ("pdg", PDG)):
        cand = found["VIX_CALL_SPREAD" if name == "vcs" else "SPX_PUT_DIAGONAL"]
        debit = 100 * math.fsum(n * MID[key] for key, n in legs)
        # Natural: pay the ask on what is bought, receive the bid on what is sold.
        natural = 100 * math.fsum(n * quotes[key][1 if n > 0 else 0] for key, n in legs)
        theta = theta_usd(legs)
        payoff = stress_pnl_usd(legs)
        assert cand.debit_usd == pytest.approx(debit, abs=1e-9)
        assert cand.natural_debit_usd == pytest.approx(natural, abs=1e-9)
        assert cand.payoff_usd == pytest.approx(payoff, abs=1e-4)
        assert cand.theta_usd_per_day == pytest.approx(theta, abs=1e-6)
        shown(debit, f"{name}_debit")
        shown(natural, f"{name}_natural")
        shown(payoff, f"{name}_payoff")
        shown(theta, f"{name}_theta")


def test_plan_by_enumeration() -> None:
    """Brute force over (n_vcs, n_pdg): the budget binds; most cover, then least debit."""
    risk, plan = result().risk, result().plan
    assert risk is not None and plan is not None
    p_v, p_d = stress_pnl_usd(VCS), stress_pnl_usd(PDG)
    c_v, c_d = 86.0, 3480.0
    k_v, k_d = -theta_usd(VCS), -theta_usd(PDG)  # carry per unit, USD per day
    share = result().vix_share_target
    assert share is not None
    budget, carry = 0.2 * risk.open_credit_usd, 0.3 * abs(risk.theta_usd_per_day)
    feasible = []
    for n_v in range(51):
        for n_d in range(51):
            cover = n_v * p_v + n_d * p_d
            if cover <= 0 or n_v * c_v + n_d * c_d > budget or n_v * k_v + n_d * k_d > carry:
                continue
            if abs(n_v * p_v / cover - share) <= 0.15 and cover <= abs(risk.tail_loss_usd):
                feasible.append((cover, -(n_v * c_v + n_d * c_d), n_v, n_d))
    best = max(feasible)
    assert best[0] < plan.target_payoff_usd  # the target is out of the budget's reach
    assert plan.status is OverlayStatus.BUDGET_BINDING
    chosen = {c.kind.value: n for c, n in plan.chosen}
    assert chosen == {"VIX_CALL_SPREAD": best[2], "SPX_PUT_DIAGONAL": best[3]}
    assert plan.payoff_after_usd == pytest.approx(best[0], abs=1e-4)
    assert plan.debit_usd == pytest.approx(-best[1], abs=1e-9)
    shown(best[2], "n_vcs")
    shown(best[3], "n_pdg")
    shown(best[0], "cover")
    shown(-best[1], "debit")
    shown(-(best[2] * k_v + best[3] * k_d), "plan_theta")
    shown(best[2] * p_v / best[0], "share_after")


def test_adjustments_limits_and_ids() -> None:
    """Two OPENs; limit = mid + 1 combo tick capped at the natural; ids by the text's recipe."""
    res = result()
    assert res.status is CycleStatus.OK
    by_kind = {a.kind.value: a for a in res.adjustments}
    assert set(by_kind) == {"VIX_CALL_SPREAD", "SPX_PUT_DIAGONAL"}
    vcs, pdg = by_kind["VIX_CALL_SPREAD"], by_kind["SPX_PUT_DIAGONAL"]
    assert vcs.action is pdg.action is AdjustmentAction.OPEN
    # VIX combos tick 0.01: 0.86 + 0.01 = 0.87 <= natural 0.90. SPX combos tick 0.05:
    # 34.80 + 0.05 = 34.85 <= natural 35.50.
    assert vcs.limit_price_usd == pytest.approx(min(0.86 + 0.01, 0.90), abs=1e-12)
    assert pdg.limit_price_usd == pytest.approx(min(34.80 + 0.05, 35.50), abs=1e-12)
    shown(vcs.limit_price_usd, "vcs_limit")
    shown(pdg.limit_price_usd, "pdg_limit")
    # The ids from the recipe texts printed in the text, computed here with hashlib.
    for a, recipe in ((vcs, RECIPES["vcs"]), (pdg, RECIPES["pdg"])):
        assert recipe in doc()
        assert a.id == hashlib.sha256(recipe.encode()).hexdigest()[:16]
        assert a.id in doc()
        assert json.loads(recipe) == [
            "2026-03-16",
            a.structure_key,
            [leg.label for leg in a.legs],
            a.quantity,
            a.action.value,
        ]
