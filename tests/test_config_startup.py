"""check-config loads what `run` loads at start-up, so "config ok" means start-up works.

Issue 12, item 6: a missing or directory ``events_path``, an unimportable custom signal
and an empty ``journal.path`` passed check-config while ``run`` refused to start. The
oracle is start-up itself (``build_app``): every case it refuses, check-config refuses
with exit 2 naming the field; and check-config creates or modifies nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_config
from daemon.errors import AlvhError
from daemon.preflight import SQLITE_HEADER
from daemon.runtime.app import build_app

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "config" / "events.yaml"


def _config(
    tmp_path: Path, *, events: str = str(EVENTS), journal: str | None = None, extra: str = ""
) -> Path:
    journal = str(tmp_path / "var" / "journal.sqlite") if journal is None else journal
    path = tmp_path / "config.yaml"
    path.write_text(
        f"events_path: {events!r}\njournal:\n  path: {journal!r}\n"
        f"execution:\n  kill_switch_path: {str(tmp_path / 'KILL')!r}\n{extra}",
        encoding="utf-8",
    )
    return path


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err if code else out


_CUSTOM = (
    "signals:\n  custom:\n    - name: pcr\n      import_path: {path}\n"
    "      breakpoints: [[0.7, -0.5], [1.3, 1.0]]\n"
)
CASES = {
    "events_missing": (
        {"events": "{tmp}/nope.yaml"},
        "config error: events_path: no such file ({tmp}/nope.yaml)",
    ),
    "events_directory": (
        {"events": "{tmp}"},
        "config error: events_path: is a directory, not a YAML file ({tmp})",
    ),
    "events_broken": (
        {"events": "{tmp}/events.yaml"},
        "config error: {tmp}/events.yaml:2: expected ',' or ']'",
    ),
    "custom_unimportable": (
        {"extra": _CUSTOM.format(path="no_such_module_xyz:SIGNAL")},
        "config error: signals.custom[0].import_path = 'no_such_module_xyz:SIGNAL': module",
    ),
    "custom_no_attribute": (
        {"extra": _CUSTOM.format(path="daemon.errors:NO_SUCH_SIGNAL")},
        "config error: signals.custom[0].import_path = 'daemon.errors:NO_SUCH_SIGNAL': module",
    ),
    "journal_empty": ({"journal": ""}, "config error: journal.path = '': must be a file path"),
    "journal_directory": (
        {"journal": "{tmp}"},
        "config error: journal.path: is a directory; name a file (the journal is one SQLite "
        "file) ({tmp})",
    ),
    "journal_parent_is_a_file": (
        {"journal": "{tmp}/config.yaml/journal.sqlite"},
        "config error: journal.path: cannot be created: {tmp}/config.yaml is not a directory "
        "({tmp}/config.yaml/journal.sqlite)",
    ),
    "notify_urls_missing": (
        {"extra": "notify:\n  urls_file: no-such-alvh.urls\n"},
        "config error: notify.urls_file = 'no-such-alvh.urls': no such file",
    ),
    "notify_urls_device": (
        {"extra": "notify:\n  urls_file: /dev/zero\n"},
        "config error: notify.urls_file: not a regular file (/dev/zero)",
    ),
}
# Start-up is not run on these: the model refuses the first, and the second would read
# /dev/zero for ever (the notifier reads the whole file; check-config refuses it first).
NOT_STARTED = {"journal_empty", "notify_urls_device"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_config_refuses_what_start_up_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Each start-up failure is exit 2 from check-config naming the field, and start-up
    (build_app, the oracle) refuses the same config."""
    (tmp_path / "events.yaml").write_text("- [unclosed\n", encoding="utf-8")
    kwargs, expected = CASES[case]
    path = _config(tmp_path, **{k: v.format(tmp=tmp_path) for k, v in kwargs.items()})
    code, err = _check(path, capsys)
    assert code == 2
    assert err.startswith(expected.format(tmp=tmp_path)), err
    if case not in NOT_STARTED:
        # OSError: a journal parent that is a file escapes start-up raw today (issue 12,
        # item 10, the runtime's side); it refuses either way.
        with pytest.raises((AlvhError, OSError)):
            build_app(load_config(path, env={}), env={})


def test_every_start_up_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing calendar, a bad custom signal and a directory journal: three lines."""
    path = _config(
        tmp_path,
        events=str(tmp_path / "nope.yaml"),
        journal=str(tmp_path),
        extra=_CUSTOM.format(path="no_such_module_xyz:SIGNAL"),
    )
    code, err = _check(path, capsys)
    assert code == 2
    fields = [
        line.split(":")[0] + ":" + line.split(":")[1].split(" = ")[0] for line in err.splitlines()
    ]
    assert fields == [
        "config error: events_path",
        "config error: signals.custom[0].import_path",
        "config error: journal.path",
    ]


def test_foreign_file_as_journal_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal.path holding another kind of file is refused and left byte for byte."""
    foreign = tmp_path / "notes.txt"
    foreign.write_bytes(b"my trading notes\n")
    code, err = _check(_config(tmp_path, journal=str(foreign)), capsys)
    assert code == 2
    assert "journal.path" in err and "is not an SQLite database" in err
    assert foreign.read_bytes() == b"my trading notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "notes.txt"]


def test_good_config_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A good config with a journal still to be created: ok, and no file or folder made."""
    code, out = _check(_config(tmp_path), capsys)
    assert code == 0 and out.startswith("config ok: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_existing_sqlite_journal_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing SQLite file (the header of sqlite.org's file format) passes."""
    journal = tmp_path / "journal.sqlite"
    journal.write_bytes(SQLITE_HEADER + bytes(84))
    code, _ = _check(_config(tmp_path, journal=str(journal)), capsys)
    assert code == 0


@pytest.mark.parametrize("field", ["journal:\n  path", "execution:\n  kill_switch_path"])
def test_empty_paths_are_refused(tmp_path: Path, field: str) -> None:
    """An empty path would mean '.', the working directory (a kill switch always on)."""
    path = tmp_path / "c.yaml"
    path.write_text(f'{field}: "  "\n', encoding="utf-8")
    with pytest.raises(AlvhError, match="must be a file path"):
        load_config(path, env={})


def test_ib_without_a_client_library_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """broker.kind ib with neither ib_async nor ib_insync importable: broker.kind named."""
    monkeypatch.setattr("daemon.preflight.IB_LIBRARIES", ("no_such_ib_lib_a", "no_such_ib_lib_b"))
    code, err = _check(_config(tmp_path, extra="broker:\n  kind: ib\n"), capsys)
    assert code == 2
    assert err.startswith("config error: broker.kind = 'ib': 'ib' needs an IB client library")
