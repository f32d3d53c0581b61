"""docs/configuration.md is generated from the config models and stays in step with them.

Oracles: the committed file itself (must equal a fresh rendering), the model's own leaf
list, and a small hand-written model whose table row is written out here by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from daemon.config import AppConfig
from daemon.config_docs import leaves, render, rows, type_text, unit_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = (REPO / "config" / "default.yaml").read_text()


def test_committed_reference_matches_the_models() -> None:
    """docs/configuration.md equals what the generator prints now: run `make docs`."""
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == render(AppConfig, DEFAULT_TEXT), (
        "docs/configuration.md is out of date: run `make docs` and commit it"
    )


def test_every_setting_has_a_row_with_a_meaning() -> None:
    """One row per leaf of AppConfig, none without its meaning from default.yaml."""
    table = rows(AppConfig, DEFAULT_TEXT)
    assert [r.path for r in table] == [p for p, _, _ in leaves(AppConfig, AppConfig())]
    assert not [r.path for r in table if not r.meaning]
    assert {r.path for r in table} >= {"http.port", "health.max_disconnected_s"}


class _Inner(BaseModel):
    wait_s: float = Field(2.5, gt=0, le=60)
    side: Literal["buy", "sell"] = "buy"


class _Tiny(BaseModel):
    inner: _Inner = _Inner()
    budget_usd: int | None = None


def test_a_hand_written_model_renders_as_written_by_hand() -> None:
    """Path, type, default, bounds, unit and the comment (above or inline) land in their
    columns; a changed default changes the page (the up-to-date test can fail)."""
    text = "inner:\n  # How long.\n  wait_s: 2.5\n  side: buy  # Which side\nbudget_usd: null\n"
    table = rows(_Tiny, text)
    assert [(r.path, r.type, r.default, r.bounds, r.unit, r.meaning) for r in table] == [
        ("inner.wait_s", "float", "2.5", "> 0, <= 60", "seconds", "How long."),
        ("inner.side", "one of `buy`, `sell`", '"buy"', "", "", "Which side"),
        ("budget_usd", "int or null", "null", "", "USD", ""),
    ]

    class _Changed(_Tiny):
        budget_usd: int | None = 5

    assert render(_Tiny, text) != render(_Changed, text)


def test_units_and_types() -> None:
    """Suffixes map to their units, the longest suffix winning; types read as prose."""
    assert unit_of("max_debit_per_day_usd") == "USD"
    assert unit_of("theta_usd_per_day") == "USD per day"
    assert unit_of("vix_vol_per_sqrt_year") == "per square root of a year"
    assert unit_of("coverage_frac") == "fraction (0.25 = 25%)"
    assert unit_of("port") == ""
    assert type_text(tuple[tuple[float, float], ...]) == "list of ([float, float])"
    assert type_text(float | None) == "float or null"
