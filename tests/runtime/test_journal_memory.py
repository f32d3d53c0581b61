"""What the journal remembers for the core: hedge spends and the last day a book was held.

Oracles: hand arithmetic on the orders written here (quantity x price x multiplier) and
the cycle records written here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.core.calendar import NY
from daemon.runtime.journal import SqliteJournal
from tests.runtime.engine_rig import START, open_rig

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def _journal(tmp_path: Path) -> SqliteJournal:
    journal = SqliteJournal.open(tmp_path / "j.sqlite")
    journal.start_run(
        "run-1", now=T0, version="0.1.0", host="h", mode="submit", broker="sim", config={}
    )
    return journal


def _order(journal: SqliteJournal, ref: str, day: date, quantity: int, limit: float) -> None:
    leg = {"contract": {"multiplier": 100}, "ratio": 1, "action": "BUY"}
    journal.record_order_intent(
        ref,
        cycle_id="c",
        trading_day=day,
        now=T0,
        quantity=quantity,
        limit_usd=limit,
        debit_usd=max(limit, 0.0) * 100 * quantity,
        leg_keys=(ref,),
        order={"legs": [leg]},
    )


def test_hedge_spends_count_fills_and_what_may_still_fill(tmp_path: Path) -> None:
    """Filled at its average price; working: the filled part plus the rest at the limit;
    cancelled unfilled: nothing; a closing credit is negative; older days left out."""
    journal = _journal(tmp_path)
    _order(journal, "filled", DAY, 3, 1.30)
    journal.record_order_state("filled", now=T0, status="FILLED", filled_qty=3, avg_fill_usd=1.25)
    _order(journal, "working", DAY, 4, 2.00)
    journal.record_order_state(
        "working", now=T0, status="SUBMITTED", filled_qty=1, avg_fill_usd=1.9
    )
    _order(journal, "cancelled", DAY, 5, 0.50)
    journal.record_order_state("cancelled", now=T0, status="CANCELLED")
    _order(journal, "credit", DAY, 2, -0.80)
    journal.record_order_state("credit", now=T0, status="FILLED", filled_qty=2, avg_fill_usd=-0.85)
    _order(journal, "old", DAY - timedelta(days=60), 1, 9.0)
    journal.record_order_state("old", now=T0, status="FILLED", filled_qty=1, avg_fill_usd=9.0)
    spends = journal.hedge_spends(DAY - timedelta(days=10))
    assert [d for d, _ in spends] == [DAY] * 4
    # 3 x 1.25 x 100; 1 x 1.9 x 100 + 3 x 2.00 x 100; 0; 2 x -0.85 x 100.
    assert [usd for _, usd in spends] == pytest.approx([375.0, 790.0, 0.0, -170.0])


def test_hedge_spends_take_the_first_legs_multiplier(tmp_path: Path) -> None:
    """The debit is in the first leg's multiplier (10 here: 2 x 1.50 x 10 = 30 USD); an
    order journalled without legs counts at the standard 100 (1 x 2.00 x 100)."""
    journal = _journal(tmp_path)
    leg = {"contract": {"multiplier": 10}, "ratio": 1, "action": "BUY"}
    for ref, order in (("mini", {"legs": [leg]}), ("bare", {})):
        journal.record_order_intent(
            ref,
            cycle_id="c",
            trading_day=DAY,
            now=T0 if ref == "mini" else T0 + timedelta(seconds=1),
            quantity=2 if ref == "mini" else 1,
            limit_usd=1.5 if ref == "mini" else 2.0,
            debit_usd=0.0,
            leg_keys=(ref,),
            order=order,
        )
    journal.record_order_state("mini", now=T0, status="FILLED", filled_qty=2, avg_fill_usd=1.5)
    spends = journal.hedge_spends(DAY)
    assert [usd for _, usd in spends] == pytest.approx([30.0, 200.0])


def _cycle(journal: SqliteJournal, cycle_id: str, day: date, income: list[Any]) -> None:
    when = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    journal.record_cycle(
        cycle_id=cycle_id,
        run_id="run-1",
        started_at=when,
        finished_at=when + timedelta(seconds=1),
        trading_day=day,
        status="ok",
        reason=None,
        record={"result": {"risk": {"income": income, "hedges": []}}},
    )


def test_last_income_day_is_the_latest_cycle_that_saw_a_book(tmp_path: Path) -> None:
    """Cycles with a condor on the 20th and 23rd, none on the 24th: the 23rd; a journal
    whose cycles never saw one (or no cycle at all) says None."""
    journal = _journal(tmp_path)
    assert journal.last_income_day() is None
    _cycle(journal, "a", date(2026, 11, 20), [{"kind": "IRON_CONDOR"}])
    _cycle(journal, "b", date(2026, 11, 23), [{"kind": "IRON_CONDOR"}])
    _cycle(journal, "c", DAY, [])
    assert journal.last_income_day() == date(2026, 11, 23)
    empty = SqliteJournal.open(tmp_path / "other.sqlite")
    empty.start_run("run-1", now=T0, version="v", host="h", mode="m", broker="sim", config={})
    _cycle(empty, "x", DAY, [])
    assert empty.last_income_day() is None


def test_the_engine_keeps_and_recovers_the_last_income_day(tmp_path: Path) -> None:
    """A cycle over the sim's condor book sets the engine's last income day to that
    trading day; a restarted engine on the same journal recovers it."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "e.sqlite")
        assert rig.engine.income_last_seen is None
        outcome = await rig.cycle()
        assert outcome.result is not None and outcome.result.risk is not None
        assert outcome.result.risk.income
        assert rig.engine.income_last_seen == START.astimezone(NY).date()
        await rig.close()
        again = await open_rig(tmp_path / "e.sqlite", run_id="run-b")
        assert again.engine.income_last_seen == START.astimezone(NY).date()
        await again.close()

    asyncio.run(body())
