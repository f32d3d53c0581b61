"""A short end-to-end replay of the daemon: one cycle a session, no duplicate order, and
an account that the journal alone reproduces to the cent."""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from daemon.core.calendar import session_bounds, settlement_time
from daemon.core.models import Contract
from daemon.logs import _add_market_time
from daemon.replay.parallel import replay_policy
from daemon.replay.runner import PolicyReplay
from daemon.replay.source import calendar_sessions as sessions_between
from daemon.replay.source import sim_market
from tests.replay.replay_rig import quick_config, run_replay

FIRST, LAST = date(2025, 1, 13), date(2025, 1, 24)  # spans the 2025-01-17 roll


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("replay")
    config = quick_config()
    outcome, market = run_replay("alvh", config, FIRST, LAST, out)
    conn = sqlite3.connect(out / "alvh.sqlite")
    conn.row_factory = sqlite3.Row
    data = {
        "outcome": outcome,
        "market": market,
        "config": config,
        "cycles": [dict(r) for r in conn.execute("SELECT * FROM cycles ORDER BY started_at")],
        "orders": [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY intent_at")],
        "fills": [dict(r) for r in conn.execute("SELECT * FROM fills ORDER BY fill_id")],
        "sessions": [
            json.loads(r["detail_json"])
            for r in conn.execute(
                "SELECT detail_json FROM events WHERE kind='replay_session' ORDER BY event_id"
            )
        ],
    }
    conn.close()
    return data


def test_one_cycle_per_session(replayed: dict[str, Any]) -> None:
    """Every session of the window has exactly one journalled cycle of the daemon."""
    days = [d.isoformat() for d in sessions_between(FIRST, LAST)]
    per_day: dict[str, int] = defaultdict(int)
    for cycle in replayed["cycles"]:
        per_day[cycle["trading_day"]] += 1
    assert dict(per_day) == dict.fromkeys(days, 1)
    assert replayed["outcome"].sessions_done == len(days)
    assert [s["day"] for s in replayed["sessions"]] == days


def test_the_daemon_traded_and_no_order_was_sent_twice(replayed: dict[str, Any]) -> None:
    """The daemon placed hedges; no adjustment was ordered on two days and no order
    filled beyond its quantity (a duplicate would)."""
    hedges = [o for o in replayed["orders"] if not o["order_ref"].startswith("book-")]
    assert hedges, "the daemon sent no order in the window"
    assert len({o["order_ref"] for o in replayed["orders"]}) == len(replayed["orders"])
    filled: dict[str, int] = defaultdict(int)
    for fill in replayed["fills"]:
        filled[fill["order_ref"]] += fill["quantity"]
    for order in replayed["orders"]:
        assert filled[order["order_ref"]] <= order["quantity"]


def test_accounting_identities_to_the_cent(replayed: dict[str, Any]) -> None:
    """Each session: cash + marks = equity and equity - initial = book + hedge - costs."""
    initial = replayed["config"].replay.initial_equity_usd
    for s in replayed["sessions"]:
        assert abs(s["cash_usd"] + s["marks_usd"] - s["equity_usd"]) < 0.005
        pnl = s["book_pnl_usd"] + s["hedge_pnl_usd"] - s["costs_usd"]
        assert abs(s["equity_usd"] - initial - pnl) < 0.005


def _contract(leg: dict[str, Any]) -> Contract:
    return Contract.from_json(leg["contract"])


def test_the_journal_alone_reproduces_the_account(replayed: dict[str, Any]) -> None:
    """Independent of the ledger: cash from the journal's fills, commissions and the
    broker's settlement values; positions from the fills; marks at the broker's mids.
    Cash, positions and equity agree with the last session's record to the cent."""
    config = replayed["config"]
    fee = config.replay.commission_per_contract_usd
    orders = {o["order_ref"]: json.loads(o["order_json"]) for o in replayed["orders"]}
    cash = config.replay.initial_equity_usd
    held: dict[str, int] = defaultdict(int)
    contracts: dict[str, Contract] = {}
    for fill in replayed["fills"]:
        order = orders[fill["order_ref"]]
        cash -= fill["quantity"] * fill["price_usd"] * 100
        for leg in order["legs"]:
            c = _contract(leg)
            sign = 1 if leg["action"] == "BUY" else -1
            held[c.key] += sign * leg["ratio"] * fill["quantity"]
            contracts[c.key] = c
            cash -= fee * leg["ratio"] * fill["quantity"]
    market = replayed["market"]
    now = market.clock.now()
    settled = market.broker.settlements
    assert settled, "the window spans a settlement"
    for s in settled:
        assert held[s.contract.key] == s.quantity
        cash += s.payoff_usd
        held[s.contract.key] = 0
    assert all(settlement_time(contracts[k]) > now for k, q in held.items() if q)
    held = {k: q for k, q in held.items() if q}
    last = replayed["sessions"][-1]
    assert abs(cash - last["cash_usd"]) < 0.005
    # The broker's own cash (no commissions) tells the same story.
    commissions = sum(
        fee * leg["ratio"] * f["quantity"]
        for f in replayed["fills"]
        for leg in orders[f["order_ref"]]["legs"]
    )
    broker_cash = config.replay.initial_equity_usd + market.broker.cash_usd - commissions
    assert abs(broker_cash - last["cash_usd"]) < 0.005

    async def marks() -> tuple[dict[str, int], float]:
        broker = market.broker
        await broker.connect()
        try:
            positions = {p.contract.key: p.quantity for p in await broker.positions()}
            quotes = await broker.option_quotes([contracts[k] for k in held])
            value = sum(
                held[q.contract.key] * (q.quote.mid or 0.0) * q.contract.multiplier for q in quotes
            )
            return positions, value
        finally:
            await broker.close()

    positions, marked = asyncio.run(marks())
    assert positions == held
    assert abs(cash + marked - last["equity_usd"]) < 0.005


def test_the_book_rolls_on_the_monthly_expiry_beside_the_hedges(replayed: dict[str, Any]) -> None:
    """The condor is sold on the first session and again on the 2025-01-17 expiry (its
    predecessor settled that morning), whatever hedges the daemon holds."""
    book_days = [o["trading_day"] for o in replayed["orders"] if o["order_ref"].startswith("book-")]
    assert book_days == [FIRST.isoformat(), "2025-01-17"]


def test_a_stopped_replay_keeps_what_it_did(tmp_path: Path) -> None:
    """The stop flag (Ctrl-C in alvh replay) ends the replay between sessions: the
    sessions done stay journalled and the run ends with reason 'interrupted'."""
    config = quick_config()
    market = sim_market(config.sim, session_bounds(FIRST)[0], ())
    calls = iter(range(100))
    seen: list[tuple[tuple[int, int, int], int]] = []

    stamps: list[str] = []

    def stop() -> bool:  # inside the replay: the collector and the log's market time
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        stamps.append(_add_market_time(None, "warning", {})["market_time"])
        return next(calls) >= 3

    before = gc.get_threshold()
    outcome = asyncio.run(
        replay_policy(
            "none",
            config,
            market,
            FIRST,
            LAST,
            tmp_path / "none.sqlite",
            stop=stop,
        )
    )
    assert (outcome.status, outcome.sessions_done) == ("interrupted", 3)
    # The collector was tuned while it ran (the loaded history frozen, young collections
    # rarer) and is as it was after it, interrupted or not.
    assert all(t[0] > before[0] and frozen > 0 for t, frozen in seen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)
    # Log lines were stamped with the replay's market time, and are with the wall clock's
    # again after it.
    days = [date.fromisoformat(stamp[:10]) for stamp in stamps]
    assert days[0] == FIRST and days == sorted(days) and days[-1] <= LAST
    after = date.fromisoformat(_add_market_time(None, "warning", {})["market_time"][:10])
    assert after > LAST
    conn = sqlite3.connect(tmp_path / "none.sqlite")
    sessions = conn.execute("SELECT COUNT(*) FROM events WHERE kind='replay_session'").fetchone()
    reason = conn.execute("SELECT exit_reason FROM runs").fetchone()
    conn.close()
    assert (sessions[0], reason[0]) == (3, "interrupted")


def test_a_session_that_fails_midway_leaves_only_whole_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the third session's cycle and session event were written (a bug,
    a failed write): the run ends in error and the journal holds the two finished
    sessions whole and nothing of the third (one transaction a session)."""
    config = quick_config()
    market = sim_market(config.sim, session_bounds(FIRST)[0], ())
    real = PolicyReplay._record_session
    recorded: list[date] = []

    async def failing(self: PolicyReplay, *args: Any) -> None:
        await real(self, *args)
        recorded.append(args[2])
        if len(recorded) == 3:
            raise RuntimeError("broken after the session's writes")

    monkeypatch.setattr(PolicyReplay, "_record_session", failing)
    with pytest.raises(RuntimeError, match="broken after"):
        asyncio.run(replay_policy("none", config, market, FIRST, LAST, tmp_path / "n.sqlite"))
    conn = sqlite3.connect(tmp_path / "n.sqlite")
    cycle_days = [r[0] for r in conn.execute("SELECT trading_day FROM cycles ORDER BY 1")]
    session_days = [
        json.loads(r[0])["day"]
        for r in conn.execute("SELECT detail_json FROM events WHERE kind='replay_session'")
    ]
    reason = conn.execute("SELECT exit_reason FROM runs").fetchone()[0]
    conn.close()
    whole = [d.isoformat() for d in recorded[:2]]
    assert cycle_days == whole and session_days == whole
    assert reason.startswith("error: RuntimeError")
