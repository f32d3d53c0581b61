"""The fault matrix (issue 12, the campaign): every fault switch of the simulated broker,
a few cycles each in submit mode: the daemon never dies, places no order on a quote the
fault spoiled, journals every cycle (a skipped or invalid one with its reason), and every
order the broker received has its intent row in the journal.

``CAMPAIGN_FAULT_CYCLES`` (environment) sets the faulted cycles per switch: a few in
``make test``, as many as ``make soak`` gives."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.brokers.sim.faults import hit
from daemon.brokers.sim.params import FaultParams
from daemon.core.calendar import NY
from tests.runtime.engine_rig import START, Rig, cycle_rows, sim_params
from tests.runtime.submit_rig import journal_orders, submit_rig

FAULTED_CYCLES = int(os.environ.get("CAMPAIGN_FAULT_CYCLES", "3"))
SEED = 7  # the sim's seed (market paths, and which instruments the quote faults hit)

# The cases: the knobs set from the first cycle on, and optionally the market time and
# book to start from. Every switch of FaultParams is in at least one case (a test below
# fails when a switch is added without one). Quote faults come heavy (held legs spoiled:
# every cycle invalid) and light (a few chain quotes spoiled: the cycle proposes, and
# must avoid them).
EXPIRY_MORNING = datetime(2026, 12, 18, 9, 20, tzinfo=NY)  # the Dec SPX monthly settles 09:30
CASES: dict[str, dict[str, Any]] = {
    "drop_connection": {"drop_connection": True},
    "refuse_connect": {"refuse_connect": True, "drop_connection": True},
    "stale_quotes_s": {"stale_quotes_s": 3600.0},
    "nan_quote_frac heavy": {"nan_quote_frac": 0.3},
    "nan_quote_frac light": {"nan_quote_frac": 0.01},
    "crossed_quote_frac heavy": {"crossed_quote_frac": 0.3},
    "crossed_quote_frac light": {"crossed_quote_frac": 0.03},
    "reject_all_orders": {"reject_all_orders": True},
    "reject_order_frac": {"reject_order_frac": 0.5},
    "slow_reply_s": {"slow_reply_s": 0.2},  # above the rig's 0.1 s request timeout
    "keep_settled_positions_min": {"keep_settled_positions_min": 600.0},
}
STARTS = {"keep_settled_positions_min": EXPIRY_MORNING}
BOOKS = {
    "keep_settled_positions_min": [
        {"trading_class": "SPXW", "dte_days": 35, "quantity": 10},
        {"trading_class": "SPX", "dte_days": 1, "quantity": 5},
    ]
}
QUOTE_SALTS = {"nan_quote_frac": "nan", "crossed_quote_frac": "crossed"}


def test_every_fault_switch_is_in_the_matrix() -> None:
    """A new fault switch must join the matrix."""
    assert set().union(*CASES.values()) == set(FaultParams.model_fields)


def _spoiled(knobs: dict[str, Any], keys: list[str], seed: int) -> list[str]:
    """The legs among ``keys`` whose quotes the fault knobs spoil."""
    if knobs.get("stale_quotes_s"):
        return keys  # every quote is stale
    return [
        k
        for name, salt in QUOTE_SALTS.items()
        if knobs.get(name)
        for k in keys
        if hit(k, knobs[name], seed, salt)
    ]


async def faulted_run(
    tmp_path: Path, case: str, cycles: int = FAULTED_CYCLES, seed: int = SEED
) -> dict[str, Any]:
    """The faulted cycles, then two clean ones (the first may find the gateway still
    down), checked against the broker's record and the journal before the rig closes;
    its figures for ``make soak``."""
    knobs = CASES[case]
    extra: dict[str, Any] = {"book": BOOKS[case]} if case in BOOKS else {}
    sim = sim_params(
        seed=seed, request_timeout_s=0.1, orders={"price_improvement_frac": 1.0}, **extra
    )
    async with submit_rig(tmp_path, sim=sim, start=STARTS.get(case, START)) as rig:
        rig.broker.set_faults(**knobs)
        outcomes = []
        for _ in range(cycles):
            outcomes.append(await rig.cycle(advance_min=5))  # a death would raise here
        during = list(rig.broker.orders_received)
        rig.broker.set_faults(**FaultParams().model_dump())
        for _ in range(2):
            outcomes.append(await rig.cycle(advance_min=5))
        _check(rig, knobs, outcomes, [order for _, order, _ in during], seed)
        return {
            "cycles": len(outcomes),
            "statuses": Counter(o.status for o in outcomes),
            "orders_received": len(rig.broker.orders_received),
        }


def _check(
    rig: Rig, knobs: dict[str, Any], outcomes: list[Any], during: list[Any], seed: int
) -> None:
    spoiled = {
        order.order_ref: bad
        for order in during
        if (bad := _spoiled(knobs, [leg.contract.key for leg in order.legs], seed))
    }
    assert spoiled == {}, "orders placed on quotes the fault spoiled"
    rows = cycle_rows(rig.journal)
    assert [r["cycle_id"] for r in rows] == [o.cycle_id for o in outcomes]
    for row in rows:
        assert row["status"] == "ok" or row["reason"], row
    assert outcomes[-1].status == "ok", outcomes[-1].reason  # recovered once the fault ends
    if not set(knobs) & {"stale_quotes_s", *QUOTE_SALTS}:
        # A fault that spoils no quote (a settled leg still listed included) is no data
        # problem: skipped for a lost connection at worst, never DATA_INVALID.
        assert all(o.status != "data_invalid" for o in outcomes), [o.reason for o in outcomes]
    intents = set(journal_orders(rig.journal))
    sent = [order.order_ref for _, order, _ in rig.broker.orders_received]
    assert len(sent) == len(set(sent)), "an order was sent twice"
    assert set(sent) <= intents, "an order reached the broker without its intent row"


@pytest.mark.parametrize("case", sorted(CASES))
def test_fault_switch_kills_nothing_and_every_cycle_is_journalled(
    tmp_path: Path, case: str
) -> None:
    """Under the switch: no death, no order on a spoiled quote, one journal row per
    cycle with a reason whenever it is not OK, an intent row for every order sent."""
    asyncio.run(faulted_run(tmp_path, case))
