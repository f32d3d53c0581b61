"""config/events.yaml: the shipped calendar, and errors that name the file and the line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from daemon.core.calendar import is_session
from daemon.core.models import EventKind, MarketEvent
from daemon.errors import ConfigError
from daemon.events_file import load_events

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "events.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(text)
    return path


def test_shipped_calendar_loads_with_2026_entries_for_every_kind() -> None:
    """The shipped file loads and has 2026 FOMC, CPI, PPI and GDP dates."""
    events = load_events(SHIPPED)
    kinds_2026 = {e.kind for e in events if e.day.year == 2026}
    assert kinds_2026 == set(EventKind)
    counts = {k: sum(1 for e in events if e.kind is k and e.day.year == 2026) for k in EventKind}
    assert counts[EventKind.FOMC] == 8  # eight scheduled meetings a year
    assert counts[EventKind.CPI] == 12  # monthly


def test_shipped_calendar_is_sorted_unique_and_on_sessions() -> None:
    """Entries come back sorted, with no duplicate (date, kind), each on an NYSE session."""
    events = load_events(SHIPPED)
    keys = [(e.day, e.kind.value) for e in events]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert all(is_session(e.day) for e in events)
    # The file itself is kept in date order, so a reader scanning it sees the same order.
    text_days = [
        line.split("date: ")[1][:10]
        for line in SHIPPED.read_text().splitlines()
        if "date: " in line and not line.startswith("#")
    ]
    assert text_days == sorted(text_days)


def test_small_file(tmp_path: Path) -> None:
    """Entries load as MarketEvents sorted by date; the note is optional."""
    path = write(
        tmp_path,
        "- {date: 2026-03-18, kind: FOMC, note: SEP}\n- date: '2026-03-11'\n  kind: CPI\n",
    )
    assert load_events(path) == (
        MarketEvent(EventKind.CPI, date(2026, 3, 11), ""),
        MarketEvent(EventKind.FOMC, date(2026, 3, 18), "SEP"),
    )


def test_empty_file_is_an_empty_calendar(tmp_path: Path) -> None:
    """An empty file (or only comments) is no events, not an error."""
    assert load_events(write(tmp_path, "# nothing yet\n")) == ()


def problem_wheres(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_events(path)
    return [p.where for p in caught.value.problems]


def test_bad_date_names_file_and_line(tmp_path: Path) -> None:
    """A date that does not exist (Feb 30) is refused at its file and line."""
    path = write(
        tmp_path,
        "- {date: 2026-03-18, kind: FOMC}\n- {date: 2026-02-30, kind: CPI}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_events(path)
    (problem,) = caught.value.problems
    assert problem.where == f"{path}:2"
    assert "YYYY-MM-DD" in problem.message
    assert problem.value == "2026-02-30"
    assert f"{path}:2" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- {date: 2026-03-18, kind: FOMC}\n- {date: 18/03/2026, kind: CPI}\n", 2),
        ("- {date: 2026-03-18, kind: FOMC}\n\n- {date: 2026-03-19, kind: NFP}\n", 3),
        ("- {date: 2026-03-18, kind: FOMC, when: 2pm}\n", 1),
        ("- {kind: FOMC}\n", 1),
        ("- {date: 2026-03-18}\n", 1),
        ("- just text\n", 1),
        ("- {date: 2026-03-18, kind: FOMC}\n- {date: 2026-03-18, kind: FOMC}\n", 2),
    ],
)
def test_each_bad_entry_names_its_line(tmp_path: Path, text: str, line: int) -> None:
    """Malformed date, unknown kind, unknown key, missing field, non-mapping, duplicate."""
    path = write(tmp_path, text)
    assert problem_wheres(path) == [f"{path}:{line}"]


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error is a ConfigError at the line where the parser failed."""
    path = write(tmp_path, "- {date: 2026-03-18, kind: FOMC}\n- {date: 2026-03-19, kind: CPI\n")
    (where,) = problem_wheres(path)
    assert where.startswith(f"{path}:")
    assert int(where.rsplit(":", 1)[1]) >= 2


def test_root_must_be_a_list(tmp_path: Path) -> None:
    """A mapping at the top is refused at line 1."""
    path = write(tmp_path, "events:\n  - {date: 2026-03-18, kind: FOMC}\n")
    assert problem_wheres(path) == [f"{path}:1"]


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError naming it."""
    assert problem_wheres(tmp_path / "nope.yaml") == [str(tmp_path / "nope.yaml")]


def test_every_problem_at_once(tmp_path: Path) -> None:
    """Several bad entries are all reported, each at its line."""
    path = write(
        tmp_path,
        "- {date: 2026-13-01, kind: FOMC}\n"
        "- {date: 2026-03-18, kind: CPI}\n"
        "- {date: 2026-03-19, kind: X}\n",
    )
    assert problem_wheres(path) == [f"{path}:1", f"{path}:3"]
