"""The ``alvh`` command line: subcommands from one table, errors as lines, never tracebacks.

A command is a ``Command`` row in ``COMMANDS``: its name, one line of help, a function
adding its arguments and a function running it that returns the exit code. Every command
sees the global ``--config PATH`` (before or after the command name) as ``args.config``,
None when not given; ``config_path(args)`` picks the file.

Exit codes: 0 success, 1 an ``AlvhError`` other than the ones below, 2 a configuration
error or bad usage (argparse's own convention), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from daemon import commands
from daemon.config import (
    DEFAULT_CONFIG,
    ENV_OVERRIDES,
    AppConfig,
    config_path,
    load_config,
    tunable_count,
)
from daemon.errors import AlvhError, ConfigError
from daemon.preflight import check_startup
from daemon.replay import commands as replay_commands

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def describe(config: AppConfig) -> str:
    """One line saying what a config will do."""
    broker: str = config.broker.kind
    if broker == "ib":
        broker += f"@{config.broker.ib.host}:{config.broker.ib.port}"
    return (
        f"broker={broker}, mode={config.execution.mode}, "
        f"cycle every {config.schedule.cycle_interval_min} min, {tunable_count()} tunables"
    )


def _env_note(env: Mapping[str, str]) -> str:
    """Which overrides came from the environment, so a surprise has a visible cause."""
    names = [name for name in ENV_OVERRIDES if env.get(name, "") != ""]
    return f"; from the environment: {', '.join(names)}" if names else ""


# ---- check-config ---------------------------------------------------------------------------
def _check_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help=f"the file to check (default: --config, else {DEFAULT_CONFIG})",
    )


def _check_config(args: argparse.Namespace) -> int:
    path: Path = args.path if args.path is not None else config_path(args)
    config = load_config(path, os.environ)  # a ConfigError is reported by main()
    # Then what `run` loads at start-up (events, custom signals, journal path, ...), so
    # "config ok" means start-up gets past its loading; nothing is created or modified.
    check_startup(config, os.environ)
    print(f"config ok: {path} ({describe(config)}{_env_note(os.environ)})")
    return 0


# ---- data check ------------------------------------------------------------------------------
def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("check",), help="check: validate a data directory")
    parser.add_argument("dir", type=Path, help="the directory of history CSVs (docs/replay.md)")


def _data(args: argparse.Namespace) -> int:
    from daemon.replay.data_check import check_data_dir, print_report

    if not args.dir.is_dir():
        print(f"error: no data directory at {args.dir}", file=sys.stderr)
        return 2
    return print_report(check_data_dir(args.dir), args.dir, print)


COMMANDS: tuple[Command, ...] = (
    Command(
        "run",
        "run the daemon: cycles during market hours until SIGTERM/SIGINT",
        commands.run_arguments,
        commands.run,
    ),
    Command(
        "once",
        "run one cycle now and print its result",
        commands.once_arguments,
        commands.once,
    ),
    Command(
        "check-config",
        "validate a config file (and the ALVH_* environment overrides) and load what `run`"
        " loads at start-up (events, custom signals, journal path), print a summary",
        _check_config_arguments,
        _check_config,
    ),
    Command(
        "journal",
        "list recent cycles, adjustments, orders or events from the journal",
        commands.journal_arguments,
        commands.journal,
    ),
    Command(
        "replay",
        "replay the daemon and the comparison hedges over market history, a journal each",
        replay_commands.replay_arguments,
        replay_commands.replay,
    ),
    Command(
        "report",
        "equity, drawdowns and hedge economics of replay (or live) journals: tables and plots",
        replay_commands.report_arguments,
        replay_commands.report,
    ),
    Command(
        "data",
        "check a directory of market history for `alvh replay`: names each bad file and row",
        _data_arguments,
        _data,
    ),
)


# ---- the entry point ------------------------------------------------------------------------
def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alvh", description="Adaptive Layered VIX Hedge daemon.")
    parser.add_argument("--config", metavar="PATH", help=f"config file (default {DEFAULT_CONFIG})")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        # Also accepted after the command name; SUPPRESS keeps the global value otherwise.
        sub.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _report(error: AlvhError) -> None:
    if isinstance(error, ConfigError):
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``alvh`` command; returns its exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except AlvhError as error:
        _report(error)
        return error.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
