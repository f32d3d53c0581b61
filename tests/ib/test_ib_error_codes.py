"""What the session does with the IB error codes it acts on, against the fake gateway:
a socket IB declares unusable is dropped at once (502/504/507/1300), a refused cancel
(161/10147/10148) and a pacing violation (100) are warnings, and the connection stays
up for both."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from daemon.brokers.ib import IbBroker
from daemon.core.broker import ConnectionState
from tests.ib.fake_gateway import FakeGateway
from tests.ib.test_ib_adapter import (
    LIBRARIES,
    reconnects_after_a_lost_socket,
    run,
    until_state,
)

pytestmark = pytest.mark.skipif(not LIBRARIES, reason="no IB client library is installed")


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _settle() -> None:
    """Let the client read what the gateway sent (loopback: a few loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("code", [507, 1300])
def test_a_lost_socket_is_dropped_and_reconnects(library: str, code: int) -> None:
    """507 (bad message length) or 1300 (socket port reset) with the socket still open:
    the session drops it, the next call raises BrokerDisconnected (no per-request
    timeout), and connect() opens a second connection that works."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        with structlog.testing.capture_logs() as logs:
            await gw.broadcast_error(code, "the socket is no longer usable")
            await until_state(broker, ConnectionState.DISCONNECTED)
        assert [e["code"] for e in logs if e["event"] == "ib_socket_lost"] == [code]
        await reconnects_after_a_lost_socket(broker, gw)

    run(library, body)


@pytest.mark.parametrize(
    ("code", "event"),
    [(10147, "ib_cancel_refused"), (10148, "ib_cancel_refused"), (100, "ib_pacing_violation")],
)
def test_refused_cancels_and_pacing_are_warnings(library: str, code: int, event: str) -> None:
    """A refused cancel or a pacing violation is logged as a warning naming its code, and
    the connection stays up: the next call is answered on the same socket."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        with structlog.testing.capture_logs() as logs:
            await gw.broadcast_error(code, "refused")
            await _settle()
        found = [e for e in logs if e["event"] == event]
        assert [(e["code"], e["log_level"]) for e in found] == [(code, "warning")]
        assert broker.connection_state is ConnectionState.CONNECTED
        assert len(await broker.positions()) == 4
        assert len(gw.handshakes) == 1

    run(library, body)
