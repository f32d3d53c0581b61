"""alvh replay and alvh report from the command line, on the stochastic market."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main

ROOT = Path(__file__).resolve().parents[2]
SIM = str(ROOT / "config" / "sim.yaml")


def test_replay_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A short replay of two policies writes their journals; the report reads them."""
    out = tmp_path / "replay"
    args = ["--config", SIM, "replay", "--data", "sim", "--from", "2025-03-03"]
    args += ["--to", "2025-03-07", "--out", str(out), "--hedge", "none,static", "--jobs", "2"]
    assert main(args) == 0
    assert (out / "none.sqlite").is_file() and (out / "static.sqlite").is_file()
    assert "none: done, 5/5 sessions" in capsys.readouterr().out
    report = ["--config", SIM, "report", "--from-dir", str(out), "--out", str(tmp_path / "r")]
    assert main(report) == 0
    assert (tmp_path / "r" / "report.html").is_file()


def test_replay_refuses_an_unknown_policy_and_a_used_out(tmp_path: Path) -> None:
    """Bad usage is exit 2: an unknown policy, or journals already in --out."""
    base = ["--config", SIM, "replay", "--data", "sim", "--from", "2025-03-03"]
    base += ["--to", "2025-03-04", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        main([*base, "--hedge", "none,bogus"])
    assert exc.value.code == 2
    (tmp_path / "none.sqlite").write_bytes(b"")
    assert main([*base, "--hedge", "none"]) == 2
