"""The alvh command line: check-config's output and exit codes, and the command table."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import Command, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m daemon ARGS`` in the project directory, with no ALVH_ variables inherited."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALVH_")}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=ROOT,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _leaf_count(value: Any) -> int:
    """Settings written in a YAML document: every non-mapping value is one."""
    if isinstance(value, dict):
        return sum(_leaf_count(v) for v in value.values())
    return 1


@pytest.fixture(autouse=True)
def _no_alvh_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ALVH_"):
            monkeypatch.delenv(name)


def test_check_config_ok_subprocess() -> None:
    """`python -m daemon check-config config/default.yaml` exits 0 with one summary line."""
    result = _run("check-config", "config/default.yaml")
    assert result.returncode == 0, result.stderr
    written = _leaf_count(yaml.safe_load((ROOT / "config/default.yaml").read_text()))
    assert result.stdout == (
        "config ok: config/default.yaml "
        f"(broker=sim, mode=propose, cycle every 5 min, {written} tunables)\n"
    )
    assert result.stderr == ""


def test_check_config_errors_subprocess(tmp_path: Path) -> None:
    """A bad file exits 2 with one 'config error:' line per problem and no traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("signals:\n  rsi:\n    weight: -1\nbroker:\n  kind: tws\n")
    result = _run("check-config", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        f"config error: signals.rsi.weight = -1: must be >= 0 and <= 5 ({bad}:3)",
        f"config error: broker.kind = 'tws': must be 'sim' or 'ib' ({bad}:5)",
    ]


def test_broken_yaml_subprocess(tmp_path: Path) -> None:
    """Malformed YAML exits 2 with file:line:column and no traceback."""
    bad = tmp_path / "broken.yaml"
    bad.write_text("broker: [sim\n")
    result = _run("check-config", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"config error: {bad}:2:1: ")
    assert "Traceback" not in result.stderr


def test_bad_env_port_subprocess() -> None:
    """A bad ALVH_IB_PORT in the environment exits 2 naming the variable."""
    result = _run("check-config", env={"ALVH_IB_PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr.startswith("config error: ALVH_IB_PORT (broker.ib.port) = 'abc': ")
    assert "Traceback" not in result.stderr


def test_env_overrides_are_named_in_the_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary shows the environment's effect and which variables caused it."""
    monkeypatch.setenv("ALVH_BROKER", "ib")
    assert main(["check-config", str(ROOT / "config/sim.yaml")]) == 0
    out = capsys.readouterr().out
    assert "broker=ib@127.0.0.1:4002, mode=propose, cycle every 1 min" in out
    assert out.rstrip().endswith("; from the environment: ALVH_BROKER)")


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config", "{sim}"],
        ["--config", "{sim}", "check-config"],
        ["check-config", "--config", "{sim}"],
    ],
    ids=["positional", "global-option", "option-after-command"],
)
def test_config_path_can_be_given_three_ways(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The file can be a positional argument or --config before or after the command."""
    sim = str(ROOT / "config/sim.yaml")
    assert main([a.format(sim=sim) for a in argv]) == 0
    assert capsys.readouterr().out.startswith(f"config ok: {sim} (")


def test_default_path_is_config_default_yaml(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no path, check-config reads config/default.yaml relative to the working dir."""
    monkeypatch.chdir(ROOT)
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith("config ok: config/default.yaml (")


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is one error line and exit code 2."""
    missing = tmp_path / "nope.yaml"
    assert main(["check-config", str(missing)]) == 2
    assert capsys.readouterr().err == f"config error: {missing}: no such file\n"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Running alvh without a command prints usage and exits 2."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: alvh" in capsys.readouterr().err


def test_a_new_command_is_one_table_entry() -> None:
    """A Command row is enough to add a subcommand with its arguments and --config."""
    seen: dict[str, object] = {}

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--times", type=int, default=1)

    def run(args: argparse.Namespace) -> int:
        seen.update(times=args.times, config=args.config)
        return 7

    parser = build_parser([Command("hello", "say hello", add, run)])
    args = parser.parse_args(["--config", "x.yaml", "hello", "--times", "3"])
    assert args.run(args) == 7
    assert seen == {"times": 3, "config": "x.yaml"}
