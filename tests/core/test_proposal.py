"""The proposal: rolls, covers, reductions, hysteresis, ids and limit prices."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.adjustment import limit_price_usd
from daemon.core.candidates import Candidate, LegSpec, candidate_key
from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.families.vix_call_spread import VIX_CALL_SPREAD
from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.overlay import OverlayPlan, OverlayStatus
from daemon.core.params import ProposalParams, ScalarParams, TickParams
from daemon.core.plain import to_plain
from daemon.core.proposal import (
    AdjustmentAction,
    HeldHedge,
    Proposal,
    ProposalStatus,
    build_proposal,
    staying_payoff_usd,
)
from daemon.core.scalar import ScalarResult, update_scalar
from daemon.core.signals import SignalReading, UnavailableReason
from daemon.core.structures import Leg, Structure, StructureKind

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=NY)
PARAMS = ProposalParams()
TICKS = TickParams()
VCS = VIX_CALL_SPREAD
PDG = SPX_PUT_DIAGONAL


def vix_call(expiry: date, strike: float) -> Contract:
    return Contract("VIX", SecType.OPTION, "VIX", expiry, strike, Right.CALL)


def spx_put(expiry: date, strike: float) -> Contract:
    return Contract("SPX", SecType.OPTION, "SPXW", expiry, strike, Right.PUT)


def held(
    kind: StructureKind,
    signed_legs: list[tuple[Contract, int]],
    quantity: int,
    *,
    payoff: float = 1000.0,
    mark: float = 300.0,
    natural_close: float | None = None,
    dte: int = 40,
    short_sessions: int | None = None,
) -> HeldHedge:
    """A held hedge; numbers per unit, USD. Diagonals default to a far short leg."""
    if kind is PDG and short_sessions is None:
        short_sessions = 20
    legs = tuple(Leg(c, q) for c, q in signed_legs)
    return HeldHedge(
        structure=Structure(kind, legs, quantity),
        payoff_usd=payoff,
        mark_usd=mark,
        natural_close_usd=mark - 20.0 if natural_close is None else natural_close,
        theta_usd_per_day=-5.0,
        dte_days=dte,
        short_sessions_to_expiry=short_sessions,
    )


def candidate(
    kind: StructureKind,
    signed_legs: list[tuple[Contract, int]],
    *,
    debit: float = 237.0,
    natural: float = 260.0,
    payoff: float = 1000.0,
) -> Candidate:
    """A hedge candidate; numbers per unit, USD, multiplier included."""
    legs = tuple(LegSpec(c, abs(q), Action.BUY if q > 0 else Action.SELL) for c, q in signed_legs)
    return Candidate(
        key=candidate_key(legs),
        kind=kind,
        legs=legs,
        debit_usd=debit,
        natural_debit_usd=natural,
        payoff_usd=payoff,
        theta_usd_per_day=-4.0,
        dte_days=45,
        is_vix=kind is VCS,
    )


def plan(chosen: list[tuple[Candidate, int]], target: float, held_usd: float = 0.0) -> OverlayPlan:
    """An overlay plan as ``size_overlay`` returns it: ``chosen`` are additions to held."""
    new = sum(c.payoff_usd * n for c, n in chosen)
    status = OverlayStatus.OK if chosen else OverlayStatus.NOTHING_NEEDED
    return OverlayPlan(
        target_payoff_usd=target,
        held_payoff_usd=held_usd,
        needed_payoff_usd=max(target - held_usd, 0.0),
        vix_share_target=0.6,
        chosen=tuple(chosen),
        payoff_after_usd=held_usd + new,
        debit_usd=sum(c.debit_usd * n for c, n in chosen),
        theta_usd_per_day=sum(c.theta_usd_per_day * n for c, n in chosen),
        budget_debit_usd=1e9,
        budget_theta_usd_per_day=1e9,
        status=status,
        detail="test plan",
    )


def scalar(insufficient: bool = False) -> ScalarResult:
    """A scalar result from real readings; ``insufficient`` makes four signals missing."""

    def ok(name: str, z: float) -> SignalReading:
        return SignalReading(name, z, z, 0.25, 0.25 * z, None, "")

    def gone(name: str) -> SignalReading:
        return SignalReading(name, None, None, 0.25, 0.0, UnavailableReason.NO_DATA, "none")

    readings: tuple[SignalReading, ...] = (ok("rsi", 0.4), ok("term", 0.2))
    if insufficient:
        readings += tuple(gone(f"m{i}") for i in range(4))
    return update_scalar(readings, None, ScalarParams(), NOW)


APR, MAY, JUN = date(2026, 4, 15), date(2026, 5, 20), date(2026, 6, 19)
VCS_APR = [(vix_call(APR, 20), 1), (vix_call(APR, 30), -1)]
VCS_APR_22 = [(vix_call(APR, 22), 1), (vix_call(APR, 32), -1)]
VCS_MAY = [(vix_call(MAY, 20), 1), (vix_call(MAY, 30), -1)]


def propose(
    the_plan: OverlayPlan, hedges: list[HeldHedge], today: date = TODAY, **kw: float
) -> Proposal:
    params = PARAMS.model_copy(update=kw) if kw else PARAMS
    return build_proposal(the_plan, tuple(hedges), scalar(), params, TICKS, today)


def test_hysteresis_suppresses_a_one_contract_wobble() -> None:
    """Adding 1 unit to 10 held (below 15% of 11) is suppressed and listed, not proposed."""
    hedge = held(VCS, VCS_APR, 10)
    same = candidate(VCS, VCS_APR)
    result = propose(plan([(same, 1)], 11_000.0, 10_000.0), [hedge])
    assert result.status is ProposalStatus.NO_CHANGE
    assert result.adjustments == ()
    assert [(s.action, s.quantity) for s in result.suppressed] == [(AdjustmentAction.ADD, 1)]
    assert result.suppressed[0].threshold_units == pytest.approx(0.15 * 11)


def test_hysteresis_groups_neighbouring_strikes() -> None:
    """A 1-lot at a neighbouring strike beside a 10-lot is the same wobble: suppressed."""
    hedge = held(VCS, VCS_APR, 10)
    neighbour = candidate(VCS, VCS_APR_22)
    result = propose(plan([(neighbour, 1)], 11_000.0, 10_000.0), [hedge])
    assert result.adjustments == ()
    assert result.suppressed[0].action is AdjustmentAction.OPEN


def test_change_beyond_the_band_is_proposed() -> None:
    """Adding 3 to 10 held (3 >= 0.15 x 13) is an ADD; a new structure alone is an OPEN."""
    hedge = held(VCS, VCS_APR, 10)
    same = candidate(VCS, VCS_APR)
    added = propose(plan([(same, 3)], 13_000.0, 10_000.0), [hedge])
    assert [(a.action, a.quantity) for a in added.adjustments] == [(AdjustmentAction.ADD, 3)]
    assert added.coverage_after_usd == pytest.approx(13_000.0)
    fresh = propose(plan([(same, 2)], 2_000.0), [])
    assert [(a.action, a.quantity) for a in fresh.adjustments] == [(AdjustmentAction.OPEN, 2)]


def test_vix_spread_at_roll_dte_is_rolled() -> None:
    """A VIX spread under roll.vix_min_dte_days rolls into the plan's successor in one combo."""
    due = held(VCS, VCS_APR, 4, dte=PARAMS.roll.vix_min_dte_days - 1, mark=150.0)
    successor = candidate(VCS, VCS_MAY, debit=320.0, natural=345.0)
    result = propose(plan([(successor, 4)], 4_000.0), [due])
    (roll,) = result.adjustments
    assert (roll.action, roll.quantity) == (AdjustmentAction.ROLL, 4)
    legs = {(leg.contract.key, leg.action, leg.ratio) for leg in roll.legs}
    assert legs == {
        ("VIX 2026-04-15 20 C", Action.SELL, 1),
        ("VIX 2026-04-15 30 C", Action.BUY, 1),
        ("VIX 2026-05-20 20 C", Action.BUY, 1),
        ("VIX 2026-05-20 30 C", Action.SELL, 1),
    }
    # Net per share: 3.20 paid for the new spread minus 1.50 received for the old one.
    assert roll.mid_price_usd == pytest.approx(1.70)


def test_vix_spread_at_the_roll_threshold_stays() -> None:
    """At exactly roll.vix_min_dte_days the spread is not yet due."""
    hedge = held(VCS, VCS_APR, 4, dte=PARAMS.roll.vix_min_dte_days)
    assert staying_payoff_usd((hedge,), PARAMS) == pytest.approx(4_000.0)
    result = propose(plan([], 4_000.0, 4_000.0), [hedge])
    assert result.adjustments == ()


def test_due_hedge_without_successor_is_closed() -> None:
    """A due hedge with no successor chosen is closed, and a partial successor splits it."""
    due = held(VCS, VCS_APR, 5, dte=3)
    alone = propose(plan([], 0.0), [due])
    assert [(a.action, a.quantity) for a in alone.adjustments] == [(AdjustmentAction.CLOSE, 5)]
    successor = candidate(VCS, VCS_MAY)
    split = propose(plan([(successor, 3)], 3_000.0), [due])
    assert [(a.action, a.quantity) for a in split.adjustments] == [
        (AdjustmentAction.ROLL, 3),
        (AdjustmentAction.REDUCE, 2),
    ]


def test_diagonal_short_leg_roll_nets_the_shared_long() -> None:
    """A diagonal whose short leg expires next session rolls; the unchanged long leg nets out."""
    long_put = spx_put(JUN, 5000)
    due = held(PDG, [(spx_put(APR, 4950), -1), (long_put, 1)], 2, short_sessions=1, mark=900.0)
    successor = candidate(
        PDG, [(spx_put(MAY, 4950), -1), (long_put, 1)], debit=700.0, natural=730.0
    )
    result = propose(plan([(successor, 2)], 2_000.0), [due])
    (roll,) = result.adjustments
    assert roll.action is AdjustmentAction.ROLL
    assert [(leg.contract.key, leg.action) for leg in roll.legs] == [
        ("SPXW 2026-04-15 4950 P", Action.BUY),
        ("SPXW 2026-05-20 4950 P", Action.SELL),
    ]
    # Net: pay 7.00 for the new diagonal, receive 9.00 for the old one: a 2.00 credit at mid,
    # 1.50 at natural (7.30 - 8.80); one 0.05 tick toward natural gives a 1.95 credit.
    assert roll.limit_price_usd == pytest.approx(-1.95)


def test_scalar_halving_reduces_dearest_first() -> None:
    """Target halves: the hedge with the highest mark per USD of payoff is shed first."""
    cheap = held(VCS, VCS_APR, 10, payoff=1000.0, mark=300.0)
    dear = held(PDG, [(spx_put(APR, 4950), -1), (spx_put(JUN, 5000), 1)], 10, mark=500.0)
    result = propose(plan([], 10_000.0, 20_000.0), [cheap, dear])
    assert [(a.action, a.kind, a.quantity) for a in result.adjustments] == [
        (AdjustmentAction.CLOSE, PDG, 10)
    ]
    assert result.coverage_after_usd == pytest.approx(10_000.0)
    # With less of the dear hedge, the rest of the excess comes from the cheaper one.
    dear6 = held(PDG, [(spx_put(APR, 4950), -1), (spx_put(JUN, 5000), 1)], 6, mark=500.0)
    result = propose(plan([], 8_000.0, 16_000.0), [cheap, dear6])
    assert [(a.action, a.kind, a.quantity) for a in result.adjustments] == [
        (AdjustmentAction.CLOSE, PDG, 6),
        (AdjustmentAction.REDUCE, VCS, 2),
    ]
    assert result.adjustments[1].limit_price_usd < 0  # closing receives a credit


def test_within_band_no_reduction() -> None:
    """Coverage above target by less than the band is left alone."""
    hedge = held(VCS, VCS_APR, 11)
    result = propose(plan([], 10_000.0, 11_000.0), [hedge])
    assert result.adjustments == () and result.suppressed == ()


@settings(max_examples=40, deadline=None)
@given(
    hedges=st.lists(
        st.tuples(st.integers(1, 20), st.floats(100.0, 5000.0), st.floats(10.0, 3000.0)),
        min_size=1,
        max_size=5,
    ),
    target_frac=st.floats(0.0, 1.0),
)
def test_reduction_stays_at_or_above_target_and_near_it(
    hedges: list[tuple[int, float, float]], target_frac: float
) -> None:
    """Reductions never cut coverage below target, and no remaining unit could go too."""
    book = [
        held(VCS, [(vix_call(APR, 20 + i), 1), (vix_call(APR, 40 + i), -1)], q, payoff=p, mark=m)
        for i, (q, p, m) in enumerate(hedges)
    ]
    before = sum(q * p for q, p, _ in hedges)
    target = target_frac * before
    result = propose(plan([], target, before), book, min_change_frac=0.0)
    assert result.coverage_after_usd >= target - 1e-6 * before
    removed = {a.structure_key: a.quantity for a in result.adjustments}
    for hedge in book:
        left = hedge.structure.quantity - removed.get(hedge.structure.id, 0)
        if left > 0:  # removing one more unit would cross the target
            assert result.coverage_after_usd - hedge.payoff_usd < target + 1e-6 * before


def test_ids_are_deterministic_and_day_dependent() -> None:
    """Same input, same ids; another trading day or size, other ids."""
    cand = candidate(VCS, VCS_APR)
    p = plan([(cand, 2)], 2_000.0)
    first = propose(p, [])
    again = propose(p, [])
    tomorrow = propose(p, [], today=date(2026, 3, 3))
    bigger = propose(plan([(cand, 3)], 3_000.0), [])
    assert first.adjustments[0].id == again.adjustments[0].id
    assert len(first.adjustments[0].id) == 16
    int(first.adjustments[0].id, 16)
    assert tomorrow.adjustments[0].id != first.adjustments[0].id
    assert bigger.adjustments[0].id != first.adjustments[0].id


def on_grid(price: float, tick: float) -> bool:
    return abs(price / tick - round(price / tick)) < 1e-9


def test_limit_price_hand_examples() -> None:
    """Hand-computed: mid moved one tick toward natural, rounded up, never past natural."""
    # SPX combo tick 0.05: debit mid 2.37 -> 2.42 -> 2.45 (natural 2.60).
    assert limit_price_usd(237.0, 260.0, 100, "SPX", 1, TICKS) == pytest.approx(2.45)
    # Closing credit: mid -1.52, natural -1.30 -> -1.47 -> -1.45 (a smaller credit).
    assert limit_price_usd(-152.0, -130.0, 100, "SPX", 1, TICKS) == pytest.approx(-1.45)
    # VIX combo tick 0.01: 0.875 -> 0.885 -> 0.89.
    assert limit_price_usd(87.5, 95.0, 100, "VIX", 1, TICKS) == pytest.approx(0.89)
    # Offset larger than the spread: capped at natural 2.40.
    assert limit_price_usd(237.0, 240.0, 100, "SPX", 5, TICKS) == pytest.approx(2.40)


@settings(max_examples=80, deadline=None)
@given(
    mid_cents=st.integers(-2000, 2000),
    spread_cents=st.integers(0, 300),
    symbol=st.sampled_from(["SPX", "VIX"]),
    offset=st.integers(0, 5),
    half=st.booleans(),
)
def test_limit_price_on_grid_between_mid_and_natural(
    mid_cents: int, spread_cents: int, symbol: str, offset: int, half: bool
) -> None:
    """Whenever a grid point lies in [mid, natural] the limit is one, on the combo grid."""
    tick = TICKS.spx.combo_usd if symbol == "SPX" else TICKS.vix.combo_usd
    mid = (mid_cents + (0.5 if half else 0.0)) / 100.0
    natural = mid + spread_cents / 100.0
    limit = limit_price_usd(mid * 100, natural * 100, 100, symbol, offset, TICKS)
    assert on_grid(limit, tick)
    if math.floor(natural / tick + 1e-9) * tick >= mid - 1e-9:
        assert mid - 1e-9 <= limit <= natural + 1e-9


def test_proposed_limits_between_mid_and_natural() -> None:
    """Each adjustment's limit is on its combo grid and between its mid and natural."""
    due = held(VCS, VCS_APR, 4, dte=5, mark=150.0, natural_close=120.0)
    successor = candidate(VCS, VCS_MAY, debit=321.0, natural=350.0)
    diag = candidate(
        PDG, [(spx_put(MAY, 4900), -1), (spx_put(JUN, 4950), 1)], debit=1234.0, natural=1290.0
    )
    result = propose(plan([(successor, 4), (diag, 3)], 7_000.0), [due])
    assert len(result.adjustments) == 2
    for adj in result.adjustments:
        tick = TICKS.vix.combo_usd if adj.kind is VCS else TICKS.spx.combo_usd
        assert on_grid(adj.limit_price_usd, tick)
        assert adj.mid_price_usd <= adj.limit_price_usd <= adj.natural_price_usd


def test_insufficient_scalar_proposes_nothing() -> None:
    """Too many missing signals: no adjustments, and the due roll is noted as deferred."""
    due = held(VCS, VCS_APR, 4, dte=3)
    successor = candidate(VCS, VCS_MAY)
    result = build_proposal(
        plan([(successor, 4)], 4_000.0), (due,), scalar(insufficient=True), PARAMS, TICKS, TODAY
    )
    assert result.status is ProposalStatus.INSUFFICIENT_DATA
    assert result.adjustments == ()
    assert any("roll deferred" in n for n in result.notes)


def test_proposal_json_round_trips() -> None:
    """The journal form (``to_plain``) is plain JSON: json.dumps then json.loads gives it
    back unchanged."""
    cheap = held(VCS, VCS_APR, 10, dte=4)
    dear = held(PDG, [(spx_put(APR, 4950), -1), (spx_put(JUN, 5000), 1)], 10, mark=500.0)
    successor = candidate(VCS, VCS_MAY)
    result = propose(
        plan([(successor, 10), (candidate(VCS, VCS_APR_22), 1)], 5_000.0), [cheap, dear]
    )
    data = to_plain(result)
    assert json.loads(json.dumps(data)) == data
    assert data["adjustments"] and data["adjustments"][0]["reason"]["scalar"]["components"]
