"""``alvh report``: the journals' series as tables (terminal, HTML, CSV) and plots (PNG).

Writes into ``--out``: ``equity.png`` and ``drawdown.png`` (matplotlib, Agg backend: no
display needed), ``report.html`` (the plots and every table), ``policies.csv``,
``years.csv`` and ``scalar.csv``; prints the policy table on the terminal (rich).
What each column means: ``daemon.replay.report_data`` and docs/replay.md.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from daemon.replay.params import ReportParams
from daemon.replay.report_data import (
    PolicyRow,
    ScalarBin,
    Series,
    YearRow,
    drawdown_curve,
    load_series,
    policy_rows,
    scalar_bins,
    year_rows,
)

ORDER = ("none", "static", "vxth", "alvh-flat", "alvh")


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100.0 * value:.{digits}f}%"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


POLICY_COLUMNS = (
    "policy",
    "from",
    "to",
    "sessions",
    "final equity USD",
    "CAGR",
    "volatility",
    "max drawdown",
    "drawdown peak",
    "drawdown trough",
    "max drawdown USD",
    "hedge premium / condor credit",
    "hedge carry outside stress USD",
    "hedge payoff in stress USD",
    "drawdown saved per USD of carry",
    "commissions USD",
    "hedge orders",
    "hedge orders filled",
)


def policy_cells(row: PolicyRow) -> list[str]:
    dd = row.drawdown
    return [
        row.policy,
        row.start.isoformat(),
        row.end.isoformat(),
        str(row.sessions),
        _usd(row.final_equity_usd),
        _pct(row.cagr, 2),
        _pct(row.volatility),
        _pct(dd.depth_frac),
        "-" if dd.peak is None else dd.peak.isoformat(),
        "-" if dd.trough is None else dd.trough.isoformat(),
        _usd(dd.depth_usd),
        _pct(row.premium_of_credit_frac),
        _usd(row.carry_usd),
        _usd(row.stress_payoff_usd),
        _num(row.saved_per_carry),
        _usd(row.costs_usd),
        str(row.hedge_orders),
        _pct(row.hedge_orders_filled / row.hedge_orders if row.hedge_orders else None, 0),
    ]


YEAR_COLUMNS = ("policy", "year", "return", "max drawdown", "hedge P&L USD", "book P&L USD")


def year_cells(row: YearRow) -> list[str]:
    return [
        row.policy,
        str(row.year),
        _pct(row.return_frac),
        _pct(row.max_drawdown_frac),
        _usd(row.hedge_pnl_usd),
        _usd(row.book_pnl_usd),
    ]


SCALAR_COLUMNS = (
    "policy",
    "bin",
    "scalar from",
    "scalar to",
    "sessions",
    "next-sessions realised vol - VIX (pts)",
    "worst SPX drawdown ahead",
)


def scalar_cells(row: ScalarBin) -> list[str]:
    return [
        row.policy,
        str(row.bin),
        _num(row.scalar_low, 3),
        _num(row.scalar_high, 3),
        str(row.sessions),
        _num(row.rv_minus_vix_pts),
        _pct(row.worst_spx_drawdown_frac),
    ]


@dataclass(frozen=True)
class Report:
    series: list[Series]
    policies: list[PolicyRow]
    years: list[YearRow]
    scalars: list[ScalarBin]


def build_report(journals: Sequence[Path], params: ReportParams) -> Report:
    series = [load_series(p) for p in journals]
    rank = {name: i for i, name in enumerate(ORDER)}
    series.sort(key=lambda s: (rank.get(s.name, len(ORDER)), s.name))
    return Report(
        series, policy_rows(series, params), year_rows(series), scalar_bins(series, params)
    )


def _plot(report: Report, out: Path) -> list[str]:
    drawn = [s for s in report.series if s.equity is not None and s.equity.size]
    if not drawn:
        return []
    names = []
    for kind in ("equity", "drawdown"):
        fig, ax = plt.subplots(figsize=(11, 5), dpi=100)
        for s in drawn:
            assert s.equity is not None
            y = s.equity if kind == "equity" else 100.0 * drawdown_curve(s.equity)
            ax.plot(np.array(s.days, dtype="datetime64[D]"), y, label=s.name, linewidth=1.0)
        ax.set_title("Equity (USD)" if kind == "equity" else "Drawdown from the running peak (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        fig.tight_layout()
        fig.savefig(out / f"{kind}.png")
        plt.close(fig)
        names.append(f"{kind}.png")
    return names


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _raw(row: object) -> dict[str, object]:
    """A table row as plain values for the CSV: numbers unformatted (fractions as
    decimals, USD unrounded), dates ISO, nested records flattened with a prefix."""
    out: dict[str, object] = {}
    for key, value in asdict(row).items():  # type: ignore[call-overload]
        if isinstance(value, dict):
            out.update({f"{key}_{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()}


def _write_csv(path: Path, rows: Sequence[object]) -> None:
    raw = [_raw(r) for r in rows]
    with path.open("w", newline="") as f:
        if not raw:
            return
        writer = csv.DictWriter(f, fieldnames=list(raw[0]))
        writer.writeheader()
        writer.writerows(raw)


def write_report(report: Report, out: Path) -> Path:
    """Every file of the report into ``out``; returns the HTML page's path."""
    out.mkdir(parents=True, exist_ok=True)
    images = _plot(report, out)
    tables: list[tuple[str, Sequence[str], list[list[str]], Sequence[object], str]] = [
        (
            "Policies",
            POLICY_COLUMNS,
            [policy_cells(r) for r in report.policies],
            report.policies,
            "policies.csv",
        ),
        (
            "Per year",
            YEAR_COLUMNS,
            [year_cells(r) for r in report.years],
            report.years,
            "years.csv",
        ),
        (
            "By scalar bin",
            SCALAR_COLUMNS,
            [scalar_cells(r) for r in report.scalars],
            report.scalars,
            "scalar.csv",
        ),
    ]
    parts = ["<h1>ALVH replay report</h1>"]
    parts += [f'<p><img src="{name}" alt="{name}"></p>' for name in images]
    notes = [f"{s.name}: {n}" for s in report.series for n in s.notes]
    parts += [f"<p>{html.escape(n)}</p>" for n in notes]
    for title, columns, rows, raw_rows, csv_name in tables:
        _write_csv(out / csv_name, raw_rows)
        parts.append(f"<h2>{title}</h2>" + _html_table(columns, rows))
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>ALVH report</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page)
    return path


# The terminal's table: the same cells, short headers (the HTML and CSV spell them out).
_TERMINAL = (
    (0, "policy"),
    (4, "equity USD"),
    (5, "CAGR"),
    (6, "vol"),
    (7, "max DD"),
    (8, "DD peak"),
    (9, "DD trough"),
    (11, "premium/credit"),
    (12, "carry USD"),
    (13, "stress payoff USD"),
    (14, "DD saved/carry"),
    (17, "filled"),
)


def print_report(report: Report, console: Console) -> None:
    table = Table(title="Policies (full table: report.html, policies.csv)")
    for _, header in _TERMINAL:
        table.add_column(header, justify="right")
    for row in report.policies:
        cells = policy_cells(row)
        table.add_row(*(cells[i] for i, _ in _TERMINAL))
    console.print(table)
    for s in report.series:
        for note in s.notes:
            console.print(f"{s.name}: {note}")
