"""The front door end to end: ``evaluate`` on snapshots built here, independently of the
core's pricing (chains priced with vollib's Black-76 from a known forward and smile, VIX
options on a known future, a year of SPX closes and NYSE breadth, an event calendar and
an iron-condor book), checked against the model's invariants and its stop rules."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as vollib_black

from daemon.core.calendar import NY
from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
from daemon.core.models import (
    BreadthDay,
    Contract,
    DailyBar,
    EventKind,
    FeedKind,
    MarketEvent,
    MarketSnapshot,
    OptionQuote,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.params import BaseLayerParams, BudgetParams, ModelParams, OverlayParams
from daemon.core.proposal import Adjustment, AdjustmentAction, ProposalStatus
from daemon.core.scalar import ScalarState

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday, regular session
NEXT_DAY = NOW + timedelta(days=1)
NEAR = date(2026, 4, 17)  # SPXW, PM-settled: the condors' expiry
FAR = date(2026, 5, 15)  # SPXW, in the diagonals' 60-90 DTE window
VIX_APRIL = date(2026, 4, 15)  # VIX options and future, AM-settled
RATE = 0.04
DIVIDEND_YIELD = 0.013
HALF_SPREAD_FRAC = 0.01
MIN_MID_USD = 0.05  # strikes quoted below this are left out of the chain, as dealers do
PARAMS = ModelParams()
TOL_USD = 1e-6


# ---- an independent builder ------------------------------------------------------------------
def _years(expiry: date, settle: time, now: datetime) -> float:
    """ACT/365 years to a settlement instant (no holiday in these windows changes it)."""
    return (datetime.combine(expiry, settle, NY) - now) / timedelta(days=365)


def _spx_years(expiry: date, now: datetime) -> float:
    return _years(expiry, time(16, 0), now)  # SPXW settles at the 16:00 ET close


def _vix_years(now: datetime) -> float:
    return _years(VIX_APRIL, time(9, 30), now)  # VIX settles on the 09:30 ET SOQ


def _option(symbol: str, tclass: str, expiry: date, strike: float, right: Right) -> Contract:
    return Contract(symbol, SecType.OPTION, tclass, expiry, float(strike), right)


def _two_sided(mid: float, now: datetime) -> Quote:
    return Quote(mid * (1 - HALF_SPREAD_FRAC), mid * (1 + HALF_SPREAD_FRAC), now)


@dataclass(frozen=True)
class Market:
    """The levels one snapshot is built from (index points, vol points, decimal vols)."""

    spot: float = 5000.0
    vix: float = 18.0
    vix3m: float = 20.0
    vix_future: float = 19.5
    vix_option_sigma: float = 0.9
    skew_slope: float = -1.0  # d sigma / d ln(K/F): a put skew

    @property
    def atm_sigma(self) -> float:
        return 0.9 * self.vix / 100  # SPX ATM vol sits a little under VIX

    def forward(self, expiry: date, now: datetime) -> float:
        return self.spot * math.exp((RATE - DIVIDEND_YIELD) * _spx_years(expiry, now))

    def sigma(self, strike: float, forward: float) -> float:
        return max(0.06, self.atm_sigma + self.skew_slope * math.log(strike / forward))

    def spx_mid(self, contract: Contract, now: datetime) -> float:
        assert contract.expiry is not None and contract.strike is not None
        f = self.forward(contract.expiry, now)
        flag = "c" if contract.right is Right.CALL else "p"
        t = _spx_years(contract.expiry, now)
        return float(
            vollib_black(flag, f, contract.strike, t, RATE, self.sigma(contract.strike, f))
        )

    def vix_mid(self, strike: float, right: Right, now: datetime) -> float:
        flag = "c" if right is Right.CALL else "p"
        t = _vix_years(now)
        return float(vollib_black(flag, self.vix_future, strike, t, RATE, self.vix_option_sigma))

    def spx_strikes(self) -> list[float]:
        """Every 25 points from 20% below spot to 12% above, condor strikes included."""
        lo = 25 * math.floor(0.80 * self.spot / 25)
        hi = 25 * math.ceil(1.12 * self.spot / 25)
        return sorted({*map(float, range(lo, hi + 1, 25)), *self.condor_strikes()})

    def condor_strikes(self) -> tuple[float, float, float, float]:
        """Short put ~5% and short call ~4% out, 100-point wings, on the 25-point grid."""
        sp = 25 * round(0.95 * self.spot / 25)
        sc = 25 * round(1.04 * self.spot / 25)
        return (sp - 100.0, float(sp), float(sc), sc + 100.0)


def chain_quotes(m: Market, now: datetime) -> list[OptionQuote]:
    """SPXW calls and puts of both expiries and the April VIX calls and puts."""
    quotes: list[OptionQuote] = []
    held = set(m.condor_strikes())  # the broker always quotes a held leg
    for expiry in (NEAR, FAR):
        for k in m.spx_strikes():
            for right in (Right.CALL, Right.PUT):
                c = _option("SPX", "SPXW", expiry, k, right)
                mid = m.spx_mid(c, now)
                if mid >= MIN_MID_USD or (expiry == NEAR and k in held):
                    quotes.append(OptionQuote(c, _two_sided(mid, now)))
    lo, hi = max(1, math.floor(0.5 * m.vix_future)), math.ceil(2.6 * m.vix_future)
    for k in range(lo, hi + 1):
        for right in (Right.CALL, Right.PUT):
            mid = m.vix_mid(k, right, now)
            if mid >= MIN_MID_USD:
                c = _option("VIX", "VIX", VIX_APRIL, k, right)
                quotes.append(OptionQuote(c, _two_sided(mid, now)))
    return quotes


def weekdays_before(day: date, count: int) -> list[date]:
    """``count`` weekdays before ``day``, oldest first (holidays do not matter here)."""
    out: list[date] = []
    d = day
    while len(out) < count:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            out.append(d)
    return out[::-1]


def history(
    m: Market, now: datetime, sessions: int, seed: int = 7
) -> tuple[tuple[DailyBar, ...], tuple[BreadthDay, ...]]:
    """A random walk of SPX closes ending at spot (1% daily vol) and a breadth series."""
    rng = np.random.default_rng(seed)
    days = weekdays_before(now.date(), sessions)
    path = np.exp(np.cumsum(rng.normal(0.0, 0.01, sessions)))
    closes = m.spot * path / path[-1]
    advancing = rng.integers(1100, 1900, sessions)
    bars = tuple(DailyBar(d, float(c)) for d, c in zip(days, closes, strict=True))
    breadth = tuple(
        BreadthDay(d, int(a), int(3000 - a - 100), 100)
        for d, a in zip(days, advancing, strict=True)
    )
    return bars, breadth


def events(now: datetime) -> tuple[MarketEvent, ...]:
    today = now.date()
    return (
        MarketEvent(EventKind.CPI, today - timedelta(days=5)),  # past: ignored
        MarketEvent(EventKind.PPI, today + timedelta(days=2)),
        MarketEvent(EventKind.FOMC, today + timedelta(days=16)),
    )


def condor_positions(m: Market, now: datetime, quantity: int = 10) -> list[Position]:
    """``quantity`` condors opened at today's mids (avg cost = mid x 100, IB's convention)."""
    lp, sp, sc, lc = m.condor_strikes()
    legs = ((lp, Right.PUT, 1), (sp, Right.PUT, -1), (sc, Right.CALL, -1), (lc, Right.CALL, 1))
    out = []
    for k, right, sign in legs:
        c = _option("SPX", "SPXW", NEAR, k, right)
        out.append(Position(c, sign * quantity, 100 * m.spx_mid(c, now)))
    return out


def build(
    m: Market | None = None,
    now: datetime = NOW,
    positions: list[Position] | None = None,
    sessions: int = 320,
) -> MarketSnapshot:
    """The whole snapshot of one cycle, every quote stamped ``now``."""
    m = m or Market()
    bars, breadth = history(m, now, sessions)
    return MarketSnapshot(
        now=now,
        account_id="DU0000000",
        is_paper=True,
        positions=tuple(condor_positions(m, now) if positions is None else positions),
        spx=Quote(None, None, now, last=m.spot),
        vix=Quote(None, None, now, last=m.vix),
        vix3m=Quote(None, None, now, last=m.vix3m),
        vix_futures={VIX_APRIL: Quote(m.vix_future - 0.05, m.vix_future + 0.05, now)},
        options=tuple(chain_quotes(m, now)),
        spx_history=bars,
        breadth_history=breadth,
        events=events(now),
    )


@cache
def base_snapshot() -> MarketSnapshot:
    return build()


@cache
def base_result() -> CycleResult:
    return evaluate(base_snapshot(), None, PARAMS, NOW)


def open_credit_usd(positions: list[Position]) -> float:
    """Cash taken in at entry, from IB's avg costs: sells add, buys subtract."""
    return math.fsum(-p.quantity * abs(p.avg_cost_usd) for p in positions)


def condor_credit_usd(m: Market | None = None, now: datetime = NOW) -> float:
    return open_credit_usd(condor_positions(m or Market(), now))


# ---- the invariants ----------------------------------------------------------------------------
def assert_invariants(result: CycleResult, credit_usd: float, params: ModelParams) -> None:
    """Scalar bounds and sum, cap, budget and carry, JSON round trip of the ids;
    ``credit_usd`` is the condor book's open credit computed by the test."""
    assert result.status is CycleStatus.OK, result.reason
    scalar, risk, plan = result.scalar, result.risk, result.plan
    assert scalar is not None and scalar.value is not None
    assert risk is not None and plan is not None and result.proposal is not None
    bounds = params.scalar
    assert bounds.min_value <= scalar.value <= bounds.max_value
    assert bounds.min_value <= scalar.clipped_raw <= bounds.max_value
    # The components add up: raw = 1 + sum of w z over the signals that scored.
    contributions = [r.contribution for r in result.readings]
    assert scalar.raw == pytest.approx(1.0 + math.fsum(contributions), abs=1e-12)
    for r in result.readings:
        if r.unavailable is None:
            assert r.z is not None and -1.0 <= r.z <= 1.0
            assert r.contribution == pytest.approx(r.weight * r.z, abs=1e-15)
        else:
            assert r.contribution == 0.0
    # Never over-cover: what is held plus what is bought pays at most max_cover x |L|.
    assert risk.tail_loss_usd <= 0.0
    new_payoff = math.fsum(c.payoff_usd * n for c, n in plan.chosen)
    assert plan.payoff_after_usd == pytest.approx(plan.held_payoff_usd + new_payoff, abs=TOL_USD)
    cap = params.overlay.max_cover_frac * abs(risk.tail_loss_usd)
    assert plan.held_payoff_usd + new_payoff <= cap + TOL_USD
    # The carry budget, with the open credit recomputed from the condors' avg costs.
    debit = math.fsum(c.debit_usd * n for c, n in plan.chosen)
    assert plan.debit_usd == pytest.approx(debit, abs=TOL_USD)
    assert risk.open_credit_usd == pytest.approx(credit_usd, abs=TOL_USD)
    assert debit <= params.budget.max_debit_fraction * risk.open_credit_usd + TOL_USD
    carry = math.fsum(max(-c.theta_usd_per_day, 0.0) * n for c, n in plan.chosen)
    assert carry <= params.budget.max_theta_fraction * abs(risk.theta_usd_per_day) + TOL_USD
    for _, n in plan.chosen:
        assert 0 < n <= params.overlay.max_contracts
    # The journal record is plain JSON and carries the same ids.
    record = json.loads(json.dumps(result.to_json(), allow_nan=False))
    ids = [a["id"] for a in record["proposal"]["adjustments"]]
    assert ids == [a.id for a in result.adjustments]


# ---- tests -----------------------------------------------------------------------------------
def test_ok_cycle_holds_the_invariants() -> None:
    """A full cycle on an independent market: OK, scalar in bounds and additive, cap and budget."""
    result = base_result()
    assert_invariants(result, condor_credit_usd(), PARAMS)
    assert all(r.unavailable is None for r in result.readings)  # a year of data: all score
    assert result.adjustments, "an unhedged condor book gets hedges proposed"
    assert {a.action for a in result.adjustments} == {AdjustmentAction.OPEN}


def test_ids_stable_across_calls_and_json() -> None:
    """The same snapshot gives the same adjustment ids twice and after a JSON round trip."""
    first = base_result()
    second = evaluate(base_snapshot(), None, PARAMS, NOW)
    ids = [a.id for a in first.adjustments]
    assert ids and ids == [a.id for a in second.adjustments]
    assert len(set(ids)) == len(ids)
    record = json.loads(json.dumps(second.to_json()))
    assert [a["id"] for a in record["proposal"]["adjustments"]] == ids
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(
        second.to_json(), sort_keys=True
    )


def test_ids_change_the_next_day() -> None:
    """The same orders proposed on the next trading day get new ids (the day is in the hash)."""
    today = base_result()
    # Same market, one day on: same levels, quotes and book, restamped at the new time.
    tomorrow = evaluate(build(now=NEXT_DAY), None, PARAMS, NEXT_DAY)
    assert tomorrow.status is CycleStatus.OK

    def order(a: Adjustment) -> tuple[object, ...]:
        return (a.action, a.structure_key, a.legs, a.quantity)

    same = {order(a) for a in today.adjustments} & {order(a) for a in tomorrow.adjustments}
    assert same, "the comparison needs at least one identical order on both days"
    assert not {a.id for a in today.adjustments} & {a.id for a in tomorrow.adjustments}


def test_stale_spx_quote_is_data_invalid() -> None:
    """An SPX quote older than max_quote_age stops the cycle, names SPX, proposes nothing."""
    snap = base_snapshot()
    age = timedelta(seconds=PARAMS.validation.max_quote_age_s + 1)
    stale = replace(snap, spx=Quote(None, None, NOW - age, last=5000.0))
    result = evaluate(stale, None, PARAMS, NOW)
    assert result.status is CycleStatus.DATA_INVALID
    assert "STALE SPX:" in result.reason
    assert result.proposal is None and result.adjustments == ()
    assert result.state is None and result.scalar is None


@pytest.mark.parametrize(
    ("bid", "ask"),
    [(math.nan, 20.0), (21.0, 20.0)],
    ids=["nan", "crossed"],
)
def test_bad_quote_on_held_leg_is_data_invalid(bid: float, ask: float) -> None:
    """A NaN or crossed quote on a condor leg stops the cycle: the book cannot be valued."""
    snap = base_snapshot()
    held = snap.positions[1].contract  # the short put
    options = tuple(
        OptionQuote(q.contract, Quote(bid, ask, NOW)) if q.contract == held else q
        for q in snap.options
    )
    result = evaluate(replace(snap, options=options), None, PARAMS, NOW)
    assert result.status is CycleStatus.DATA_INVALID
    assert held.key in result.reason
    assert result.proposal is None and result.state is None


@pytest.mark.parametrize("previous", [None, ScalarState(1.3, NOW - timedelta(minutes=15), 1.3)])
def test_too_short_history_is_insufficient(previous: ScalarState | None) -> None:
    """5 sessions of history: 4 signals unavailable (> 3), no proposal, no state to persist."""
    snap = build(sessions=5)
    result = evaluate(snap, previous, PARAMS, NOW)
    assert result.status is CycleStatus.INSUFFICIENT_SIGNALS
    assert result.proposal is None and result.plan is None and result.adjustments == ()
    assert result.state is None
    missing = {r.name for r in result.readings if r.unavailable is not None}
    assert missing == {"rsi", "macd", "breadth", "rv_iv"}
    assert len(missing) > PARAMS.scalar.max_missing_count


def test_exactly_max_missing_still_proposes() -> None:
    """Three signals unavailable (no breadth, no VIX3M, no events) is not more than 3: OK."""
    snap = replace(base_snapshot(), breadth_history=(), vix3m=None, events=())
    result = evaluate(snap, None, PARAMS, NOW)
    assert result.scalar is not None
    assert {m.name for m in result.scalar.missing} == {"breadth", "term", "events"}
    assert_invariants(result, condor_credit_usd(), PARAMS)


def test_history_order_does_not_matter() -> None:
    """Daily history delivered newest first scores exactly as when delivered oldest first."""
    snap = base_snapshot()
    reversed_ = replace(
        snap, spx_history=snap.spx_history[::-1], breadth_history=snap.breadth_history[::-1]
    )
    result = evaluate(reversed_, None, PARAMS, NOW)
    assert [(r.name, r.raw) for r in result.readings] == [
        (r.name, r.raw) for r in base_result().readings
    ]


def _filled(snapshot: MarketSnapshot, result: CycleResult) -> MarketSnapshot:
    """The snapshot after every proposed order filled at its mid (positions merged per
    contract, as the broker reports them)."""
    qty: dict[Contract, int] = {p.contract: p.quantity for p in snapshot.positions}
    cost: dict[Contract, float] = {p.contract: p.avg_cost_usd for p in snapshot.positions}
    mids = {q.contract: q.quote.mid for q in snapshot.options}
    for a in result.adjustments:
        for leg in a.legs:
            c = next(k for k in mids if k.key == leg.contract.key)
            qty[c] = qty.get(c, 0) + leg.signed_ratio * a.quantity
            cost.setdefault(c, 100 * (mids[c] or 0.0))
    positions = tuple(Position(c, q, cost[c]) for c, q in qty.items() if q)
    return replace(snapshot, positions=positions)


def test_halved_target_reduces_the_hedges_held() -> None:
    """A book hedged at the full target, evaluated with base_ratio halved, sheds hedges."""
    # A budget that does not bind and no mix rule, so the first plan covers the whole target.
    roomy = PARAMS.model_copy(
        update={
            "budget": BudgetParams(max_debit_fraction=5.0, max_theta_fraction=5.0),
            "overlay": OverlayParams(mix_tolerance_frac=1.0),
        }
    )
    first = evaluate(base_snapshot(), None, roomy, NOW)
    assert first.plan is not None and first.plan.status.value == "ok"
    hedged = _filled(base_snapshot(), first)
    again = evaluate(hedged, None, roomy, NOW)
    assert again.status is CycleStatus.OK and again.proposal is not None
    assert again.proposal.status is ProposalStatus.NO_CHANGE  # hedged at the target: quiet
    halved = roomy.model_copy(update={"base": BaseLayerParams(base_ratio=0.125)})
    result = evaluate(hedged, None, halved, NOW)
    assert_invariants(result, condor_credit_usd(), halved)
    assert result.proposal is not None
    actions = [a.action for a in result.adjustments]
    assert AdjustmentAction.REDUCE in actions
    assert set(actions) <= {AdjustmentAction.REDUCE, AdjustmentAction.CLOSE}
    p = result.proposal
    assert p.coverage_after_usd < p.coverage_before_usd
    assert p.coverage_after_usd >= p.target_payoff_usd - TOL_USD


@settings(max_examples=6, deadline=None)
@given(
    spot=st.floats(3500.0, 6500.0),
    vix=st.floats(11.0, 45.0),
    term=st.floats(0.8, 1.15),
    basis=st.floats(0.9, 1.2),
)
def test_invariants_on_random_levels(spot: float, vix: float, term: float, basis: float) -> None:
    """Whatever the SPX and VIX levels, a cycle is OK and keeps every invariant."""
    m = Market(spot=spot, vix=vix, vix3m=vix / term, vix_future=vix * basis)
    snap = build(m)
    assert_invariants(evaluate(snap, None, PARAMS, NOW), condor_credit_usd(m), PARAMS)


@pytest.mark.parametrize("feed", [FeedKind.DELAYED, FeedKind.FROZEN, FeedKind.DELAYED_FROZEN])
def test_a_freshly_stamped_delayed_spx_quote_is_data_invalid(feed: FeedKind) -> None:
    """Delayed or frozen market data (IB 10167) stops the cycle though its stamp is now:
    the cycle names SPX as STALE and proposes nothing."""
    snap = base_snapshot()
    result = evaluate(replace(snap, spx=replace(snap.spx, feed=feed)), None, PARAMS, NOW)
    assert result.status is CycleStatus.DATA_INVALID
    assert "STALE SPX:" in result.reason and feed.value in result.reason
    assert result.adjustments == ()
