"""Issue 7 item 3: no hedge churn around an income expiry.

The book-gap grace (``proposal.book_gap_grace_sessions``), the diagonal's short expiry
chosen past expiring structures, and its minimum DTE. Oracles: the exchange calendar
counted by hand (sessions named in each test), and the proposal's actions.
"""

from __future__ import annotations

from datetime import date, datetime

from daemon.core.calendar import NY
from daemon.core.cycle_inputs import BookHistory
from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
from daemon.core.families.spx_put_diagonal import find_spx_put_diagonals
from daemon.core.market import build_market_view
from daemon.core.models import Action, MarketSnapshot, Position
from daemon.core.overlay import front_income_expiry
from daemon.core.params import ModelParams
from daemon.core.proposal import AdjustmentAction, ProposalStatus
from daemon.core.recognition import recognise
from daemon.core.risk import book_risk
from tests.core import factories as f
from tests.core.test_evaluate import NOW, PARAMS, Market, _filled, base_snapshot, build
from tests.core.test_evaluate import condor_positions as condors

SHEDDING = {AdjustmentAction.CLOSE, AdjustmentAction.REDUCE}
# Monday 2 March 2026 (NOW) the book is hedged; Tue 3 and Wed 4 March are the next sessions.
TUESDAY = datetime(2026, 3, 3, 11, 0, tzinfo=NY)
WEDNESDAY = datetime(2026, 3, 4, 11, 0, tzinfo=NY)
NEXT_MONDAY = datetime(2026, 3, 9, 11, 0, tzinfo=NY)  # 5 sessions after Mon 2 March


def _hedges_only() -> list[Position]:
    """The hedges a first cycle bought on NOW, filled at mids, without the condors."""
    first = evaluate(base_snapshot(), None, PARAMS, NOW)
    assert first.adjustments
    condor = {p.contract.key for p in base_snapshot().positions}
    hedged = _filled(base_snapshot(), first)
    return [p for p in hedged.positions if p.contract.key not in condor]


def _shed(result: CycleResult) -> list[AdjustmentAction]:
    return [a.action for a in result.adjustments if a.action in SHEDDING]


def test_a_condor_gap_of_two_sessions_closes_no_hedge() -> None:
    """The condors last seen Monday; Tuesday and Wednesday the book is empty, then a new
    condor opens on Wednesday: no cycle closes or reduces a hedge."""
    hedges, m = _hedges_only(), Market()
    seen_monday = BookHistory(income_last_seen=NOW.date())
    for now in (TUESDAY, WEDNESDAY):
        gap = evaluate(build(m, now, hedges), None, PARAMS, now, history=seen_monday)
        assert gap.status is CycleStatus.OK, gap.reason
        assert gap.proposal is not None
        assert gap.proposal.status is ProposalStatus.NO_CHANGE
        assert gap.adjustments == ()
        assert any("hedges kept" in n for n in gap.proposal.notes)
    reopened = build(m, WEDNESDAY, hedges + condors(m, WEDNESDAY))
    result = evaluate(reopened, None, PARAMS, WEDNESDAY, history=seen_monday)
    assert result.status is CycleStatus.OK
    assert _shed(result) == []


def test_past_the_grace_or_with_no_history_the_hedges_are_closed() -> None:
    """Five sessions after the book was last seen (grace 3), or with no record of a book
    at all, hedges without a book are a bet: every one is closed."""
    hedges, m = _hedges_only(), Market()
    held = len(recognise(hedges).hedges)
    for history in (BookHistory(income_last_seen=NOW.date()), BookHistory()):
        result = evaluate(build(m, NEXT_MONDAY, hedges), None, PARAMS, NEXT_MONDAY, history=history)
        assert [a.action for a in result.adjustments] == [AdjustmentAction.CLOSE] * held


# ---- the diagonal's short expiry ---------------------------------------------------------------
TODAY = f.NOW.date()  # Monday 2 March 2026
IN_2_DAYS, IN_7_DAYS = date(2026, 3, 4), date(2026, 3, 9)


def _market_with(expiries: list[date], positions: list[Position]) -> MarketSnapshot:
    """SPXW chains at ``expiries`` and at the far expiry (74 DTE, the diagonal's long leg)."""
    options = []
    for expiry in [*expiries, f.SPX_FAR_EXPIRY]:
        forward = f.spx_forward(f.SPOT, expiry)
        options += f.chain(f.strikes(4400, 5600, 25), forward, f.skew(), expiry)
    return f.snapshot(positions=positions, options=options)


def test_an_expiring_condor_is_not_the_front_expiry() -> None:
    """A condor expiring today (0 DTE) and one on 9 March: the front income expiry, where
    a new diagonal's short leg goes, is 9 March, not today."""
    book = f.iron_condor((4700, 4800, 5200, 5300), expiry=TODAY) + f.iron_condor(
        (4700, 4800, 5200, 5300), expiry=IN_7_DAYS
    )
    snap = _market_with([TODAY, IN_7_DAYS], book)
    params = ModelParams()
    risk = book_risk(recognise(snap.positions), build_market_view(snap, params), params)
    assert front_income_expiry(risk, f.NOW) == IN_7_DAYS


def test_the_short_leg_has_its_minimum_dte() -> None:
    """The condors expire in 2 days (4 March): the short leg goes to the first expiry at
    least diagonal.short_min_dte_days (5) away, 9 March, never to 4 March."""
    snap = _market_with([IN_2_DAYS, IN_7_DAYS], [])
    params = ModelParams()
    view = build_market_view(snap, params)
    found = find_spx_put_diagonals(view, f.NOW, IN_2_DAYS, params)
    assert found.candidates
    shorts = {
        leg.contract.expiry for c in found.candidates for leg in c.legs if leg.action is Action.SELL
    }
    assert shorts == {IN_7_DAYS}
