"""Fan-out: one notification to every sink, each sink's failure contained.

As freqtrade's RPC manager does for its Telegram, webhook and API sinks: the publisher
calls ``publish`` once and never learns whether a sink failed. Here, in addition, a sink
that does I/O (``off_path``) never runs on the publisher's path: it has a bounded queue
and a worker task of its own, each delivery is abandoned after ``timeout_s`` (the worker
moves on; the abandoned thread ends on the library's own socket timeouts), and a sink
gets at most ``max_per_hour`` messages, the rest dropped and counted and the next one
sent saying how many were dropped. So a cycle never waits on a slow webhook or a dead
Telegram, and a storm of events cannot flood a phone.

Failures are logged (``notify_failed``, with the sink's name and the error's type, never
its text: an HTTP library's message can quote the URL, and the URL holds the token) and
counted in ``stats()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from daemon.runtime.notify.log_sink import LogNotifier
from daemon.runtime.notify.port import DEFAULT_REMOTE_EVENTS, Notification, Notifier, NotifyEvent

log = structlog.get_logger("alvh.notify")

# Messages waiting per remote sink. A hundred is hours of real events; beyond it the sink
# is dead or far too slow, and older news matters more than newer noise: new ones drop.
_QUEUE_SIZE = 100
_HOUR_S = 3600.0


@dataclass
class SinkStats:
    sent: int = 0
    failed: int = 0
    timed_out: int = 0
    rate_limited: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class _Lane:
    """One remote sink's queue, worker, send times (for the rate limit) and counters."""

    sink: Notifier
    stats: SinkStats = field(default_factory=SinkStats)
    sent_at: deque[float] = field(default_factory=deque)
    suppressed: int = 0
    queue: asyncio.Queue[Notification] | None = None
    worker: asyncio.Task[None] | None = None


class Fanout:
    def __init__(
        self,
        sinks: Sequence[Notifier],
        *,
        events: Iterable[NotifyEvent] = DEFAULT_REMOTE_EVENTS,
        timeout_s: float = 10.0,
        max_per_hour: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inline = [s for s in sinks if not s.off_path]
        self._lanes = [_Lane(s) for s in sinks if s.off_path]
        self._inline_stats = {s.name: SinkStats() for s in self._inline}
        self._events = frozenset(events)
        self._timeout_s = timeout_s
        self._max_per_hour = max_per_hour
        self._monotonic = monotonic

    @classmethod
    def log_only(cls) -> Fanout:
        return cls([LogNotifier()])

    @property
    def sink_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._inline) + tuple(lane.sink.name for lane in self._lanes)

    def stats(self) -> dict[str, dict[str, int]]:
        out = {name: s.to_json() for name, s in self._inline_stats.items()}
        out.update({lane.sink.name: lane.stats.to_json() for lane in self._lanes})
        return out

    def publish(self, note: Notification) -> None:
        """Hand ``note`` to every sink; returns at once and never raises."""
        for sink in self._inline:
            stats = self._inline_stats[sink.name]
            try:
                sink.send(note)
                stats.sent += 1
            except Exception as exc:  # a sink's bug must not become the publisher's
                stats.failed += 1
                log.warning("notify_failed", sink=sink.name, error=type(exc).__name__)
        if note.event in self._events:
            for lane in self._lanes:
                try:
                    self._enqueue(lane, note)
                except Exception as exc:  # as above: never the publisher's problem
                    lane.stats.dropped += 1
                    log.warning("notify_failed", sink=lane.sink.name, error=type(exc).__name__)

    def _enqueue(self, lane: _Lane, note: Notification) -> None:
        now = self._monotonic()
        while lane.sent_at and now - lane.sent_at[0] >= _HOUR_S:
            lane.sent_at.popleft()
        if len(lane.sent_at) >= self._max_per_hour:
            lane.stats.rate_limited += 1
            lane.suppressed += 1
            # Warn once per burst; the rest of it at debug (the counter has them all).
            say = log.warning if lane.suppressed == 1 else log.debug
            say("notify_rate_limited", sink=lane.sink.name, notification=note.event.value)
            return
        try:
            queue = self._queue(lane)
        except RuntimeError:  # no running loop: nothing could ever deliver it
            lane.stats.dropped += 1
            log.warning("notify_dropped", sink=lane.sink.name, reason="no event loop")
            return
        if lane.suppressed:
            dropped = f"{lane.suppressed} earlier message(s) not sent: rate limit"
            note = replace(note, line=f"{note.line}  ({dropped})")
        try:
            queue.put_nowait(note)
        except asyncio.QueueFull:
            lane.stats.dropped += 1
            log.warning("notify_dropped", sink=lane.sink.name, reason="queue full")
            return
        lane.suppressed = 0
        lane.sent_at.append(now)

    def _queue(self, lane: _Lane) -> asyncio.Queue[Notification]:
        loop = asyncio.get_running_loop()
        if lane.queue is None or lane.worker is None or lane.worker.get_loop() is not loop:
            lane.queue = asyncio.Queue(_QUEUE_SIZE)
            lane.worker = loop.create_task(self._work(lane, lane.queue), name=lane.sink.name)
        return lane.queue

    async def _work(self, lane: _Lane, queue: asyncio.Queue[Notification]) -> None:
        while True:
            note = await queue.get()
            try:
                await asyncio.wait_for(asyncio.to_thread(lane.sink.send, note), self._timeout_s)
                lane.stats.sent += 1
            except TimeoutError:
                lane.stats.timed_out += 1
                log.warning("notify_failed", sink=lane.sink.name, error="timeout")
            except Exception as exc:
                lane.stats.failed += 1
                log.warning("notify_failed", sink=lane.sink.name, error=type(exc).__name__)
            finally:
                queue.task_done()

    async def close(self, within_s: float | None = None) -> None:
        """Deliver what is queued (bounded by ``within_s``, default one timeout per
        sink in parallel), then stop the workers."""
        bound = self._timeout_s + 1.0 if within_s is None else within_s
        pending = [lane for lane in self._lanes if lane.queue is not None]
        waits: list[Any] = [lane.queue.join() for lane in pending if lane.queue is not None]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), bound)
        for lane in pending:
            if lane.worker is not None:
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.worker
            lane.queue, lane.worker = None, None
