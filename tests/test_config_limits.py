"""Hostile config files: refused with exit 2 and a message, never a traceback, hang or GB.

Each case here is one the fault campaign of issue 12 found (items 1-5): a NUL byte,
20,000 levels of nesting, a 5,000-digit integer, /dev/zero, a FIFO, a 50 MB file, a YAML
alias bomb, 20,000 unknown keys, NaN and infinite numbers.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_config
from daemon.config_file import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES, parse_yaml
from daemon.core.signals.maps import clip_unit, piecewise_linear
from daemon.errors import ConfigError, ConfigProblem

ROOT = Path(__file__).resolve().parents[1]


def _problems(path: Path) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return list(info.value.problems)


def _cli_err(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """check-config through the real entry point: exit 2, errors only, no traceback."""
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("config error: ")
    assert "Traceback" not in err
    return err


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ---- item 1: bytes and shapes the YAML reader or Python itself chokes on ----------------
def test_nul_byte_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NUL byte in the file is a config error at its line, not a ReaderError traceback."""
    path = _write(tmp_path, "pricing:\n  risk_free_rate_frac: 0.04\x00\n")
    err = _cli_err(path, capsys)
    assert f"{path}:2: control character #x0000" in err


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 20_000 + "]" * 20_000 + "\n",  # flow style
        "".join("  " * i + f"k{i}:\n" for i in range(300)),  # block style
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Nesting past MAX_DEPTH is refused while composing (no RecursionError)."""
    err = _cli_err(_write(tmp_path, text), capsys)
    assert f"nested deeper than {MAX_DEPTH} levels" in err


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    """MAX_DEPTH levels exactly are read (the limit is a bound, not an off-by-one)."""
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    _, value = parse_yaml(text, tmp_path / "x.yaml")
    depth, node = 0, value["a"]
    while isinstance(node, list):
        depth, node = depth + 1, node[0] if node else None
    assert depth == MAX_DEPTH - 1  # plus the top mapping: MAX_DEPTH levels


@pytest.mark.parametrize("digits", ["9" * 5000, "0x" + "f" * 5000, "1:" * 2000 + "1"])
def test_huge_integer_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], digits: str
) -> None:
    """An integer of thousands of digits (decimal, hex, base 60) is refused at its line."""
    path = _write(tmp_path, f"broker:\n  ib:\n    port: {digits}\n")
    err = _cli_err(path, capsys)
    assert f"{path}:3:11: an integer of {len(digits):,} characters" in err


def test_impossible_timestamp_is_refused_at_its_line(tmp_path: Path) -> None:
    """A YAML date PyYAML matches but cannot build (month 13) is an error at its line."""
    path = _write(tmp_path, "pricing:\n  risk_free_rate_frac: 2026-13-45\n")
    (problem,) = _problems(path)
    assert problem.where == f"{path}:2:24"
    assert "month must be in 1..12" in problem.message


# ---- item 2: what is not a small regular file ----------------------------------------------
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero is refused as a device before a byte is read (it used to read until OOM)."""
    err = _cli_err(Path("/dev/zero"), capsys)
    assert "/dev/zero: not a regular file" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO with no writer is refused at once (it used to block for ever); run in a
    subprocess so a regression fails by its generous timeout instead of hanging pytest."""
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "check-config", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert f"config error: {fifo}: not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_file_over_the_size_cap_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file one byte over MAX_CONFIG_BYTES is refused without being parsed (a 50 MB
    file took minutes and 3 GB); a sparse file, so the test writes nothing to disk."""
    path = tmp_path / "big.yaml"
    with path.open("wb") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)
    err = _cli_err(path, capsys)
    assert f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes" in err


def test_file_at_the_size_cap_is_read(tmp_path: Path) -> None:
    """A file of exactly MAX_CONFIG_BYTES is read (a comment pads a valid config)."""
    head = "pricing:\n  risk_free_rate_frac: 0.03\n# "
    path = _write(tmp_path, head + "x" * (MAX_CONFIG_BYTES - len(head) - 1) + "\n")
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(path, env={}).pricing.risk_free_rate_frac == 0.03


# ---- item 3: aliases ----------------------------------------------------------------------
def _laughs(levels: int) -> str:
    """The classic 'billion laughs': each level is 9 aliases to the previous one."""
    text = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + f"pricing: *l{levels - 1}\n"


def test_alias_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 1 KB alias bomb (9**10 values) is refused while composing (3 min and 3.9 GB)."""
    path = _write(tmp_path, _laughs(10))
    assert path.stat().st_size < 1024
    err = _cli_err(path, capsys)
    assert f"expands to more than {MAX_NODES:,} values (aliases included)" in err


def test_aliases_below_the_limit_are_read(tmp_path: Path) -> None:
    """Aliases are fine while the expanded document stays small: 9**3 + 9**2 + ... values."""
    _, value = parse_yaml(_laughs(3), tmp_path / "x.yaml")
    assert len(value["pricing"]) == 9 and len(value["pricing"][0][0]) == 9


def test_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    """A recursive alias (a value containing itself) is refused at the alias."""
    path = _write(tmp_path, "pricing: &a\n  x: *a\n")
    (problem,) = _problems(path)
    assert problem.where == f"{path}:2:6"
    assert problem.message == "alias *a is inside its own anchor"


def test_alias_depth_counts_the_expanded_depth(tmp_path: Path) -> None:
    """An alias to a deep value placed deep again is as deep as the two together."""
    half = MAX_DEPTH // 2 + 2
    deep = "[" * half + "]" * half
    path = _write(tmp_path, f"a: &d {deep}\nb: {'[' * half}*d{']' * half}\n")
    (problem,) = _problems(path)
    assert problem.message == f"nested deeper than {MAX_DEPTH} levels"


def test_large_value_in_a_message_is_cut(tmp_path: Path) -> None:
    """A large aliased value where a string belongs: the message quotes its start only."""
    text = _laughs(4).replace("pricing: *l3", "broker:\n  ib:\n    host: *l3")
    problems = {p.where: p for p in _problems(_write(tmp_path, text))}
    assert set(problems) == {"l0", "l1", "l2", "l3", "broker.ib.host"}  # anchors: unknown keys
    assert len(str(problems["broker.ib.host"])) < 200


class _Counted:
    calls = 0

    def __repr__(self) -> str:
        _Counted.calls += 1
        return "c"


def test_render_looks_at_a_few_items_only() -> None:
    """A problem's value is rendered from a few items, not repr() of the whole value."""
    problem = ConfigProblem("x", "bad", [_Counted() for _ in range(1000)])
    text = str(problem)
    assert text.startswith("x = [c, c, c, c, ...]: bad")
    assert _Counted.calls <= 4


def test_render_of_a_huge_integer() -> None:
    """An integer Python refuses to print in decimal (> 4,300 digits) is described."""
    assert str(ConfigProblem("x", "bad", 10**5000)) == "x = <integer of 16,610 bits>: bad"


# ---- item 4: many problems ----------------------------------------------------------------
def test_twenty_thousand_unknown_keys_each_named_at_its_line(tmp_path: Path) -> None:
    """20,000 unknown keys: each problem names its key and its own line (the line lookup
    is one index per mapping, linear; docs/reliability.md has the timing)."""
    count = 20_000
    path = _write(tmp_path, "pricing:\n" + "".join(f"  k{i}: 1\n" for i in range(count)))
    problems = _problems(path)
    assert len(problems) == count
    by_key = {p.where: p.source for p in problems}
    assert all(by_key[f"pricing.k{i}"] == f"{path}:{i + 2}" for i in range(count))


# ---- item 5: non-finite numbers -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "signals:\n  rsi:\n    breakpoints: [[.nan, 1.0], [50, 0.0]]\n",
            "signals.rsi.breakpoints[0][0]",
            "must be a finite number",
        ),
        (
            "signals:\n  term:\n    breakpoints: [[0.8, .inf], [1.0, 0.0]]\n",
            "signals.term.breakpoints[0][1]",
            "must be a finite number",
        ),
        ("scalar:\n  max_value: .inf\n", "scalar.max_value", "must be a finite number"),
        ('signals:\n  rsi:\n    weight: "nan"\n', "signals.rsi.weight", "must be a finite number"),
        ("pricing:\n  iv_max_sigma: -.inf\n", "pricing.iv_max_sigma", "must be a finite number"),
        (
            "scenario:\n  vix_future_beta_by_dte: [[.nan, 0.5], [30, 0.4]]\n",
            "scenario.vix_future_beta_by_dte[0][0]",
            "must be a finite number",
        ),
        (
            "signals:\n  rsi:\n    breakpoints: [[30, 1.0e+308], [50, 0.0]]\n",
            "signals.rsi.breakpoints",
            "z values must be in [-1, 1]",
        ),
        (
            "signals:\n  skew:\n    breakpoints: [[1, 0.4], [2, 1.5]]\n",
            "signals.skew.breakpoints",
            "shares must be in [0, 1]",
        ),
    ],
)
def test_non_finite_and_out_of_range_numbers_are_refused(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    """NaN and infinity are refused in every number of the config, and a map's z stays
    in [-1, 1] (1e308 and NaN breakpoints were accepted and scored silently)."""
    (problem,) = _problems(_write(tmp_path, text))
    assert problem.where == where
    assert problem.message.startswith(message)


def test_clip_unit_refuses_nan() -> None:
    """clip_unit(NaN) raises: max(-1.0, nan) is -1.0, a silent 'calm' reading."""
    assert math.isnan(float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        clip_unit(float("nan"))


def test_map_with_a_non_finite_breakpoint_refuses_to_score() -> None:
    """A map built in code with a NaN z refuses to score instead of returning NaN."""
    with pytest.raises(ValueError, match="finite"):
        piecewise_linear(0.5, ((0.0, float("nan")), (1.0, 1.0)))
