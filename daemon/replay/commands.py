"""``alvh replay`` and ``alvh report`` (docs/replay.md)."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

from daemon.config import config_path, load_config
from daemon.errors import ConfigError
from daemon.replay.parallel import PolicyOutcome, run_replay
from daemon.replay.policies import POLICIES

EXIT_INTERRUPTED = 130


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _policies(text: str) -> list[str]:
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown policy {', '.join(unknown) or '(none)'}: allowed {','.join(POLICIES)}"
        )
    return list(dict.fromkeys(chosen))


def replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, help="directory of market history, or 'sim' (stochastic market)"
    )
    parser.add_argument(
        "--from", dest="first", metavar="YYYY-MM-DD", type=_day, required=True, help="first day"
    )
    parser.add_argument(
        "--to", dest="last", metavar="YYYY-MM-DD", type=_day, required=True, help="last day"
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the journals")
    parser.add_argument(
        "--hedge",
        type=_policies,
        default=list(POLICIES),
        help=f"policies, comma separated (default {','.join(POLICIES)})",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes at once (default: cores)"
    )


def replay(args: argparse.Namespace) -> int:
    config = load_config(config_path(args), os.environ)
    if args.last < args.first:
        raise ConfigError.single("--to", f"before --from ({args.first})", value=str(args.last))
    taken = [p for p in args.hedge if (args.out / f"{p}.sqlite").exists()]
    if taken:
        raise ConfigError.single(
            "--out", f"journals already there for {', '.join(taken)}", value=str(args.out)
        )
    outcomes, interrupted = run_replay(
        args.hedge, config, args.data, args.first, args.last, args.out, max(1, args.jobs)
    )
    failed = False
    for policy, outcome in zip(args.hedge, outcomes, strict=True):
        if isinstance(outcome, PolicyOutcome):
            equity = "-" if outcome.final_equity_usd is None else f"{outcome.final_equity_usd:,.2f}"
            print(
                f"{policy}: {outcome.status}, {outcome.sessions_done}/{outcome.sessions_total}"
                f" sessions, equity {equity} USD -> {args.out / (policy + '.sqlite')}"
            )
        else:
            failed = True
            print(f"{policy}: {outcome}")
    if interrupted:
        return EXIT_INTERRUPTED
    return 1 if failed else 0


def report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "journals",
        nargs="*",
        type=Path,
        help="journals to read (none, and no --from-dir: the configured journal.path)",
    )
    parser.add_argument(
        "--from-dir", type=Path, help="take every *.sqlite journal of this directory"
    )
    parser.add_argument("--out", type=Path, default=Path("report"), help="output directory")


def report(args: argparse.Namespace) -> int:
    # Imported here: matplotlib is slow to import, and every replay process would pay
    # for it (a spawned process imports the command line's modules again).
    from rich.console import Console

    from daemon.replay.report import build_report, print_report, write_report

    config = load_config(config_path(args), os.environ)
    journals = list(args.journals)
    if args.from_dir is not None:
        journals += sorted(args.from_dir.glob("*.sqlite"))
    if not journals:
        journals = [config.journal.path]
    built = build_report(journals, config.replay.report)
    page = write_report(built, args.out)
    print_report(built, Console())
    print(f"report: {page}")
    return 0
