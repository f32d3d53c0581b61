"""systemd's notify protocol, spoken directly: one datagram per message on NOTIFY_SOCKET.

The protocol (sd_notify(3)): newline-separated ``KEY=VALUE`` assignments sent as one
datagram to the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's
abstract namespace). ``$WATCHDOG_USEC`` is the unit's ``WatchdogSec``; when
``$WATCHDOG_PID`` is set the watchdog is meant for that process only. Sending
``WATCHDOG=1`` every half of that interval is what sd_watchdog_enabled(3) advises. A few
lines, so no dependency on libsystemd.

Outside systemd (no NOTIFY_SOCKET) every call is a no-op. A send that fails (systemd gone,
socket full) is logged once and otherwise ignored: notification never stops the daemon.

What the service sends: ``WATCHDOG=1`` from ``Watchdog``, from the start and only while
the scheduler check passes; ``READY=1`` (with a STATUS) once the warm-up attempt is over;
``STATUS=`` after every cycle; ``STOPPING=1`` when the stop begins.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger("alvh.sdnotify")


class SdNotifier:
    def __init__(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        env = os.environ if env is None else env
        path = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        self._warned = False
        self.watchdog_interval_s: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        owner = env.get("WATCHDOG_PID", "")
        mine = owner == "" or owner == str(os.getpid() if pid is None else pid)
        if usec.isdigit() and int(usec) > 0 and mine:
            self.watchdog_interval_s = int(usec) / 1e6 / 2

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, **fields: str) -> None:
        """Send ``KEY=VALUE`` lines in one datagram (keys as given, e.g. READY="1")."""
        if not self._address:
            return
        message = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self._address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("sd_notify_failed", reason=str(exc), message=message)

    def ready(self, status: str) -> None:
        self.notify(READY="1", STATUS=status)

    def status(self, text: str) -> None:
        self.notify(STATUS=text)

    def watchdog(self) -> None:
        self.notify(WATCHDOG="1")

    def stopping(self, status: str) -> None:
        self.notify(STOPPING="1", STATUS=status)


def _one_line(value: str) -> str:
    # A newline would start a new assignment: a status text must not inject one.
    return " ".join(value.splitlines())


class Watchdog:
    """Feeds the systemd watchdog while ``alive()`` holds.

    It runs as its own asyncio task, apart from the scheduler it watches: a paused or
    wedged scheduler stops the beats, ``alive()`` turns false and the pings stop, so
    systemd restarts the daemon after WatchdogSec. A blocked event loop stops this task
    too, with the same result."""

    def __init__(self, notifier: SdNotifier, alive: Callable[[], bool]) -> None:
        self._notifier = notifier
        self._alive = alive
        self.rounds = 0  # how many times it looked (tests wait on this, not on time)
        self.withheld = 0  # how many of those it did not ping

    def tick(self) -> bool:
        """One look: ping if alive. Returns whether it pinged."""
        self.rounds += 1
        if self._alive():
            self._notifier.watchdog()
            self.withheld = 0
            return True
        self.withheld += 1
        if self.withheld == 1 or self.withheld % 10 == 0:
            log.error("watchdog_withheld", rounds_withheld=self.withheld)
        return False

    async def run(self, interval_s: float) -> None:
        while True:
            self.tick()
            await asyncio.sleep(interval_s)
