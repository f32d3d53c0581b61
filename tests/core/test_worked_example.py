"""The worked example of docs/model.md, rebuilt from the numbers printed in its text.

The snapshot (tests/core/worked_example.py) is the one the text describes (quotes, book,
history, calendar); the tests check that the text's tables are these very numbers, that
``evaluate`` produces the results the text states (to the rounding the text shows), and
that those results agree with an independent computation: the hand formulas the text
gives, vollib's Black-76 for implied vols, deltas, thetas and the stress repricing, TA-Lib
for RSI and MACD, and a brute-force enumeration for the integer program.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date

import numpy as np
import pytest
import talib
from vollib.black.greeks.analytical import delta as vollib_delta

from daemon.core.evaluate import CycleStatus
from daemon.core.models import Right
from daemon.core.overlay import OverlayStatus
from daemon.core.proposal import AdjustmentAction
from tests.core.worked_example import (
    ADVANCING,
    BOOK,
    CONDOR,
    CONDOR_UNITS,
    DECLINING,
    DOWN_PTS,
    E1,
    E2,
    EV,
    F1,
    F2,
    FV,
    MID,
    PDG,
    QUOTES,
    RATE,
    RECIPES,
    SPOT,
    STATED,
    T1,
    T2,
    TV,
    UP,
    UP_PTS,
    VCS,
    VIX,
    VIX3M,
    C,
    P,
    closes,
    contract,
    doc,
    greek,
    iv,
    piecewise,
    reading,
    result,
    stress_pnl_usd,
    theta_usd,
    view,
)


def _digits(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def shown(value: float, key: str) -> None:
    """``value`` printed the way the text prints ``STATED[key]`` equals it."""
    text = STATED[key]
    grouped = "," in text
    printed = f"{value:,.{_digits(text)}f}" if grouped else f"{value:.{_digits(text)}f}"
    assert printed == text, f"{key}: computed {value!r} prints as {printed}, text says {text}"


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
        "rsi": (rsi, piecewise(rsi, [(34.4, 1), (54.6, 0), (70.2, -0.5)]), 0.25),
        "breadth": ((ADVANCING - DECLINING) / 3000, (0.044 + 0.02) / (0.044 + 0.224), 0.25),
        "term": (
            VIX / VIX3M,
            piecewise(VIX / VIX3M, [(0.8, -0.5), (0.887, 0), (1.017, 1)]),
            0.25,
        ),
        "events": (1.0 * 0.5, 0.5, 0.2),  # FOMC in 2 sessions: weight 1 x proximity 0.5
    }
    returns = np.diff(np.log(closes()[-21:]))
    rv = 100 * math.sqrt(252) * float(np.std(returns, ddof=1))
    hand["rv_iv"] = (rv - VIX, piecewise(rv - VIX, [(-10.2, -0.5), (-3.9, 0), (4.8, 1)]), 0.25)
    # Proximity: from spot, in ATM sigmas; ATM IV at the forward between the nearest
    # out-of-the-money strikes either side (the 5000 put and the 5200 call).
    sqrt_t = math.sqrt(T1)
    atm = np.interp(F1, [5000, 5200], [iv("SPXW", E1, 5000, P), iv("SPXW", E1, 5200, C)])
    put = math.log(SPOT / 4650) / (atm * sqrt_t)
    call = math.log(5200 / SPOT) / (atm * sqrt_t)
    near = min(put, call)
    hand["proximity"] = (near, piecewise(near, [(-0.37, 1), (0.77, 0), (2.18, -0.5)]), 0.35)
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
    shown(100 * atm, "prox_atm_iv")
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
    z = piecewise(raw, [(-5.49, 1), (-0.02, 0), (5.5, -0.5)])
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
    """L, the worse of the two moves by vollib repricing of the four legs (within the
    remaining max loss, so not capped); H = 0.25 |L| s."""
    risk = result().risk
    scalar = result().scalar
    assert risk is not None and scalar is not None and scalar.value is not None
    down, tail = stress_pnl_usd(BOOK), stress_pnl_usd(BOOK, UP)
    max_loss = 100 * 100 * CONDOR_UNITS - 22_500
    remaining = 100 * 100 * CONDOR_UNITS + 100 * math.fsum(n * MID[key] for key, n in BOOK)
    assert -remaining < tail < down < 0
    assert risk.shock_tail_losses_usd["down_vol_spike"] == pytest.approx(down, abs=1e-4)
    assert risk.binding_shock == "up_vol_crush"
    assert risk.tail_loss_usd == pytest.approx(tail, abs=1e-4)
    shown(down, "tail_down")
    shown(remaining, "remaining")
    credit = math.fsum(-sign * CONDOR_UNITS * cost for _, _, sign, cost in CONDOR)
    assert risk.open_credit_usd == credit
    (condor,) = risk.income
    assert condor.max_loss_usd == max_loss
    theta = theta_usd(BOOK)
    assert risk.theta_usd_per_day == pytest.approx(theta, abs=1e-6)
    # The target is sized on the hedge scenario (the crash), not on the rally that binds
    # the tail: the hedges pay nothing in a rally.
    target = 0.25 * abs(down) * scalar.value
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
