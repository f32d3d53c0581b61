"""Hand-built adjustments and cycle results for the alert tests: one per adjustment kind,
with the compact line each must read as (written by hand, not printed by the code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from daemon.core.adjustment import Adjustment, AdjustmentAction
from daemon.core.calendar import NY
from daemon.core.candidates import LegSpec
from daemon.core.evaluate import CycleResult, CycleStatus
from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.families.vix_call_spread import VIX_CALL_SPREAD
from daemon.core.models import Action
from daemon.core.proposal import Proposal, ProposalStatus
from daemon.core.structures import StructureKind
from daemon.runtime.notify.port import Notification
from tests.core.factories import spx_option, vix_option

T0 = datetime(2026, 11, 24, 10, 5, tzinfo=NY)
BUY, SELL = Action.BUY, Action.SELL
JAN, DEC = date(2027, 1, 20), date(2026, 12, 16)


def adjustment(
    action: AdjustmentAction,
    quantity: int,
    legs: tuple[tuple[Action, object], ...],
    limit: float,
    mid: float,
    rule: str,
    scalar: float,
    kind: StructureKind = VIX_CALL_SPREAD,
    adj_id: str | None = None,
) -> Adjustment:
    specs = tuple(LegSpec(contract, 1, side) for side, contract in legs)  # type: ignore[arg-type]
    return Adjustment(
        id=adj_id or f"{action.value}-{quantity}-{rule}",
        action=action,
        kind=kind,
        structure_key=" / ".join(s.label for s in specs),
        legs=specs,
        quantity=quantity,
        limit_price_usd=limit,
        mid_price_usd=mid,
        natural_price_usd=limit + 0.05,
        reason={"rule": rule, "scalar": {"value": scalar, "components": {}}, "detail": "x" * 300},
    )


VIX_OPEN = (BUY, vix_option(22, expiry=JAN)), (SELL, vix_option(31, expiry=JAN))
VIX_SHUT = (SELL, vix_option(22, expiry=JAN)), (BUY, vix_option(31, expiry=JAN))

# (adjustment, the line a trader reads), one per kind.
KINDS: dict[str, tuple[Adjustment, str]] = {
    "open": (
        adjustment(AdjustmentAction.OPEN, 15, VIX_OPEN, 0.48, 0.47, "cover", 1.48),
        "OPEN 15 x VIX 20-Jan-27 22/31 call spread @ 0.48 (mid 0.47)  cover  scalar 1.48",
    ),
    "add": (
        adjustment(AdjustmentAction.ADD, 5, VIX_OPEN, 0.5, 0.47, "cover", 1.6),
        "ADD 5 x VIX 20-Jan-27 22/31 call spread @ 0.50 (mid 0.47)  cover  scalar 1.60",
    ),
    "reduce": (
        adjustment(AdjustmentAction.REDUCE, 4, VIX_SHUT, -0.3, -0.32, "over_target", 0.9),
        "REDUCE 4 x VIX 20-Jan-27 22/31 call spread @ 0.30 cr (mid 0.32 cr)  over_target"
        "  scalar 0.90",
    ),
    "close": (
        adjustment(
            AdjustmentAction.CLOSE,
            3,
            (
                (BUY, spx_option(5600, "P", date(2026, 12, 18))),
                (SELL, spx_option(5500, "P", date(2027, 1, 15), trading_class="SPX")),
            ),
            -12.4,
            -12.55,
            "expiring_close",
            1.1,
            kind=SPX_PUT_DIAGONAL,
        ),
        "CLOSE 3 x SPXW 18-Dec-26 5600 / SPX 15-Jan-27 5500 put diagonal @ 12.40 cr"
        " (mid 12.55 cr)  expiring_close  scalar 1.10",
    ),
    "roll": (
        adjustment(
            AdjustmentAction.ROLL,
            10,
            (
                (SELL, vix_option(20, expiry=DEC)),
                (BUY, vix_option(30, expiry=DEC)),
                *VIX_OPEN,
            ),
            0.15,
            0.12,
            "roll_vix_dte",
            1.48,
        ),
        "ROLL 10 x VIX 16-Dec-26 20/30 -> 20-Jan-27 22/31 call spread @ 0.15 (mid 0.12)"
        "  roll_vix_dte  scalar 1.48",
    ),
}


def result(
    now: datetime,
    adjustments: tuple[Adjustment, ...],
    status: CycleStatus = CycleStatus.OK,
    proposal_status: ProposalStatus | None = None,
) -> CycleResult:
    """A cycle that proposed ``adjustments`` (status ok unless told)."""
    chosen = proposal_status or (
        ProposalStatus.CHANGES if adjustments else ProposalStatus.NO_CHANGE
    )
    proposal = Proposal(chosen, adjustments, (), (), 1.0, 0.0, 0.0)
    return CycleResult(now, now.date(), status, "", proposal=proposal)


@dataclass
class Recorder:
    """An inline sink that keeps what it is sent."""

    name: str = "recorder"
    off_path: bool = False
    got: list[Notification] = field(default_factory=list)

    def send(self, note: Notification) -> None:
        self.got.append(note)

    def events(self) -> list[str]:
        return [n.event.value for n in self.got]
