"""Running a test body against a connected simulated broker on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from daemon.brokers.sim import SimBroker, SimClock, SimParams

T = TypeVar("T")


def run_with_broker(
    params: SimParams, start: datetime, body: Callable[[SimBroker], Awaitable[T]]
) -> T:
    """``body(broker)`` on a fresh, connected ``SimBroker`` whose clock stands at ``start``."""

    async def go() -> T:
        broker = SimBroker(params, SimClock.manual(start))
        await broker.connect()
        try:
            return await body(broker)
        finally:
            await broker.close()

    return asyncio.run(go())
