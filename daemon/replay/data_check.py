"""``alvh data check DIR``: is a directory of history fit for ``alvh replay``?

Reads every file of ``DATA_FILES`` with the replay's own readers and prints each problem
as ``file:line: severity: message`` (at most ``max_per_file`` per file, then a count),
then one line per file (rows kept and their date range, or why it is unavailable) and
what the replay will do without it. Exit code 0 when no file has an error, 2 otherwise
(the CLI's code for bad input); warnings (rows dropped or repaired by a documented rule)
do not fail the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from daemon.replay.data import DATA_FILES, read_files
from daemon.replay.data_formats import FileRows, Problem

EXIT_OK, EXIT_BAD = 0, 2


@dataclass(frozen=True)
class DataReport:
    files: dict[str, FileRows]

    @property
    def problems(self) -> list[Problem]:
        return [p for rows in self.files.values() for p in rows.problems]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_data_dir(data_dir: Path) -> DataReport:
    """Every file read and checked; the duplicate-day check of the loader included."""
    files = read_files(data_dir)
    for spec in DATA_FILES:
        rows = files[spec.key]
        if spec.key in ("vx_contracts", "fomc", "cpi"):
            continue  # many rows a day (contracts) or a plain date list
        seen: dict[date, int] = {}
        for day, _ in rows.rows:
            seen[day] = seen.get(day, 0) + 1
        for day, count in seen.items():
            if count > 1:
                rows.error(0, f"{day} appears {count} times")
    return DataReport(files)


def _summary(rows: FileRows) -> str:
    if not rows.rows:
        return "no usable row"
    days = [d for d, _ in rows.rows]
    return f"{len(rows.rows)} rows kept, {min(days)}..{max(days)}"


def print_report(
    report: DataReport, data_dir: Path, out: Callable[[str], None], max_per_file: int = 50
) -> int:
    """Print the report through ``out``; returns the exit code."""
    for spec in DATA_FILES:
        rows = report.files[spec.key]
        for problem in rows.problems[:max_per_file]:
            out(str(problem))
        if len(rows.problems) > max_per_file:
            out(f"{spec.name}: ... {len(rows.problems) - max_per_file} more problems")
    out(f"data in {data_dir}:")
    for spec in DATA_FILES:
        rows = report.files[spec.key]
        errors = sum(p.severity == "error" for p in rows.problems)
        warnings = len(rows.problems) - errors
        status = "BAD" if errors else "ok "
        need = "required" if spec.required else f"for {spec.what}"
        out(
            f"  {status} {spec.name} ({need}): {_summary(rows)}; "
            f"{errors} errors, {warnings} warnings"
        )
    errors = len(report.errors)
    out(f"{'data ok' if report.ok else 'data BAD'}: {errors} errors, "
        f"{len(report.problems) - errors} warnings")  # fmt: skip
    return EXIT_OK if report.ok else EXIT_BAD
