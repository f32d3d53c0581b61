"""The journal's schema and its migrations, one SQL script per version.

The schema version lives in SQLite's ``PRAGMA user_version``. A journal written by a newer
daemon (``user_version`` above ``LATEST_VERSION``) is refused, never downgraded. To change
the schema, append a script: never edit a released one.
"""

from __future__ import annotations

# The terminal set belongs to the port's vocabulary; kept importable from here.
from daemon.runtime.journal_port import TERMINAL_ORDER_STATUSES as TERMINAL_ORDER_STATUSES

MIGRATIONS: tuple[str, ...] = (
    # v1: the first schema.
    """
    CREATE TABLE runs (
        run_id      TEXT PRIMARY KEY,
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        version     TEXT NOT NULL,
        host        TEXT NOT NULL,
        mode        TEXT NOT NULL,
        broker      TEXT NOT NULL,
        config_json TEXT NOT NULL,
        exit_reason TEXT
    );
    CREATE TABLE cycles (
        cycle_id      TEXT PRIMARY KEY,
        run_id        TEXT NOT NULL REFERENCES runs(run_id),
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        trading_day   TEXT NOT NULL,
        status        TEXT NOT NULL,
        reason        TEXT,
        scalar        REAL,
        tail_loss_usd REAL,
        record_json   TEXT NOT NULL
    );
    CREATE INDEX cycles_by_time ON cycles(started_at);
    CREATE TABLE scalar_state (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        state_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE adjustments (
        adjustment_id TEXT NOT NULL,
        cycle_id      TEXT NOT NULL REFERENCES cycles(cycle_id),
        created_at    TEXT NOT NULL,
        action        TEXT NOT NULL,
        kind          TEXT NOT NULL,
        quantity      INTEGER NOT NULL,
        limit_usd     REAL NOT NULL,
        adjustment_json TEXT NOT NULL,
        PRIMARY KEY (adjustment_id, cycle_id)
    );
    CREATE TABLE orders (
        order_ref     TEXT PRIMARY KEY,
        cycle_id      TEXT NOT NULL,
        trading_day   TEXT NOT NULL,
        intent_at     TEXT NOT NULL,
        order_id      TEXT,
        status        TEXT NOT NULL,
        quantity      INTEGER NOT NULL,
        limit_usd     REAL NOT NULL,
        debit_usd     REAL NOT NULL,
        leg_keys      TEXT NOT NULL,
        filled_qty    INTEGER NOT NULL DEFAULT 0,
        avg_fill_usd  REAL,
        updated_at    TEXT NOT NULL,
        reason        TEXT,
        order_json    TEXT NOT NULL
    );
    CREATE INDEX orders_by_day ON orders(trading_day);
    CREATE TABLE fills (
        fill_id   INTEGER PRIMARY KEY AUTOINCREMENT,
        order_ref TEXT NOT NULL REFERENCES orders(order_ref),
        order_id  TEXT NOT NULL,
        quantity  INTEGER NOT NULL,
        price_usd REAL NOT NULL,
        filled_at TEXT NOT NULL
    );
    CREATE TABLE events (
        event_id    INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        run_id      TEXT,
        cycle_id    TEXT,
        kind        TEXT NOT NULL,
        detail_json TEXT NOT NULL
    );
    CREATE INDEX events_by_time ON events(at);
    """,
    # v2: what was alerted, so a restart does not alert the same decision again
    # (daemon.runtime.alerts). One row per decision key; ``active`` = still standing.
    """
    CREATE TABLE alerts (
        alert_key        TEXT PRIMARY KEY,
        kind             TEXT NOT NULL,
        subject_id       TEXT,
        line             TEXT NOT NULL,
        first_alerted_at TEXT NOT NULL,
        last_alerted_at  TEXT NOT NULL,
        last_seen_at     TEXT NOT NULL,
        times_seen       INTEGER NOT NULL,
        active           INTEGER NOT NULL,
        detail_json      TEXT NOT NULL
    );
    CREATE INDEX alerts_active ON alerts(kind, active);
    """,
    # v3: the orders that may still be live, in an index of their own (a partial index:
    # only rows matching OPEN_ORDERS below are in it). The executor reads them every
    # cycle, and a journal of years holds thousands of ended ones to scan past otherwise.
    """
    CREATE INDEX orders_open ON orders(intent_at)
        WHERE status NOT IN ('FILLED', 'CANCELLED', 'REJECTED', 'ENDED_UNSEEN');
    """,
)

LATEST_VERSION = len(MIGRATIONS)

# SQLite's header field for "which program's file is this" (``PRAGMA application_id``):
# "ALVH" in ASCII. Set on every journal at open; a file with another id is refused.
APPLICATION_ID = 0x414C5648

# The tables every ALVH journal has had since v1: a file without the id but with these
# and a known ``user_version`` is a journal from before the id, and is given it.
V1_TABLES = frozenset(
    {"runs", "cycles", "scalar_state", "adjustments", "orders", "fills", "events"}
)

# The condition "may still be live", written out: SQLite uses the partial index
# ``orders_open`` (v3) only for a query with this very term, values in place (a bound
# parameter cannot prove the query within the index). A test checks the plan uses it.
OPEN_ORDERS = "status NOT IN ({})".format(
    ", ".join(f"'{s.value}'" for s in TERMINAL_ORDER_STATUSES)
)
