"""``alvh replay``: the policies side by side, one process each, with a progress bar.

Each policy runs in its own process (``spawn``), into its own journal
``<out>/<policy>.sqlite`` and log ``<out>/<policy>.log`` (warnings and errors only: the
journal keeps the cycles). At most ``jobs`` run at once. Progress comes back over a
queue: a ``rich`` progress bar on a terminal, one line per tenth of the way otherwise.

Ctrl-C (SIGINT) stops cleanly: the children ignore the signal, the parent sets a shared
stop flag, each child finishes its session, closes its journal with the run's end
reason ``interrupted``, and exits; what was replayed stays in the journals (exit 130).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing as mp
import queue
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from daemon.config import AppConfig
from daemon.core.calendar import session_bounds
from daemon.events_file import load_events
from daemon.logs import configure_logging, set_market_clock
from daemon.replay.runner import PolicyReplay
from daemon.replay.source import (
    ReplayMarket,
    calendar_sessions,
    historical_market,
    sim_market,
)

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class PolicyOutcome:
    policy: str
    sessions_done: int
    sessions_total: int
    final_equity_usd: float | None
    status: str  # done | interrupted | error: ...


def make_market(data: str, config: AppConfig, first: date) -> ReplayMarket:
    """``sim``: the stochastic market; otherwise a directory of history (``daemon.replay.data``)."""
    if data == "sim":
        start = session_bounds(first)[0]
        return sim_market(config.sim, start, load_events(config.events_path))
    return historical_market(Path(data), config.sim, first)


# Allocations between young-generation collections while a replay runs (Python's default
# is 700). A session builds tens of thousands of short-lived objects (quotes, views,
# records); at 700 the collector ran several times a session and its passes, with the
# cache they evict, were about a fifth of the replay's CPU (docs/benchmarks.md).
_REPLAY_GC_YOUNG = 10_000


@contextlib.contextmanager
def _replay_collector() -> Iterator[None]:
    """The cyclic collector tuned for a replay, restored after it: the loaded history
    (immutable for the run: ~130,000 tracked objects) is frozen out of the collector's
    walks, and young collections run less often. Cyclic garbage is still collected. A
    process that froze objects itself keeps its own freeze (it is not undone here)."""
    before = gc.get_threshold()
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.collect()
        gc.freeze()
    gc.set_threshold(_REPLAY_GC_YOUNG, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if ours:
            gc.unfreeze()


async def replay_policy(
    policy: str,
    config: AppConfig,
    market: ReplayMarket,
    first: date,
    last: date,
    journal_path: Path,
    *,
    stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> PolicyOutcome:
    """One policy over ``first``..``last`` in this process (the tests call this)."""
    days = market.sessions(first, last)
    if not days:
        raise ValueError(f"no session with market data between {first} and {last}")
    run = PolicyReplay(policy, config, market, journal_path)
    await run.open(first, last)
    done, equity, reason = 0, None, "done"
    set_market_clock(run.clock.now)  # log lines carry the replay's market time
    try:
        with _replay_collector():
            for i, day in enumerate(days):
                if stop():
                    reason = "interrupted"
                    break
                result = await run.session(day, first=(i == 0))
                done, equity = i + 1, result.accounts.equity_usd
                if progress is not None:
                    progress(done, len(days), equity)
    except Exception as exc:
        reason = f"error: {type(exc).__name__}: {exc}"
        raise
    finally:
        await run.close(reason)
        set_market_clock(None)
    return PolicyOutcome(policy, done, len(days), equity, reason)


def _child(
    policy: str,
    config: AppConfig,
    data: str,
    first: date,
    last: date,
    out: Path,
    updates: Any,
    stop: Event,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    with (out / f"{policy}.log").open("a") as log_file:
        configure_logging("warning", "json", stream=log_file)

        def progress(done: int, total: int, equity: float) -> None:
            updates.put(("progress", policy, done, total, equity))

        try:
            market = make_market(data, config, first)
            outcome = asyncio.run(
                replay_policy(
                    policy,
                    config,
                    market,
                    first,
                    last,
                    out / f"{policy}.sqlite",
                    stop=stop.is_set,
                    progress=progress,
                )
            )
            updates.put(("end", policy, outcome))
        except Exception as exc:
            updates.put(("error", policy, f"{type(exc).__name__}: {exc}"))


class _Display:
    """A rich progress bar per policy on a terminal; plain lines otherwise."""

    def __init__(self, policies: Sequence[str], total: int, tty: bool) -> None:
        self._tty = tty
        self._last_tenth: dict[str, int] = {}
        self._bar: Any = None
        if tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description:>10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[equity]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self._tasks = {p: self._bar.add_task(p, total=total, equity="") for p in policies}

    def __enter__(self) -> _Display:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, policy: str, done: int, total: int, equity: float) -> None:
        if self._bar is not None:
            text = f"equity {equity:,.0f} USD"
            self._bar.update(self._tasks[policy], completed=done, equity=text)
            return
        tenth = done * 10 // max(total, 1)
        if tenth > self._last_tenth.get(policy, -1):
            self._last_tenth[policy] = tenth
            print(f"{policy}: {done}/{total} sessions, equity {equity:,.2f} USD", flush=True)

    def say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, flush=True)


def _start_ignoring_sigint(proc: Any) -> None:
    """Start a child with SIGINT ignored from its first instruction: a spawned Python
    keeps an inherited SIG_IGN (it installs its KeyboardInterrupt handler only when the
    signal is not ignored), so a Ctrl-C while the child is still importing cannot kill
    it; the parent alone decides when the children stop (the stop flag)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def run_replay(
    policies: Sequence[str],
    config: AppConfig,
    data: str,
    first: date,
    last: date,
    out: Path,
    jobs: int,
) -> tuple[list[PolicyOutcome | str], bool]:
    """Every policy, ``jobs`` processes at a time; returns the outcomes (or error texts)
    and whether the user interrupted."""
    out.mkdir(parents=True, exist_ok=True)
    total = len(calendar_sessions(first, last))
    ctx = mp.get_context("spawn")
    updates = ctx.Queue()
    stop = ctx.Event()
    pending = list(policies)
    running: dict[str, Any] = {}
    results: dict[str, PolicyOutcome | str] = {}
    interrupted = False
    with _Display(policies, total, sys.stderr.isatty()) as display:
        while pending or running:
            while pending and len(running) < jobs and not stop.is_set():
                policy = pending.pop(0)
                args = (policy, config, data, first, last, out, updates, stop)
                running[policy] = ctx.Process(target=_child, args=args, name=f"replay-{policy}")
                _start_ignoring_sigint(running[policy])
            if stop.is_set():
                pending.clear()
            try:
                message = updates.get(timeout=0.5)
            except queue.Empty:
                for policy, proc in list(running.items()):
                    if not proc.is_alive():
                        running.pop(policy)
                        results.setdefault(policy, f"process ended with code {proc.exitcode}")
                continue
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
                display.say("interrupted: finishing the current session of each policy")
                continue
            kind, policy = message[0], message[1]
            if kind == "progress":
                display.update(policy, *message[2:])
            else:
                results[policy] = message[2]
                if kind == "error":
                    display.say(f"{policy}: {message[2]}")
                proc = running.pop(policy, None)
                if proc is not None:
                    with contextlib.suppress(KeyboardInterrupt):
                        proc.join()
    return [results.get(p, "not started") for p in policies], interrupted
