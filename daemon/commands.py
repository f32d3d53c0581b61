"""The runtime's commands: ``alvh run``, ``alvh once``, ``alvh journal``.

Logs go to stderr (console on a terminal, JSON lines otherwise); ``once --json`` and
``journal`` print their data to stdout, so both can be piped.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from daemon.config import AppConfig, config_path, load_config
from daemon.errors import JournalError
from daemon.logs import configure_logging
from daemon.runtime.app import Mode, build_app, start_run
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_port import JournalReader
from daemon.runtime.service import Service
from daemon.runtime.status_page import page_sources, status_routes


def _load(args: argparse.Namespace) -> tuple[AppConfig, Mode | None]:
    config = load_config(config_path(args), os.environ)
    configure_logging(config.logging.level, config.logging.format)
    return config, getattr(args, "mode", None)


def _mode_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=("propose", "submit"),
        help="override execution.mode: propose (alerts only) or submit (send orders)",
    )


# ---- run ------------------------------------------------------------------------------------
def run_arguments(parser: argparse.ArgumentParser) -> None:
    _mode_argument(parser)


def run(args: argparse.Namespace) -> int:
    config, mode = _load(args)
    app = build_app(config, mode=mode)
    service = Service(app)
    service.supervision.add_routes(status_routes(page_sources(app, service.status)))
    return asyncio.run(service.run())


# ---- once -----------------------------------------------------------------------------------
def once_arguments(parser: argparse.ArgumentParser) -> None:
    _mode_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the whole cycle record as JSON")


async def _once(config: AppConfig, mode: Mode | None) -> dict[str, Any]:
    app = build_app(config, mode=mode)
    start_run(app)
    try:
        await app.broker.connect()
        await app.executor.start()
        outcome = await app.engine.run_cycle(app.clock.now())
        await app.executor.shutdown()
        return outcome.to_json()
    finally:
        await app.broker.close()
        app.journal.end_run(app.run_id, now=app.clock.now(), reason="once")
        app.journal.close()


@contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """HiGHS (scipy's ``milp``) can print diagnostics from C straight to file descriptor 1.
    The data a command prints on stdout must stay parseable, so while the cycle runs fd 1
    points at stderr; it is restored before the command prints."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def once(args: argparse.Namespace) -> int:
    config, mode = _load(args)
    with _native_stdout_to_stderr():
        record = asyncio.run(_once(config, mode))
    if args.json:
        json.dump(record, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        _print_once(record)
    return 0


def _print_once(record: dict[str, Any]) -> None:
    result = record.get("result") or {}
    scalar = (result.get("scalar") or {}).get("value")
    print(f"cycle {record['cycle_id']}: {record['status']} ({record['reason']})")
    if scalar is not None:
        print(f"  scalar {scalar:.3f}")
    for adj in (result.get("proposal") or {}).get("adjustments", []):
        legs = " / ".join(
            f"{'+' if leg['action'] == 'BUY' else '-'}{leg['ratio']} {leg['contract']}"
            for leg in adj["legs"]
        )
        print(f"  {adj['action']:<6} {adj['quantity']:>4} x {legs} @ {adj['limit_price_usd']:.2f}")


# ---- journal --------------------------------------------------------------------------------
TABLES = ("cycles", "adjustments", "orders", "events")


def journal_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=TABLES, default="cycles", help="what to list")
    parser.add_argument("--limit", type=int, default=20, help="newest N rows (default 20)")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )


def _rows(journal: JournalReader, what: str, limit: int) -> list[dict[str, Any]]:
    if what == "cycles":
        return journal.recent_cycles(limit)
    if what == "adjustments":
        return journal.recent_adjustments(limit)
    if what == "orders":
        return journal.recent_orders(limit)
    return journal.events(limit=limit)


def journal(args: argparse.Namespace) -> int:
    config = load_config(config_path(args), os.environ)
    path = config.journal.path
    if not path.exists():
        raise JournalError(f"no journal at {path} (it is created by `alvh run` or `alvh once`)")
    store = SqliteJournal.open(path)
    try:
        rows = _rows(store, args.what, args.limit)
    finally:
        store.close()
    _print_rows(rows, args.format)
    return 0


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        json.dump(rows, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if not rows:
        print("(no rows)")
        return
    columns = list(rows[0])
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
