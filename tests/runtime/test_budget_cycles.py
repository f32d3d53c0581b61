"""Issue 7 item 1, end to end: cycles with fills never spend more than the budget in total.

The engine over the simulated broker in submit mode, orders filling at their mids, the
market moving between cycles. Oracles: the sim's own positions (the condors' open credit
from their IB average costs, taken before any hedge exists) and the journal's ``fills``
table read through a separate SQLite connection (what was actually paid).
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from pathlib import Path

from tests.runtime.engine_rig import CONFIG
from tests.runtime.submit_rig import (
    FILLS_AT_MID,
    journal_fills,
    journal_path,
    settled_cycle,
    submit_rig,
)

CYCLES = 6
MINUTES_BETWEEN = 45.0


def test_cycles_with_fills_never_exceed_the_budget_in_total(tmp_path: Path) -> None:
    """Six cycles 45 minutes apart, every order filled: the debit paid for hedges over
    all of them stays within budget.max_debit_fraction x the condors' open credit."""

    async def body() -> float:
        async with submit_rig(tmp_path, sim=FILLS_AT_MID) as rig:
            book = await rig.broker.positions()
            credit = math.fsum(-p.quantity * abs(p.avg_cost_usd) for p in book)
            assert credit > 0.0  # the sim opens a short-premium book
            filled_cycles = 0
            for i in range(CYCLES):
                if i:
                    rig.clock.advance(timedelta(minutes=MINUTES_BETWEEN))
                outcome, _ = await settled_cycle(rig)
                filled_cycles += bool(outcome.executions)
            assert filled_cycles >= 1
            return credit

    credit = asyncio.run(body())
    fills = journal_fills(journal_path(tmp_path))
    # Every hedge leg here (SPX and VIX options) has multiplier 100; a fill's price is the
    # combo's net per share, > 0 a debit paid.
    paid = math.fsum(100.0 * f["quantity"] * max(f["price_usd"], 0.0) for f in fills)
    budget = CONFIG.model_params().budget.max_debit_fraction * credit
    assert paid > 0.0
    assert paid <= budget + 1e-6
