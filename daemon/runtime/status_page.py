"""A read-only status page at ``/`` on the daemon's HTTP server (``daemon.runtime.http``,
loopback only unless the operator says otherwise).

Server-rendered HTML, no script, no form, no write route: what a trader glances at while
the daemon runs. Everything shown comes from the journal (the last cycle's record, the
alerts standing, the orders, the scalar's history) except the live facts the journal
cannot know (connection, phase), which come from the daemon's status. Each figure carries
a ``data-figure`` attribute, so a test (or a script) can read it back.

Sections: connection and mode; the last cycle and its status; the scalar with each
component's contribution; book risk and tail loss; held hedges and coverage against the
target; open proposals and orders; the scalar over the last ``alerts.page_history_sessions``
sessions (``daemon.runtime.status_plot``); the notifiers' counters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

from aiohttp import web

from daemon.core.calendar import NY
from daemon.runtime.app import App
from daemon.runtime.journal_port import JournalReader
from daemon.runtime.status import DaemonStatus
from daemon.runtime.status_plot import scalar_svg

REFRESH_S = 30  # a cycle is minutes apart: a glance every half-minute is fresh enough


@dataclass(frozen=True)
class PageSources:
    """What the page reads; each a callable so every request sees the present."""

    status: Callable[[], Mapping[str, Any]]  # DaemonStatus.to_json
    journal: JournalReader
    notify_stats: Callable[[], Mapping[str, Mapping[str, int]]]
    history_sessions: int


def page_sources(app: App, status: DaemonStatus) -> PageSources:
    """The running daemon's sources: its status, journal, notifiers and page settings."""
    return PageSources(
        status=status.to_json,
        journal=app.journal,
        notify_stats=app.alerts.notifier.stats,
        history_sessions=app.config.alerts.page_history_sessions,
    )


def status_routes(sources: PageSources) -> list[web.RouteDef]:
    """The page's one route, for ``Supervision.add_routes``: GET (and HEAD) only."""

    async def page(_request: web.Request) -> web.Response:
        try:
            text = render_page(sources)
        except sqlite3.ProgrammingError:  # the journal closed: the daemon is stopping
            return web.Response(status=503, text="the daemon is stopping")
        return web.Response(text=text, content_type="text/html")

    return [web.get("/", page)]


# ---- formatting ------------------------------------------------------------------------------
def _esc(value: Any) -> str:
    return escape("-" if value is None else str(value))


def usd(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def when(iso: str | None) -> str:
    if not iso:
        return "-"
    return f"{datetime.fromisoformat(iso).astimezone(NY):%d-%b %H:%M:%S} ET"


def _fig(name: str, text: str, cls: str = "num") -> str:
    return f'<td class="{cls}" data-figure="{escape(name)}">{escape(text)}</td>'


def _table(head: Sequence[str], rows: Sequence[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    ths = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><tr>{ths}</tr>{''.join(rows)}</table>"


def _pairs(pairs: Sequence[tuple[str, str, str]]) -> str:
    """Rows of label / figure (name, label, text)."""
    rows = [f"<tr><th>{escape(label)}</th>{_fig(name, text)}</tr>" for name, label, text in pairs]
    return f"<table>{''.join(rows)}</table>"


# ---- sections --------------------------------------------------------------------------------
def _last_cycle(status: Mapping[str, Any], cycles: Sequence[Mapping[str, Any]]) -> str:
    if not cycles:
        return '<h2>Last cycle</h2><p class="muted">no cycle yet</p>'
    last = cycles[0]
    ok = last["status"] == "ok"
    row = (
        f'<tr><th>cycle</th><td data-figure="cycle_id"><code>{_esc(last["cycle_id"])}</code>'
        f"</td></tr><tr><th>at</th>{_fig('cycle_at', when(last['started_at']), '')}</tr>"
        f'<tr><th>status</th><td data-figure="cycle_status" class="{"ok" if ok else "bad"}">'
        f"{_esc(last['status'])}</td></tr>"
        f"<tr><th>reason</th>{_fig('cycle_reason', last['reason'] or '-', '')}</tr>"
    )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(status.get("cycles", {}).items()))
    return f"<h2>Last cycle</h2><table>{row}</table><p class='muted'>this run: {_esc(counts)}</p>"


def _scalar(record: Mapping[str, Any] | None) -> str:
    scalar = (record or {}).get("scalar")
    if not scalar:
        return '<h2>Hedge scalar</h2><p class="muted">no scalar yet</p>'
    rows = []
    for c in scalar["components"]:
        missing = c.get("unavailable")
        z = "-" if c.get("z") is None else f"{c['z']:+.2f}"
        rows.append(
            f"<tr><td>{_esc(c['name'])}</td><td class='num'>{z}</td>"
            f"<td class='num'>{c['weight']:.2f}</td>"
            + _fig(f"contribution.{c['name']}", f"{c['contribution']:+.3f}")
            + f"<td class='muted'>{_esc(c['detail'] if not missing else f'missing: {missing}')}"
            "</td></tr>"
        )
    head = _pairs(
        [
            ("scalar", "scalar", f"{scalar['value']:.2f}"),
            ("scalar_raw", "raw (before smoothing)", f"{scalar['raw']:.2f}"),
        ]
    )
    table = _table(["signal", "z", "weight", "contribution", "reading"], rows, "no components")
    return f"<h2>Hedge scalar</h2>{head}{table}"


def _risk(record: Mapping[str, Any] | None) -> str:
    risk = (record or {}).get("risk")
    if not risk:
        return '<h2>Book risk</h2><p class="muted">no priced book yet</p>'
    pairs = [
        ("tail_loss_usd", "tail loss in the stress (USD)", usd(risk["tail_loss_usd"])),
        ("max_loss_usd", "max loss (USD)", usd(risk["max_loss_usd"])),
        ("open_credit_usd", "open credit (USD)", usd(risk["open_credit_usd"])),
        ("income_structures", "income structures", str(len(risk["income"]))),
    ]
    return f"<h2>Book risk</h2>{_pairs(pairs)}"


def _hedges(record: Mapping[str, Any] | None) -> str:
    record = record or {}
    risk, proposal = record.get("risk") or {}, record.get("proposal") or {}
    rows = [
        f"<tr><td>{_esc(h['label'])}</td><td class='num'>{h['dte_days']}</td>"
        + _fig(f"hedge_stress.{h['structure_id']}", usd(h.get("stress_pnl_usd")))
        + "</tr>"
        for h in risk.get("hedges", [])
    ]
    target = proposal.get("target_payoff_usd")
    held = risk.get("hedge_payoff_usd")
    share = "-" if not target or held is None else f"{100 * held / target:.0f} %"
    pairs = [
        ("hedge_payoff_usd", "held hedges pay in the stress (USD)", usd(held)),
        ("target_payoff_usd", "target (USD)", usd(target)),
        ("coverage_pct", "coverage", share),
    ]
    table = _table(["hedge", "DTE", "stress payoff (USD)"], rows, "no hedge held")
    return f"<h2>Hedges and coverage</h2>{_pairs(pairs)}{table}"


def _proposals(journal: JournalReader) -> str:
    rows = [
        f"<tr><td data-figure='proposal'>{_esc(a['line'])}</td>"
        f"<td>{escape(when(a['first_alerted_at']))}</td><td class='num'>{a['times_seen']}</td></tr>"
        for a in journal.active_alerts("proposal")
    ]
    return "<h2>Open proposals</h2>" + _table(
        ["proposal", "since", "cycles"], rows, "nothing proposed"
    )


def _orders(journal: JournalReader) -> str:
    rows = [
        f"<tr><td><code>{_esc(o['order_ref'])}</code></td><td>{_esc(o['status'])}</td>"
        f"<td class='num'>{o['filled_qty'] or 0}/{o['quantity']}</td>"
        f"<td class='num'>{o['limit_usd']:.2f}</td><td>{escape(when(o['intent_at']))}</td></tr>"
        for o in journal.recent_orders(10)
    ]
    head = ["reference", "status", "filled", "limit", "sent"]
    return "<h2>Orders (latest 10)</h2>" + _table(head, rows, "no order sent")


def _notify(stats: Mapping[str, Mapping[str, int]]) -> str:
    rows = [
        f"<tr><td>{_esc(name)}</td>"
        + "".join(f"<td class='num'>{s.get(k, 0)}</td>" for k in _NOTIFY_KEYS)
        + "</tr>"
        for name, s in stats.items()
    ]
    return "<h2>Notifications</h2>" + _table(["target", *_NOTIFY_KEYS], rows, "none")


_NOTIFY_KEYS = ("sent", "failed", "timed_out", "rate_limited", "dropped")


def render_page(sources: PageSources) -> str:
    status = sources.status()
    journal = sources.journal
    record = journal.last_evaluated_cycle()
    result = None if record is None else record.get("result")
    connection = str(status.get("connection", "unknown"))
    header = (
        f"{status.get('mode', '?')} mode on {status.get('broker', '?')}"
        f" · {status.get('phase', '?')} · market time {when(status.get('market_now'))}"
        f" · run {status.get('run_id', '?')} · version {status.get('version', '?')}"
    )
    history = journal.scalar_history(sources.history_sessions)
    sections = [
        _last_cycle(status, journal.recent_cycles(1)),
        _scalar(result),
        f"<h2>Scalar, last {sources.history_sessions} sessions</h2>{scalar_svg(history)}",
        _risk(result),
        _hedges(result),
        _proposals(journal),
        _orders(journal),
        _notify(sources.notify_stats()),
    ]
    template = Template(files("daemon.runtime").joinpath("templates/status.html").read_text())
    return template.substitute(
        title=escape(connection),
        refresh_s=REFRESH_S,
        connection=escape(connection),
        connection_class="ok" if connection == "connected" else "bad",
        header=escape(header),
        sections="\n".join(sections),
    )
