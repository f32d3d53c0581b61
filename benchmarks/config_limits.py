"""Hostile config files through `alvh check-config`: exit code, wall time, peak memory.

Usage: .venv/bin/python benchmarks/config_limits.py

Each case of issue 12's config findings runs in a fresh child process
(``python -m daemon check-config FILE``); its wall time includes the ~1-2 s of importing
the daemon, its peak memory is the child's maximum resident set (``wait4``). The figures
go in docs/reliability.md, "Bad configuration".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _laughs(levels: int) -> str:
    text = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + f"pricing: *l{levels - 1}\n"


def _cases(tmp: Path) -> dict[str, str]:
    texts = {
        "NUL byte": "pricing:\n  risk_free_rate_frac: 0.04\x00\n",
        "20,000 levels of nesting": "a: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "5,000-digit integer": "broker:\n  ib:\n    port: " + "9" * 5000 + "\n",
        "1 KB alias bomb (9^10 values)": _laughs(10),
        "20,000 unknown keys": "pricing:\n" + "".join(f"  k{i}: 1\n" for i in range(20_000)),
        "NaN breakpoint": "signals:\n  rsi:\n    breakpoints: [[.nan, 1.0], [50, 0.0]]\n",
    }
    paths = {}
    for i, (name, text) in enumerate(texts.items()):
        path = tmp / f"case{i}.yaml"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    big = tmp / "big.yaml"
    with big.open("wb") as file:
        file.truncate(50 * 1024 * 1024)
    paths["50 MB file"] = str(big)
    paths["/dev/zero"] = "/dev/zero"
    os.mkfifo(tmp / "fifo")
    paths["FIFO"] = str(tmp / "fifo")
    paths["config/default.yaml (valid)"] = str(ROOT / "config" / "default.yaml")
    return paths


def _run(path: str, tmp: Path) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS MiB, first output line) of one child."""
    log = tmp / "out.txt"
    start = time.perf_counter()
    with log.open("w") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "daemon", "check-config", path],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    lines = log.read_text(errors="replace").splitlines()
    return child.returncode, elapsed, usage.ru_maxrss / 1024, lines[0] if lines else ""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("| case | exit | wall s | peak RSS MiB | first line |")
        print("| --- | --- | --- | --- | --- |")
        for name, path in _cases(Path(tmp)).items():
            code, elapsed, peak, first = _run(path, Path(tmp))
            first = first.replace(tmp, "TMP")[:90]
            print(f"| {name} | {code} | {elapsed:.1f} | {peak:.0f} | `{first}` |")


if __name__ == "__main__":
    main()
