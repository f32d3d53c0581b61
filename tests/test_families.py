"""The hedge-family seam: a third family, defined here and registered through
``daemon.core.families``' API alone, is recognised in the book, bounded in the stress,
offered to the overlay, bought and rolled by the proposal, and quoted by the snapshot,
without a line changed anywhere else. The table is restored after each test."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum

import pytest

from daemon.config import SnapshotParams
from daemon.core.candidates import CandidateSearch, collect, nearest_index, priced
from daemon.core.evaluate import CycleStatus, evaluate
from daemon.core.families import (
    FAMILIES,
    families,
    family_of,
    register,
    registered,
    unregister,
)
from daemon.core.families.base import CandidateContext, HedgeFamily, HeldHedge, QuoteContext
from daemon.core.market import MarketView, OptionView, build_market_view
from daemon.core.models import Contract, Position, Right, SecType
from daemon.core.params import ModelParams, RollParams
from daemon.core.proposal import AdjustmentAction
from daemon.core.recognition import recognise
from daemon.core.risk import book_risk
from daemon.core.structures import Pool, Structure, StructureKind, match_verticals
from daemon.runtime.snapshot import SnapshotTaker
from tests.core.test_evaluate import NEAR, NOW, PARAMS, Market, build, condor_positions

# ---- a third family: SPX put debit spreads (long a put, short a lower one, same expiry) ----
PUT_SPREAD = StructureKind("TEST_SPX_PUT_SPREAD", "TPS")
ROLL_BEFORE_DTE = 60  # every spread of the test market (46 days) is due
QUOTE_DTE = 200  # the snapshot must quote the listed expiry nearest this


class PutSpreadRoll(StrEnum):
    DTE = "roll_test_put_spread"


class PutSpreads(HedgeFamily):
    kind = PUT_SPREAD
    symbol = "SPX"
    counts_as_vix = False
    note_name = "PS"

    def recognise(self, pool: Pool) -> list[Structure]:
        return match_verticals(pool, PUT_SPREAD, "SPX", Right.PUT, anchor_short=False)

    def find_candidates(
        self, view: MarketView, now: datetime, params: ModelParams, ctx: CandidateContext
    ) -> CandidateSearch:
        """At the front income expiry: long the put nearest -0.25 delta and its two
        neighbours, each short the put 100 points lower."""
        if ctx.condor_expiry is None:
            return CandidateSearch((), ("no income expiry",))
        puts = [
            v
            for v in priced(view.chain("SPXW", ctx.condor_expiry), Right.PUT)
            if v.contract.key not in ctx.avoid_keys
        ]
        by_strike = {v.contract.strike: v for v in puts}
        at = nearest_index([v.delta or 0.0 for v in puts], -0.25)
        pairs: list[tuple[OptionView, OptionView]] = []
        for long in puts[max(at - 1, 0) : at + 2]:
            short = by_strike.get((long.contract.strike or 0.0) - 100.0)
            if short is not None:
                pairs.append((long, short))
        return collect(PUT_SPREAD, pairs, view, now, params, is_vix=False)

    def roll_rule(self, hedge: HeldHedge, roll: RollParams) -> StrEnum | None:
        return PutSpreadRoll.DTE if hedge.dte_days < ROLL_BEFORE_DTE else None

    def max_loss_usd(self, s: Structure, credit_usd: float) -> float | None:
        return max(0.0, -credit_usd)

    def remaining_max_loss_usd(self, s: Structure, mark_usd: float) -> float | None:
        return max(0.0, mark_usd)

    def quote_expiries(
        self, listed: Mapping[str, Sequence[date]], ctx: QuoteContext
    ) -> set[tuple[str, date]]:
        days = listed.get("SPXW", ())
        best = min(days, key=lambda d: abs((d - ctx.today).days - QUOTE_DTE), default=None)
        return set() if best is None else {("SPXW", best)}


FAMILY = PutSpreads()
M = Market()


@pytest.fixture
def with_put_spreads() -> Iterator[None]:
    with registered(FAMILY):
        yield


@pytest.fixture
def only_put_spreads() -> Iterator[None]:
    """The test family alone: the real ones unregistered, then put back in their order."""
    saved = families()
    for f in saved:
        unregister(f)
    try:
        with registered(FAMILY):
            yield
    finally:
        for f in saved:
            register(f)
        assert families() == saved


def spxw_put(strike: float, expiry: date = NEAR) -> Contract:
    return Contract("SPX", SecType.OPTION, "SPXW", expiry, strike, Right.PUT)


def put_spread(long_k: float, short_k: float, quantity: int) -> list[Position]:
    """A debit put spread opened at today's mids (IB's avg cost, positive)."""
    long, short = spxw_put(long_k), spxw_put(short_k)
    return [
        Position(long, quantity, 100 * M.spx_mid(long, NOW)),
        Position(short, -quantity, 100 * M.spx_mid(short, NOW)),
    ]


# ---- the tests ------------------------------------------------------------------------------
def test_the_registry_api_guards_and_restores_the_table() -> None:
    """``registered`` adds the family for its block only; an income kind or a kind already
    registered is refused; ``family_of`` finds a hedge kind and refuses an income one."""
    before = families()
    with registered(FAMILY):
        assert families() == (*before, FAMILY)
        assert family_of(PUT_SPREAD) is FAMILY
        with pytest.raises(ValueError, match="already registered"):
            register(PutSpreads())
    assert families() == before and FAMILY not in FAMILIES
    with pytest.raises(KeyError):
        family_of(PUT_SPREAD)
    with pytest.raises(KeyError):
        family_of(StructureKind.IRON_CONDOR)


@pytest.mark.usefixtures("with_put_spreads")
def test_a_registered_family_is_recognised_and_bounded_in_the_stress() -> None:
    """Two put debit spreads beside the condors (below the condors' long put, so the book
    decomposes one way only) are a hedge of the new kind (without the family they are
    unrecognised legs); their max loss is the debit paid, and their crash P&L is
    positive (a long put spread pays when SPX falls)."""
    positions = condor_positions(M, NOW) + put_spread(4600.0, 4500.0, 2)
    book = recognise(positions)
    (spread,) = [s for s in book.hedges if s.kind is PUT_SPREAD]
    assert spread.quantity == 2 and not book.unrecognised
    risk = book_risk(book, build_market_view(build(positions=positions), PARAMS), PARAMS)
    (r,) = risk.hedges
    debit = 2 * (100 * M.spx_mid(spxw_put(4600.0), NOW) - 100 * M.spx_mid(spxw_put(4500.0), NOW))
    assert r.credit_usd == pytest.approx(-debit, rel=1e-12)
    assert r.max_loss_usd == pytest.approx(debit, rel=1e-12)
    assert r.stress_pnl_usd is not None and r.stress_pnl_usd > 0
    assert risk.hedge_payoff_usd == r.stress_pnl_usd
    unregister(FAMILY)
    try:
        assert {p.contract for p in recognise(positions).unrecognised} == {
            spxw_put(4600.0),
            spxw_put(4500.0),
        }
    finally:
        register(FAMILY)


@pytest.mark.usefixtures("only_put_spreads")
def test_the_overlay_buys_the_registered_family_and_the_proposal_opens_it() -> None:
    """The only family registered is the new one: the plan's cover is bought in it, every
    leg away from the condor's contracts, and proposed as OPENs of its kind."""
    result = evaluate(build(), None, PARAMS, NOW)
    assert result.status is CycleStatus.OK, result.reason
    assert result.plan is not None and result.plan.chosen
    assert {c.kind for c, _ in result.plan.chosen} == {PUT_SPREAD}
    income = {p.contract.key for p in condor_positions(M, NOW)}
    assert not {leg.contract.key for c, _ in result.plan.chosen for leg in c.legs} & income
    assert result.adjustments
    assert {(a.action, a.kind) for a in result.adjustments} == {(AdjustmentAction.OPEN, PUT_SPREAD)}


@pytest.mark.usefixtures("only_put_spreads")
def test_a_due_spread_of_the_registered_family_is_rolled_by_its_own_rule() -> None:
    """A held spread due by the family's own roll rule (46 days < 60) is rolled to the
    plan's spread of the same family, the adjustment carrying the family's rule."""
    held = put_spread(4600.0, 4500.0, 1)
    result = evaluate(build(positions=condor_positions(M, NOW) + held), None, PARAMS, NOW)
    assert result.status is CycleStatus.OK, result.reason
    assert result.plan is not None and result.plan.held_payoff_usd == 0.0  # due: not counted
    (roll,) = [a for a in result.adjustments if a.action is AdjustmentAction.ROLL]
    assert roll.kind is PUT_SPREAD and roll.reason["rule"] == "roll_test_put_spread"
    _, successor = roll.structure_key.split(" -> ")
    assert successor in {c.key for c, _ in result.plan.chosen if c.kind is PUT_SPREAD}


class _Listings:
    """A broker that lists expiries only: what the snapshot's expiry choice asks."""

    def __init__(self, days: list[date]) -> None:
        self.days = days

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        return self.days if trading_class == "SPXW" else []


def test_the_snapshot_quotes_what_a_registered_family_asks_for() -> None:
    """The expiry the new family asks for (nearest 200 days) is quoted only while it is
    registered: the snapshot asks each family, it knows none by name."""
    today = date(2026, 3, 2)
    far = date(2026, 9, 18)  # 200 days out
    listed = [date(2026, 3, 20), date(2026, 4, 17), far]
    taker = SnapshotTaker(_Listings(listed), ModelParams(), SnapshotParams(), ())  # type: ignore[arg-type]
    assert far not in {d for _, d in asyncio.run(taker._spx_expiries(today, []))}
    with registered(FAMILY):
        assert ("SPXW", far) in asyncio.run(taker._spx_expiries(today, []))


def test_a_kind_is_one_object_per_name_across_definitions_and_pickling() -> None:
    """Defining a kind again with the same abbreviation gives the same object (``is``
    compares kinds), differently is refused, and a pickled kind (replay workers) comes
    back as that object; it serialises as its name."""
    assert StructureKind("TEST_SPX_PUT_SPREAD", "TPS") is PUT_SPREAD
    with pytest.raises(ValueError, match="already defined"):
        StructureKind("TEST_SPX_PUT_SPREAD", "XYZ")
    assert pickle.loads(pickle.dumps(PUT_SPREAD)) is PUT_SPREAD
    assert json.dumps({"kind": PUT_SPREAD}) == '{"kind": "TEST_SPX_PUT_SPREAD"}'
    assert PUT_SPREAD.is_hedge and StructureKind.IRON_CONDOR.is_income
