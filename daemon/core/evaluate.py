"""The one front door of the core: one cycle's snapshot in, one ``CycleResult`` out.

``evaluate(snapshot, state, params, now)`` runs the model's steps in order (see
docs/model.md):

    validate the market view -> recognise the book -> book risk (layer 1)
    -> signals -> scalar (layer 2) -> skew and VIX share -> overlay (layer 3)
    -> proposal

Legs the broker still lists after their series settled (expiry day) are valued at
settlement and set aside before the book is recognised (``MarketView.settled_keys``,
``Book.settled``; docs/reliability.md): they are neither a data problem nor hedged.

Each step that cannot go on stops the cycle with a status and a reason, and proposes
nothing: invalid market data (``DATA_INVALID``), a held structure (income or hedge) that
cannot be priced (``UNPRICED_BOOK``), too many signals unavailable
(``INSUFFICIENT_SIGNALS``). With no income structure at all the cycle still scores the
market; within ``proposal.book_gap_grace_sessions`` sessions of the last session the
journal saw an income structure (``history.income_last_seen``) it keeps every hedge and
proposes nothing (an expiring condor and the next one are days apart); past the grace,
or with no such session known, the target is zero and it proposes closing any hedge left
over (``OK``: a hedge without a book is a bet).

``UNPRICED_BOOK`` is a guard no snapshot the market view accepts reaches today: a held leg
without a quote, a forward or a vol, and an index level missing or at or below zero, are
already fatal data problems (``DATA_INVALID``). It stays so that a future path to a
structure without its stress payoff stops the cycle rather than sizing hedges on part of
the book (tests/core/test_evaluate_wiring.py drives it with an incomplete risk). Past it
every hedge is priced, so the overlay and the proposal never see an unpriced one; the
record's ``unpriced_hedges`` list, once meant for hedges set aside, is always empty and
kept only so the journal's rows keep one shape (decision of issue 11).

``history`` (``BookHistory``) is what the runtime reads from its journal for the budget:
the debit paid for hedges over the last ``budget.spend_window_sessions`` sessions, which
with the cost basis of the hedges held bounds what the overlay may spend
(``overlay.HedgeSpent``). The overlay runs once without the hedges due to roll, so its
plan includes their successors; if the proposal must keep a due hedge for want of a
successor (rule 2 of ``proposal.py``), it runs again with that hedge counted as held, so
the budget counts what the hedge cost.

The result carries the scalar state to persist (``state``): ``None`` when the scalar did
not move, so the previous state stays the one on disk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from daemon.core.cycle_inputs import BookHistory, held_hedges, signal_inputs, trading_day
from daemon.core.market import DataProblem, MarketView, build_market_view
from daemon.core.models import MarketSnapshot
from daemon.core.overlay import HedgeSpent, OverlayPlan, plan_overlay
from daemon.core.params import ModelParams
from daemon.core.plain import to_plain
from daemon.core.proposal import (
    Adjustment,
    HeldHedge,
    Proposal,
    build_proposal,
    kept_due,
)
from daemon.core.proposal_rules import staying
from daemon.core.recognition import recognise
from daemon.core.risk import BookRisk, book_risk
from daemon.core.scalar import ScalarResult, ScalarState, update_scalar
from daemon.core.signals import CustomSignal, SignalReading, compute_signals
from daemon.core.signals.skew import chain_skew_pts, vix_share

# No journal: no spend over the window, and the income book never seen (no grace).
NO_HISTORY = BookHistory()


class CycleStatus(StrEnum):
    OK = "ok"
    DATA_INVALID = "data_invalid"
    UNPRICED_BOOK = "unpriced_book"
    INSUFFICIENT_SIGNALS = "insufficient_signals"


@dataclass(frozen=True)
class CycleResult:
    """Everything one cycle decided, and why. ``to_json()`` is the journal's record."""

    now: datetime
    trading_day: date
    status: CycleStatus
    reason: str
    problems: tuple[DataProblem, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)
    readings: tuple[SignalReading, ...] = ()
    scalar: ScalarResult | None = None
    risk: BookRisk | None = None
    skew_pts: float | None = None
    vix_share_target: float | None = None
    plan: OverlayPlan | None = None
    proposal: Proposal | None = None

    @property
    def adjustments(self) -> tuple[Adjustment, ...]:
        return () if self.proposal is None else self.proposal.adjustments

    @property
    def state(self) -> ScalarState | None:
        """The scalar state to persist, or None when the scalar did not move."""
        if self.scalar is None or self.scalar.insufficient:
            return None
        return self.scalar.state

    def to_json(self) -> dict[str, Any]:
        """The journal's record (``plain.to_plain`` of each part, the readings as
        "signals", and the ``unpriced_hedges`` key the rows have always had)."""
        return {
            "now": self.now.isoformat(),
            "trading_day": self.trading_day.isoformat(),
            "status": self.status.value,
            "reason": self.reason,
            "problems": to_plain(self.problems),
            "inputs": to_plain(self.inputs),
            "signals": to_plain(self.readings),
            "scalar": to_plain(self.scalar),
            "risk": to_plain(self.risk),
            "skew_pts": to_plain(self.skew_pts),
            "vix_share_target": to_plain(self.vix_share_target),
            "plan": to_plain(self.plan),
            "proposal": to_plain(self.proposal),
            # Always empty: an unpriced hedge stops the cycle (UNPRICED_BOOK) before any
            # plan. The key stays so every row of the journal keeps one shape.
            "unpriced_hedges": [],
        }


def _inputs_summary(snapshot: MarketSnapshot, view: MarketView) -> dict[str, Any]:
    """What the journal keeps of the inputs: enough to ask later what the market was."""
    return {
        "account_paper": snapshot.is_paper,
        "spx": view.spot,
        "vix": view.vix,
        "vix3m": view.vix3m,
        "vix_futures": {d.isoformat(): q.mid for d, q in sorted(snapshot.vix_futures.items())},
        "positions": len(snapshot.positions),
        "option_quotes": len(snapshot.options),
        "spx_history_sessions": len(snapshot.spx_history),
        "breadth_sessions": len(snapshot.breadth_history),
    }


def _problems_text(problems: Sequence[DataProblem]) -> str:
    shown = "; ".join(f"{p.code.value} {p.instrument}: {p.detail}" for p in problems[:5])
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return shown + more


def evaluate(
    snapshot: MarketSnapshot,
    state: ScalarState | None,
    params: ModelParams,
    now: datetime,
    extra_signals: Sequence[CustomSignal] = (),
    history: BookHistory = NO_HISTORY,
) -> CycleResult:
    """One cycle of the model; see the module docstring."""
    day = trading_day(now)
    view = build_market_view(snapshot, params)
    base = CycleResult(
        now=now,
        trading_day=day,
        status=CycleStatus.OK,
        reason="",
        problems=tuple(view.problems),
        inputs=_inputs_summary(snapshot, view),
    )
    if not view.is_valid:
        reason = "market data did not validate: " + _problems_text(view.fatal_problems)
        return replace(base, status=CycleStatus.DATA_INVALID, reason=reason)

    book = recognise(snapshot.positions, view.settled_keys)
    risk = book_risk(book, view, params)
    inputs = signal_inputs(snapshot, view, book, params, now)
    readings = compute_signals(inputs, params.signals, extra_signals)
    scalar = update_scalar(readings, state, params.scalar, now)
    scored = replace(base, readings=readings, scalar=scalar, risk=risk)
    if scalar.insufficient or scalar.value is None:
        return replace(scored, status=CycleStatus.INSUFFICIENT_SIGNALS, reason=scalar.detail)
    if not risk.complete:
        # Any held structure, income or hedge: without its stress payoff the cover held,
        # and so what to add, is unknown.
        not_priced = [r for r in (*risk.income, *risk.hedges) if not r.priced]
        reason = "book not priced: " + "; ".join(
            f"{r.label} ({r.missing_reason})" for r in not_priced
        )
        return replace(scored, status=CycleStatus.UNPRICED_BOOK, reason=reason)

    skew = None if inputs.skew is None else chain_skew_pts(inputs.skew, params.signals.skew)
    share = vix_share(skew if skew is not None else _neutral_skew(params), params.signals.skew)
    held = held_hedges(book, risk, view, now)
    scalar_value = scalar.value
    avoid = frozenset(leg.contract.key for s in book.income for leg in s.legs)
    window_usd = history.window_debit_usd(day, params.budget.spend_window_sessions)

    def plan_for(keep: frozenset[str]) -> OverlayPlan:
        kept = staying(held, params.proposal, keep)
        return plan_overlay(
            view,
            risk,
            scalar_value,
            share,
            now,
            params,
            held_payoff_usd=math.fsum(h.payoff_usd * h.structure.quantity for h in kept),
            avoid_keys=avoid,
            spent=_spent(kept, window_usd),
        )

    plan = plan_for(frozenset())
    keep = kept_due(plan, held, params.proposal)
    if keep:
        plan = plan_for(keep)
    hold = _book_gap_hold(not book.income, history, day, params)
    near_max = risk.hedge_hold_reason
    proposal = build_proposal(
        plan, held, scalar, params.proposal, params.ticks, day,
        keep_due=keep, hold=hold, keep_hedges_reason=near_max,
    )  # fmt: skip
    held_note = "" if near_max is None else f"; {near_max}"
    return replace(
        scored,
        reason=f"{len(proposal.adjustments)} adjustment(s); overlay {plan.status.value}{held_note}",
        skew_pts=skew,
        vix_share_target=share,
        plan=plan,
        proposal=proposal,
    )


def _spent(kept: Sequence[HeldHedge], window_usd: float) -> HedgeSpent:
    """What the hedges that stay, and the recent orders, use of the budget."""
    return HedgeSpent(
        held_debit_usd=math.fsum(h.cost_basis_usd * h.structure.quantity for h in kept),
        held_carry_usd_per_day=math.fsum(
            max(-h.theta_usd_per_day, 0.0) * h.structure.quantity for h in kept
        ),
        window_debit_usd=window_usd,
    )


def _book_gap_hold(
    book_empty: bool, history: BookHistory, day: date, params: ModelParams
) -> str | None:
    """Why the hedges are kept this cycle (the book-gap grace), or None."""
    if not book_empty:
        return None
    gap = history.gap_sessions(day)
    grace = params.proposal.book_gap_grace_sessions
    if gap is None or gap > grace:
        return None
    return (
        f"income book empty, last held {history.income_last_seen} ({gap} of {grace} grace"
        " session(s)): hedges kept until a new book opens or the grace ends"
    )


def _neutral_skew(params: ModelParams) -> float:
    """Without a readable smile the share falls back to the map's middle breakpoint: the
    skew a trader would call ordinary, rather than either extreme."""
    points = params.signals.skew.breakpoints
    return points[len(points) // 2][0]
