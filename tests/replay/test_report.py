"""alvh report: metrics against hand-computed values on made-up journals, and the files
it renders (PNG non-empty, HTML holding the table, CSV)."""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from daemon.core.calendar import NY
from daemon.replay.params import ReportParams
from daemon.replay.report import build_report, write_report
from daemon.replay.report_data import forward_stats, max_drawdown
from daemon.runtime.journal import SqliteJournal

DAYS = [date(2024, 1, 2) + timedelta(days=i) for i in range(6)]


def _journal(
    path: Path, policy: str, equity: list[float], hedge: list[float], vix: list[float]
) -> Path:
    """A replay journal with one run and its session records, as the runner writes them."""
    j = SqliteJournal.open(path)
    at = datetime(2024, 1, 2, 15, 48, tzinfo=NY)
    j.start_run(
        "r",
        now=at,
        version="t",
        host="h",
        mode="rule",
        broker="b",
        config={"replay": {"initial_equity_usd": 1000.0}},
    )
    j.record_event("replay_started", now=at, detail={"policy": policy})
    for day, eq, h, v in zip(DAYS, equity, hedge, vix, strict=True):
        detail = {
            "policy": policy,
            "day": day.isoformat(),
            "spx": 100.0,
            "vix": v,
            "vx1": v,
            "scalar": None,
            "equity_usd": eq,
            "cash_usd": eq,
            "marks_usd": 0.0,
            "book_pnl_usd": eq - 1000.0 - h,
            "hedge_pnl_usd": h,
            "costs_usd": 0.0,
            "book_credit_usd": 200.0,
            "hedge_premium_usd": 20.0 if policy != "none" else 0.0,
            "unmarked": 0,
        }
        j.record_event("replay_session", now=at, detail=detail)
    j.close()
    return path


@pytest.fixture
def journals(tmp_path: Path) -> list[Path]:
    vix = [15.0, 15.0, 35.0, 40.0, 20.0, 15.0]
    return [
        _journal(tmp_path / "none.sqlite", "none", [1000, 1100, 880, 800, 900, 1000], [0] * 6, vix),
        _journal(
            tmp_path / "static.sqlite",
            "static",
            [1000, 1090, 900, 860, 950, 1040],
            [0, -10, 10, 50, 40, 30],
            vix,
        ),
    ]


def test_policy_table_matches_hand_computation(journals: list[Path]) -> None:
    """Max drawdown, its dates, premium share, carry, stress payoff and drawdown saved
    per unit of carry, each worked out by hand for the two made-up series."""
    report = build_report(journals, ReportParams(stress_vix_pts=30.0))
    none, static = report.policies
    assert (none.policy, static.policy) == ("none", "static")
    assert none.drawdown.depth_frac == pytest.approx(300 / 1100)  # 1100 -> 800
    assert (none.drawdown.peak, none.drawdown.trough) == (DAYS[1], DAYS[3])
    assert static.drawdown.depth_usd == pytest.approx(230.0)  # 1090 -> 860
    assert static.premium_of_credit_frac == pytest.approx(0.1)
    # hedge P&L by session: 0, -10, +20, +40, -10, -10; stress (VIX >= 30) on 3rd and 4th
    assert static.carry_usd == pytest.approx(-30.0)
    assert static.stress_payoff_usd == pytest.approx(60.0)
    assert static.saved_per_carry == pytest.approx((300.0 - 230.0) / 30.0)
    years = (DAYS[-1] - DAYS[0]).days / 365.25
    assert static.cagr == pytest.approx((1040 / 1000) ** (1 / years) - 1)


def test_max_drawdown_of_a_rising_series_is_zero() -> None:
    """A series that never falls has no drawdown and no dates."""
    dd = max_drawdown(DAYS[:3], np.array([1.0, 2.0, 3.0]))
    assert (dd.depth_frac, dd.peak, dd.trough) == (0.0, None, None)


def test_forward_stats_by_hand() -> None:
    """Realised vol of the next 2 sessions minus VIX, and the worst SPX fall in them."""
    spx = np.array([100.0, 110.0, 99.0, 99.0])
    vix = np.array([20.0, 20.0, 20.0, 20.0])
    rv_minus, worst = forward_stats(spx, vix, 2)
    r = [math.log(110 / 100), math.log(99 / 110)]
    rv = float(np.std(r, ddof=1)) * math.sqrt(252) * 100
    assert rv_minus[0] == pytest.approx(rv - 20.0)
    assert worst[0] == pytest.approx(99 / 110 - 1)
    assert math.isnan(rv_minus[2]) and math.isnan(rv_minus[3])


def test_report_renders_its_files(journals: list[Path], tmp_path: Path) -> None:
    """PNG files are non-empty images, the HTML holds the policy table, the CSV its rows."""
    out = tmp_path / "report"
    page = write_report(build_report(journals, ReportParams()), out)
    for name in ("equity.png", "drawdown.png"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    text = page.read_text()
    assert "<table>" in text and "max drawdown" in text and "static" in text
    assert 'src="equity.png"' in text
    with (out / "policies.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["policy"] for r in rows] == ["none", "static"]
    assert rows[0]["drawdown_peak"] == DAYS[1].isoformat()
    assert float(rows[0]["drawdown_depth_usd"]) == pytest.approx(300.0)


def test_a_live_journal_gives_the_scalar_table(tmp_path: Path) -> None:
    """A journal without account records (a live run's) still bins its scalar, and says
    that its account columns are missing."""
    j = SqliteJournal.open(tmp_path / "live.sqlite")
    at = datetime(2024, 1, 2, 10, 0, tzinfo=NY)
    j.start_run("r", now=at, version="t", host="h", mode="propose", broker="sim", config={})
    rng = np.random.default_rng(3)
    spx = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, 60)))
    for i in range(60):
        day = date(2024, 1, 2) + timedelta(days=i)
        record = {"result": {"inputs": {"spx": float(spx[i]), "vix": 18.0}}}
        j.record_cycle(
            cycle_id=f"c{i}",
            run_id="r",
            started_at=at + timedelta(days=i),
            finished_at=at + timedelta(days=i),
            trading_day=day,
            status="ok",
            reason="",
            record=record,
            scalar=0.5 + i / 30.0,
        )
    j.close()
    report = build_report([tmp_path / "live.sqlite"], ReportParams(forward_sessions=5))
    assert report.policies == []
    assert [b.bin for b in report.scalars] == [1, 2, 3, 4, 5]
    assert sum(b.sessions for b in report.scalars) == 60 - 5
    assert report.series[0].notes
