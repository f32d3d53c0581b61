"""The journal's read side: the queries the engine, the guards, the alerts, the status
page and the commands ask of it. ``SqliteJournal`` (``journal.py``, the writes and the
opening rules) inherits them; every query reads committed rows, and inside a replay
session's ``all_or_nothing`` block also that block's own writes (``journal_tx.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

from daemon.runtime.journal_port import TERMINAL_ORDER_STATUSES
from daemon.runtime.journal_schema import OPEN_ORDERS


class JournalReads:
    """Read-only queries over an open journal connection."""

    _conn: sqlite3.Connection

    def fills_after(self, fill_id: int) -> list[dict[str, Any]]:
        """Fills after ``fill_id``, oldest first, each with its order's JSON (the legs):
        what an account (the replay's ledger) needs to follow cash and positions."""
        rows = self._conn.execute(
            "SELECT f.fill_id, f.order_ref, f.quantity, f.price_usd, o.order_json"
            " FROM fills f JOIN orders o ON o.order_ref = f.order_ref"
            " WHERE f.fill_id > ? ORDER BY f.fill_id",
            (fill_id,),
        )
        return [dict(r) for r in rows]

    def order_refs(self) -> list[str]:
        """Every order reference ever journalled: an adjustment id is sent at most once."""
        return [r[0] for r in self._conn.execute("SELECT order_ref FROM orders")]

    def order_refs_among(self, refs: Iterable[str]) -> set[str]:
        """Those of ``refs`` the journal already holds an order for: what the duplicate
        guard asks of a cycle's adjustments, without reading every reference ever sent."""
        wanted = list(dict.fromkeys(refs))
        if not wanted:
            return set()
        marks = ",".join("?" for _ in wanted)
        rows = self._conn.execute(
            f"SELECT order_ref FROM orders WHERE order_ref IN ({marks})", wanted
        )
        return {str(r[0]) for r in rows}

    def has_order(self, order_ref: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM orders WHERE order_ref = ?", (order_ref,))
        return row.fetchone() is not None

    def open_orders(self) -> list[dict[str, Any]]:
        """Orders that may still be live at the broker (intent written, no terminal state)."""
        rows = self._conn.execute(f"SELECT * FROM orders WHERE {OPEN_ORDERS} ORDER BY intent_at")
        return [dict(r) for r in rows]

    def open_order_kinds(self) -> set[str]:
        """The hedge families (adjustment kinds) of the orders that may still be live.
        CROSS JOIN fixes SQLite's join order: the few open orders first, then each one's
        adjustment by key; left to itself the planner scans every adjustment ever made."""
        rows = self._conn.execute(
            "SELECT DISTINCT a.kind FROM orders o CROSS JOIN adjustments a"
            f" ON a.adjustment_id = o.order_ref WHERE o.{OPEN_ORDERS}"
        )
        return {str(r[0]) for r in rows}

    def order_status_counts(self) -> dict[str, int]:
        """How many orders the journal holds in each last known status."""
        rows = self._conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status")
        return {str(r[0]): int(r[1]) for r in rows}

    def orders_on(self, trading_day: date) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM orders WHERE trading_day = ? ORDER BY intent_at",
            (trading_day.isoformat(),),
        )
        return [dict(r) for r in rows]

    def hedge_spends(self, since: date) -> list[tuple[date, float]]:
        """(trading day, net debit USD) of every order of a day on or after ``since``:
        the filled quantity at its average fill price, plus, for an order that may still
        fill (not terminal), the rest at its limit. Credits are negative. The budget's
        rolling spend cap reads these (``BookHistory``). The multiplier is the first leg's
        (100 when the order has none), read by SQLite's JSON path rather than by parsing
        each order's JSON here: the engine asks every cycle."""
        rows = self._conn.execute(
            "SELECT trading_day, status, quantity, filled_qty, avg_fill_usd, limit_usd,"
            " json_extract(order_json, '$.legs[0].contract.multiplier') AS multiplier"
            " FROM orders WHERE trading_day >= ? ORDER BY intent_at",
            (since.isoformat(),),
        )
        out = []
        for r in rows:
            m = r["multiplier"]
            multiplier = 100.0 if m is None else float(m)
            debit = int(r["filled_qty"]) * float(r["avg_fill_usd"] or 0.0) * multiplier
            if r["status"] not in TERMINAL_ORDER_STATUSES:
                rest = int(r["quantity"]) - int(r["filled_qty"])
                debit += max(rest, 0) * max(float(r["limit_usd"]), 0.0) * multiplier
            out.append((date.fromisoformat(r["trading_day"]), debit))
        return out

    def last_income_day(self) -> date | None:
        """The latest trading day on which a cycle saw an income structure (its record's
        ``result.risk.income`` not empty), or None. Newest first, so it stops at the first
        match; the engine asks once at start and then keeps the answer itself."""
        row = self._conn.execute(
            "SELECT trading_day FROM cycles"
            " WHERE json_array_length(record_json, '$.result.risk.income') > 0"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return None if row is None else date.fromisoformat(row["trading_day"])

    # ---- reading back -----------------------------------------------------------------------
    def recent_cycles(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT cycle_id, started_at, trading_day, status, reason, scalar, tail_loss_usd"
            " FROM cycles ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def cycles_on(self, trading_day: date) -> list[dict[str, Any]]:
        """Every cycle of one trading day, oldest first (the post-close summary)."""
        rows = self._conn.execute(
            "SELECT cycle_id, started_at, status, reason, scalar, tail_loss_usd FROM cycles"
            " WHERE trading_day = ? ORDER BY started_at",
            (trading_day.isoformat(),),
        )
        return [dict(r) for r in rows]

    def cycle_record(self, cycle_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT record_json FROM cycles WHERE cycle_id = ?", (cycle_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row["record_json"]))

    def recent_adjustments(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT adjustment_id, cycle_id, created_at, action, kind, quantity, limit_usd"
            " FROM adjustments ORDER BY created_at DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def recent_orders(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT order_ref, order_id, trading_day, intent_at, status, quantity, limit_usd,"
            " debit_usd, filled_qty, avg_fill_usd, reason FROM orders"
            " ORDER BY intent_at DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def events(self, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT at, run_id, cycle_id, kind, detail_json FROM events"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            args = (kind,)
        rows = self._conn.execute(sql + " ORDER BY event_id DESC LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]

    def last_evaluated_cycle(self) -> dict[str, Any] | None:
        """The newest cycle that reached a scalar, as ``cycle_record`` returns it."""
        row = self._conn.execute(
            "SELECT record_json FROM cycles WHERE scalar IS NOT NULL"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return None if row is None else dict(json.loads(row["record_json"]))

    def scalar_history(self, sessions: int) -> list[dict[str, Any]]:
        """(started_at, trading_day, scalar) of every cycle with a scalar in the last
        ``sessions`` trading days that had one, oldest first (the status page's plot)."""
        rows = self._conn.execute(
            "SELECT started_at, trading_day, scalar FROM cycles WHERE scalar IS NOT NULL"
            " AND trading_day IN (SELECT DISTINCT trading_day FROM cycles"
            " WHERE scalar IS NOT NULL ORDER BY trading_day DESC LIMIT ?)"
            " ORDER BY started_at",
            (sessions,),
        )
        return [dict(r) for r in rows]

    # ---- alerts (what was alerted; daemon.runtime.alerts) -------------------------------------
    def active_alerts(self, kind: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT alert_key, kind, subject_id, line, first_alerted_at, last_alerted_at,"
            " last_seen_at, times_seen, detail_json FROM alerts WHERE kind = ? AND active = 1"
            " ORDER BY first_alerted_at",
            (kind,),
        )
        return [dict(r) for r in rows]
