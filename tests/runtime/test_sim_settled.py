"""End to end on expiry morning: the simulated broker keeps listing a settled SPX monthly
condor (as IB does until its overnight processing) and the cycle still proposes, with
the settled legs valued apart and never traded (issue 12, item 12)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from daemon.brokers.sim import SimParams
from daemon.core.calendar import NY
from daemon.core.models import Position
from tests.runtime.engine_rig import open_rig, sim_params

# Thursday 17 Dec 2026 near the close; the December SPX monthly settles Friday 18 at 09:30.
EVE = datetime(2026, 12, 17, 15, 0, tzinfo=NY)
MONTHLY_DAY = "2026-12-18"
TO_FRIDAY_1000_MIN = (24 - 15 + 10) * 60.0


def _monthly_legs(positions: list[Position]) -> int:
    return len([p for p in positions if p.contract.trading_class == "SPX"])


def _params(keep_min: float) -> SimParams:
    book = [
        {"trading_class": "SPXW", "dte_days": 35, "quantity": 10},
        {"trading_class": "SPX", "dte_days": 1, "quantity": 5},
    ]
    return sim_params(book=book, faults={"keep_settled_positions_min": keep_min})


def test_expiry_morning_cycle_with_a_settled_position_still_listed_proposes(
    tmp_path: Path,
) -> None:
    """With the settled monthly still listed the 10:00 cycle is OK, not DATA_INVALID;
    the legs are valued at settlement and no adjustment touches them."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite", start=EVE, sim=_params(24 * 60))
        try:
            eve = await rig.cycle()
            morning = await rig.cycle(advance_min=TO_FRIDAY_1000_MIN)
            listed = await rig.broker.positions()
        finally:
            await rig.close()
        assert eve.status == "ok", eve.reason
        monthly = [p for p in listed if p.contract.trading_class == "SPX"]
        assert len(monthly) == 4 and str(monthly[0].contract.expiry) == MONTHLY_DAY
        assert rig.broker.settlements, "the sim settled the monthly's cash at 09:30"
        assert morning.status == "ok", morning.reason
        result = morning.result
        assert result is not None and result.risk is not None
        assert {p.contract.key for p in result.risk.settled} == {p.contract.key for p in monthly}
        assert result.risk.settled_value_usd is not None
        assert all(f"SPX {MONTHLY_DAY}" not in r.label for r in result.risk.income)
        traded = {leg.contract.key for a in result.adjustments for leg in a.legs}
        assert not traded & {p.contract.key for p in monthly}

    asyncio.run(body())


def test_settled_positions_drop_from_the_listing_once_the_knob_has_run_out(
    tmp_path: Path,
) -> None:
    """Without the knob a settled position vanishes at settlement; with it, it lingers
    for exactly the minutes given, its cash settled at once either way."""

    async def body() -> tuple[int, int, int]:
        rig = await open_rig(tmp_path / "j.sqlite", start=EVE, sim=_params(45))
        try:
            rig.clock.advance(timedelta(minutes=TO_FRIDAY_1000_MIN))
            at_1000 = await rig.broker.positions()
            rig.clock.advance(timedelta(minutes=20))
            at_1020 = await rig.broker.positions()
            settled = len(rig.broker.settlements)
        finally:
            await rig.close()
        return _monthly_legs(at_1000), _monthly_legs(at_1020), settled

    # Settled at 09:30 + 45 min: listed at 10:00, gone at 10:20.
    assert asyncio.run(body()) == (4, 0, 4)
