"""Fan-out of order events to subscribers: one asyncio queue per open stream.

An ``EventStream`` is registered the moment it is created, so a caller that opens one
before placing an order sees every event of that order. Both adapters publish through a
hub: the simulated broker from its matching engine, the IB adapter from the client
library's order-status and execution callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from daemon.core.broker import OrderEvent


class _End:
    """Queued after the last event of a closed stream."""


_END = _End()


class EventStream:
    """An ``OrderEventStream`` (``daemon.core.broker``): ``async for`` it, ``close()`` it."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[OrderEvent | _End] = asyncio.Queue()
        self._closed = False

    def push(self, event: OrderEvent) -> None:
        if not self._closed:
            self._queue.put_nowait(event)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> OrderEvent:
        item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(item)  # later calls end too
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(_END)
            self._hub.remove(self)


class EventHub:
    """The open streams; ``publish`` copies each event into every one of them."""

    def __init__(self) -> None:
        self._streams: list[EventStream] = []

    def open(self) -> EventStream:
        stream = EventStream(self)
        self._streams.append(stream)
        return stream

    def remove(self, stream: EventStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)

    def publish(self, events: Iterable[OrderEvent]) -> None:
        for event in events:
            for stream in self._streams:
                stream.push(event)

    def close_all(self) -> None:
        for stream in list(self._streams):
            stream.close()
