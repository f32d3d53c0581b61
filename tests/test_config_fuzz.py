"""Config fuzzer: mutated configs through `alvh check-config` exit 0 or 2, never worse.

The bad-input half of the campaign of issue 12. Hypothesis mutates the shipped
``config/default.yaml`` (a value swapped for a hostile one, a key renamed or deleted, a
character inserted, a line dropped or doubled, an ``ALVH_*`` variable set) and runs the
real entry point, ``daemon.cli.main(["check-config", ...])``, in-process. Every case must:

- exit 0 with one "config ok" line, or 2 with only "config error: " lines (an exception
  escaping ``main`` is the traceback a user would see, and fails the test);
- name the field when a value, key or variable was mutated and refused;
- when accepted, hold no NaN or infinity anywhere;
- finish within ``CASE_LIMIT_S`` (a watchdog against hangs, not a speed test).

A few hostile files (alias bomb, deep nesting, /dev/zero, a FIFO) also run in a child
process, whose peak memory is bounded. The quick version (derandomized, so the same cases
every run) is part of ``make test``; ``ALVH_FUZZ_EXAMPLES=5000`` runs a long, random one.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.cli import main
from daemon.config import ENV_OVERRIDES, load_config

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
EXAMPLES = int(os.environ.get("ALVH_FUZZ_EXAMPLES", "0"))
CASE_LIMIT_S = 30
# One folder for every case (check-config creates nothing in it), removed at exit.
_TMP_DIR = tempfile.TemporaryDirectory(prefix="alvh-fuzz-")
TMP = Path(_TMP_DIR.name)
QUICK = settings(
    max_examples=EXAMPLES or 6,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

Path_ = tuple[str | int, ...]


def _leaves(value: Any, prefix: Path_ = ()) -> list[Path_]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*prefix, k))] or [prefix]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*prefix, i))]
    return [prefix]


LEAVES = [p for p in _leaves(BASE) if p]


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _parent(config: Any, path: Path_) -> Any:
    for part in path[:-1]:
        config = config[part]
    return config


def _localise(config: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Every path the check looks at points into ``tmp`` or the project, whatever the cwd."""
    config["events_path"] = str(ROOT / "config" / "events.yaml")
    config["journal"]["path"] = str(tmp / "journal.sqlite")
    config["execution"]["kill_switch_path"] = str(tmp / "KILL")
    return config


HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324]),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e999", "0x1f", "\x00", "~", "yes"]),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-5, 5), max_size=4),
    st.just([[math.nan, 0.0], [1.0, 1.0]]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@contextlib.contextmanager
def _watchdog(seconds: int) -> Iterator[None]:
    """Raise in the test if one case takes longer than ``seconds`` (a hang, not slowness)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"one config case took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check(text: str, env: dict[str, str] | None = None) -> tuple[int, str, str, Path]:
    """check-config on ``text`` through the real entry point: (exit, stdout, stderr)."""
    path = TMP / "config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.pop(name) for name in ENV_OVERRIDES if name in os.environ}
    os.environ.update(env or {})
    try:
        with (
            _watchdog(CASE_LIMIT_S),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(["check-config", str(path)])
    finally:
        for name in env or {}:
            os.environ.pop(name, None)
        os.environ.update(saved)
    _assert_well_formed(code, out.getvalue(), err.getvalue(), path, env or {})
    return code, out.getvalue(), err.getvalue(), path


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return True


def _assert_well_formed(code: int, out: str, err: str, path: Path, env: dict[str, str]) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 0:
        assert out.startswith(f"config ok: {path} (") and err == ""
        config = load_config(path, env)
        assert _finite(config.model_dump(mode="python")), "an accepted config holds NaN/inf"
    else:
        assert out == ""
        lines = err.splitlines()
        assert lines and all(line.startswith("config error: ") for line in lines), err


def _dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def _mutable() -> tuple[dict[str, Any], Path]:
    return _localise(yaml.safe_load(_dump(BASE)), TMP), TMP


@QUICK
@given(path=st.sampled_from(LEAVES), value=HOSTILE)
# The campaign's findings, tried on every run whatever the generator draws:
@example(path=("signals", "rsi", "breakpoints"), value=[[math.nan, 1.0], [50.0, 0.0]])
@example(path=("signals", "term", "breakpoints"), value=[[0.8, 1e308], [1.0, 0.0]])
@example(path=("scalar", "max_value"), value=math.inf)
@example(path=("journal", "path"), value="")
@example(path=("events_path",), value="no-such-events.yaml")
def test_hostile_value_is_refused_naming_the_field(path: Path_, value: Any) -> None:
    """A leaf swapped for a hostile value: accepted, or refused with the field named."""
    config, _ = _mutable()
    _parent(config, path)[path[-1]] = value
    code, _, err, _ = _check(_dump(config))
    if code == 2:
        assert str(path[-1]) in err, (_dotted(path), err)


@QUICK
@given(path=st.sampled_from(LEAVES), suffix=st.sampled_from(["_x", "s", "_min", "X"]))
def test_renamed_key_is_an_unknown_key(path: Path_, suffix: str) -> None:
    """A key renamed (a typo) is refused as an unknown key at its dotted path."""
    config, _ = _mutable()
    parent = _parent(config, path)
    parent[f"{path[-1]}{suffix}"] = parent.pop(path[-1])
    code, _, err, _ = _check(_dump(config))
    assert code == 2
    renamed = _dotted((*path[:-1], f"{path[-1]}{suffix}"))
    assert f"config error: {renamed} = " in err and "unknown key" in err, err


@QUICK
@given(path=st.sampled_from(LEAVES))
def test_deleted_key_falls_back_or_is_named(path: Path_) -> None:
    """A key deleted takes its default (every key is optional) or, inside a list entry
    with required keys, is refused as missing, named."""
    config, _ = _mutable()
    del _parent(config, path)[path[-1]]
    code, _, err, _ = _check(_dump(config))
    in_list = any(isinstance(part, int) for part in path)
    assert code == (2 if in_list and code else 0)
    if code:
        assert f"{_dotted(path)}: required, but missing" in err


EDITS = st.sampled_from(["\x00", "\t", ":", "[", "{", "&a ", "*a", "!!", "- ", "'", '"', "\ufeff"])


@QUICK
@given(data=st.data(), edit=st.sampled_from(["insert", "drop_line", "double_line", "indent"]))
def test_text_edit_is_read_or_refused_cleanly(data: st.DataObject, edit: str) -> None:
    """A character inserted, a line dropped, doubled or indented: 0 or 2, never worse."""
    config, _ = _mutable()
    text = _dump(config)
    lines = text.splitlines(keepends=True)
    at = data.draw(st.integers(0, len(lines) - 1), label="line")
    if edit == "insert":
        column = data.draw(st.integers(0, len(lines[at])), label="column")
        char = data.draw(EDITS | st.characters(), label="char")
        lines[at] = lines[at][:column] + char + lines[at][column:]
    elif edit == "drop_line":
        del lines[at]
    elif edit == "double_line":
        lines.insert(at, lines[at])
    else:
        lines[at] = "   " + lines[at]
    _check("".join(lines))


@QUICK
@given(name=st.sampled_from(sorted(ENV_OVERRIDES)), value=st.text(min_size=1, max_size=40))
def test_environment_override_is_named(name: str, value: str) -> None:
    """An ALVH_* variable with any value: accepted, or refused naming the variable."""
    value = value.replace("\x00", "")
    if not value:
        return
    config, _ = _mutable()
    code, _, err, _ = _check(_dump(config), env={name: value})
    if code == 2:
        assert name in err, err


# ---- hostile files in a child process: bounded memory -------------------------------------
def _laughs(levels: int) -> str:
    text = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + f"pricing: *l{levels - 1}\n"


CHILD = """
import sys
from daemon.cli import main
codes = [main(["check-config", p]) for p in sys.argv[1:]]
print(" ".join(map(str, codes)))
"""


def test_hostile_files_in_a_child_process_stay_small(tmp_path: Path) -> None:
    """Alias bomb, 20,000-level nesting, a 5,000-digit integer, a NUL, /dev/zero and a
    FIFO, in one child process: each exit 2, no traceback, peak memory under 1 GiB."""
    files = {
        "bomb.yaml": _laughs(10),
        "deep.yaml": "a: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "int.yaml": "broker:\n  ib:\n    port: " + "9" * 5000 + "\n",
        "nul.yaml": "pricing: {risk_free_rate_frac: 0.04}\x00\n",
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    if Path("/dev/zero").exists():
        paths.append("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        paths.append(str(tmp_path / "fifo"))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"] * len(paths)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == len(paths)
    # ru_maxrss: the largest child so far, in KiB on Linux (bytes on macOS: still a bound).
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1024 * 1024


def test_fuzz_base_config_is_valid() -> None:
    """The fuzzer's base (default.yaml re-dumped, paths localised) passes: mutations are
    what fails, not the base."""
    config, _ = _mutable()
    assert _check(_dump(config))[0] == 0
