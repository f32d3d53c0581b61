"""The read-only status page: served by aiohttp (GET only), its plot, and, in headless
Chromium, the figures it shows read back against the journal; a screenshot is kept."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from daemon.runtime.http import HttpServer
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.status_page import status_routes
from daemon.runtime.status_plot import nice_ticks, scalar_svg
from tests.runtime.page_rig import sources, two_sessions

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class _Figures(HTMLParser):
    """Every ``data-figure`` element's text, and the SVG polyline's point count."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[str]] = {}
        self._open: str | None = None
        self.points = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("data-figure"):
            self._open = found["data-figure"]
            self.figures.setdefault(self._open or "", []).append("")
        if tag == "polyline":
            self.points = len((found.get("points") or "").split())

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.figures[self._open][-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def _figures(html: str) -> _Figures:
    parser = _Figures()
    parser.feed(html)
    return parser


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    """Steps of 1, 2 or 5 x 10^k from at or below the low to at or above the high (by
    hand: span 0.59 / 4 = 0.1475 -> step 0.2; span 10 / 4 = 2.5 -> step 5)."""
    assert nice_ticks(0.93, 1.52) == [0.8, 1.0, 1.2, 1.4, 1.6]
    assert nice_ticks(0.0, 10.0) == [0.0, 5.0, 10.0]
    assert nice_ticks(1.5, 1.5) == [1.0, 1.5, 2.0]  # flat: a unit band, step 0.25 -> 0.5


def test_the_plot_has_a_point_per_cycle_and_a_mark_per_session() -> None:
    """Three cycles over two sessions: three points, two session lines and dates."""
    history = [
        {"started_at": "x", "trading_day": "2026-11-24", "scalar": 1.2},
        {"started_at": "x", "trading_day": "2026-11-24", "scalar": 1.4},
        {"started_at": "x", "trading_day": "2026-11-25", "scalar": 1.3},
    ]
    svg = scalar_svg(history)
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 3  # type: ignore[union-attr]
    assert svg.count('class="session"') == 2
    assert "24-Nov" in svg and "25-Nov" in svg
    assert "no cycle" in scalar_svg([])


def test_the_page_is_served_read_only(tmp_path: Path) -> None:
    """GET / is HTML with every section; POST, PUT and DELETE are refused (405)."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        await two_sessions(path)
        journal = SqliteJournal.open(path)
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(status_routes(sources(journal)))
        await server.start()
        url = f"http://127.0.0.1:{server.port}/"
        try:
            async with aiohttp.ClientSession() as client:
                async with client.get(url) as reply:
                    assert reply.status == 200
                    assert reply.content_type == "text/html"
                    html = await reply.text()
                for method in ("POST", "PUT", "DELETE"):
                    async with client.request(method, url) as refused:
                        assert refused.status == 405
        finally:
            await server.stop()
            journal.close()
        for heading in ("Last cycle", "Hedge scalar", "Book risk", "Hedges and coverage"):
            assert f"<h2>{heading}</h2>" in html
        assert "<form" not in html and "<script" not in html

    asyncio.run(body())


async def _chromium(*args: str) -> str:
    """Run headless Chromium with the brief's flags and a throw-away profile."""
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={profile}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0
    return out.decode()


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package 'chromium')"
)
def test_chromium_renders_the_page_and_its_figures_match_the_journal(tmp_path: Path) -> None:
    """The DOM Chromium built shows the journal's last scalar, its components, the tail loss,
    the held-hedge coverage, the standing proposals and one plot point per cycle; the
    screenshot is kept under var/test-artefacts/."""
    path = tmp_path / "j.sqlite"

    async def body() -> tuple[str, bytes]:
        await two_sessions(path)
        journal = SqliteJournal.open(path)
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(status_routes(sources(journal)))
        await server.start()
        url = f"http://127.0.0.1:{server.port}/"
        shot = tmp_path / "status-page.png"
        try:
            dom = await _chromium("--dump-dom", url)
            await _chromium(f"--screenshot={shot}", "--window-size=1100,2200", url)
        finally:
            await server.stop()
            journal.close()
        return dom, shot.read_bytes()

    dom, png = asyncio.run(body())
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "status-page.png").write_bytes(png)

    journal = SqliteJournal.open(path)
    record = journal.last_evaluated_cycle()
    assert record is not None
    result = record["result"]
    history = journal.scalar_history(5)
    proposals = journal.active_alerts("proposal")
    (last,) = journal.recent_cycles(1)
    journal.close()

    shown = _figures(dom)
    figures = {name: texts[0] for name, texts in shown.figures.items()}
    assert figures["cycle_id"] == last["cycle_id"]
    assert figures["cycle_status"] == last["status"]
    scalar = result["scalar"]
    assert _number(figures["scalar"]) == pytest.approx(scalar["value"], abs=0.005)
    for c in scalar["components"]:
        shown_c = _number(figures[f"contribution.{c['name']}"])
        assert shown_c == pytest.approx(c["contribution"], abs=0.0005)
    risk = result["risk"]
    assert _number(figures["tail_loss_usd"]) == pytest.approx(risk["tail_loss_usd"], abs=0.5)
    assert _number(figures["hedge_payoff_usd"]) == pytest.approx(risk["hedge_payoff_usd"], abs=0.5)
    target = result["proposal"]["target_payoff_usd"]
    assert _number(figures["target_payoff_usd"]) == pytest.approx(target, abs=0.5)
    coverage = _number(figures["coverage_pct"])
    assert coverage == pytest.approx(100 * risk["hedge_payoff_usd"] / target, abs=0.5)
    assert shown.figures.get("proposal", []) == [p["line"] for p in proposals]
    assert proposals  # the sim's book is under-hedged: something stands proposed
    assert shown.points == len(history) == 4
    assert shutil.which(str(CHROMIUM))
