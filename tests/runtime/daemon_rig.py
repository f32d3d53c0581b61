"""``alvh run`` as a process, for the tests that start daemons: each is reaped when its
test ends, however it ends.

``Daemons`` starts them and, on leaving its block (or at the ``daemons`` fixture's
teardown, ``tests/runtime/conftest.py``), kills every one still running (SIGKILL) and
waits for it: a failed assertion, a timeout or an exception between a start and its
stop would otherwise leave a daemon running past the test, holding its journal's lock,
its port and a share of the machine, and it would be reaped by nobody.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from signal import Signals
from types import TracebackType
from typing import Any

POLL_TIMEOUT_S = 60.0


class Daemon:
    """One ``alvh run`` process, its stdout and stderr in files of ``directory``."""

    def __init__(self, directory: Path, config: Path, name: str) -> None:
        self.stdout = directory / f"{name}.out"
        self.stderr = directory / f"{name}.err"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon", "run", "--config", str(config)],
                cwd=directory,
                stdout=out,
                stderr=err,
            )

    def wait_until(self, what: str, ready: Callable[[], bool], poll_s: float = 0.2) -> None:
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while not ready():
            code = self.proc.poll()
            assert code is None, f"daemon exited ({code}) waiting for {what}:\n{self.tail()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{self.tail()}"
            time.sleep(poll_s)

    def stop(self, sig: Signals) -> int:
        assert self.proc.poll() is None, f"daemon died before {sig.name}:\n{self.tail()}"
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=POLL_TIMEOUT_S)

    def reap(self) -> None:
        """Kill it if it still runs, and collect its exit status either way."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=POLL_TIMEOUT_S)

    def tail(self) -> str:
        return "\n".join(self.stderr.read_text().splitlines()[-20:])

    def lines(self) -> list[dict[str, Any]]:
        """Every stderr line, parsed; each must be one JSON object with an event."""
        out = []
        for text in self.stderr.read_text().splitlines():
            if not text.strip():
                continue
            entry = json.loads(text)
            assert isinstance(entry, dict) and entry.get("event"), text
            out.append(entry)
        return out


class Daemons:
    """The daemons one test starts; every one is reaped when the block is left."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.started: list[Daemon] = []

    def start(self, config: Path, name: str) -> Daemon:
        daemon = Daemon(self._directory, config, name)
        self.started.append(daemon)
        return daemon

    def reap(self) -> None:
        """Each one, even when reaping another fails; the first failure is raised after."""
        failures: list[subprocess.TimeoutExpired] = []
        for daemon in self.started:
            try:
                daemon.reap()
            except subprocess.TimeoutExpired as exc:  # a SIGKILLed process that never ends
                failures.append(exc)
        if failures:
            raise failures[0]

    def __enter__(self) -> Daemons:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.reap()
