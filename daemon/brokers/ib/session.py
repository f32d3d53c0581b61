"""One connection to IB Gateway / TWS: the library's ``IB`` object, its state, and every
request under a timeout with the library's failures translated into ``daemon.errors``.

Translation happens once, here: a request that outlives ``request_timeout_s`` raises
``BrokerTimeout``; a dropped socket (``ConnectionError`` from the library) or a gateway
without its link to IB (error 1100 until 1101/1102) raises ``BrokerDisconnected``.
Error 326 (client id in use; IB's text says "retry with a unique client id") moves the
handshake to the next id of the configured pool, logged as ``ib_client_id_rotated``.
A socket IB declares unusable (502, 504, 507, 1300: ``SOCKET_LOST``) is dropped at once,
so the next request raises ``BrokerDisconnected``; a refused cancel (161, 10147, 10148)
and a pacing violation (100) are logged as warnings.
Errors IB reports *about* a request arrive separately, on ``errorEvent``; a caller that
wants them opens ``errors_for(contracts)`` around its request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog

from daemon.brokers.ib.client import IbLibrary
from daemon.brokers.ib.mapping import (
    CANCEL_REFUSED,
    CLIENT_ID_IN_USE,
    CONNECTIVITY_LOST,
    CONNECTIVITY_RESTORED,
    DATA_LOST_ON_RESTORE,
    INFORMATIONAL,
    MARKET_DATA_TYPES,
    PACING,
    SOCKET_LOST,
)
from daemon.brokers.ib.params import IbParams
from daemon.core.broker import ConnectionState
from daemon.errors import BrokerDisconnected, BrokerError, BrokerTimeout

T = TypeVar("T")
log = structlog.get_logger(__name__)
# How often connect() looks whether a gateway that lost its link to IB got it back.
_RESTORE_POLL_S = 0.05
# The library bounds the handshake and each group of its start-up requests by the connect
# timeout; three of them bound the whole connect.
_CONNECT_STEPS = 3


@dataclass(frozen=True)
class IbError:
    """One error IB reported: the request it concerns (-1 for none), its code and text,
    and the library contract object of that request, when it had one."""

    req_id: int
    code: int
    message: str
    contract: Any

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class _ClientIdInUse(BrokerDisconnected):
    """326 during the handshake: this id is taken, another may not be."""


class IbSession:
    """The connection the adapter's parts share; ``on_connect`` hooks run after each
    successful (re)connect (caches tied to a connection reset there)."""

    def __init__(self, lib: IbLibrary, params: IbParams, clock: Callable[[], datetime]) -> None:
        self.lib = lib
        self.params = params
        self.clock = clock
        self.ib: Any = lib.IB()
        self.on_connect: list[Callable[[], None]] = []
        # After 1101 (restored, market data lost) standing subscriptions must be renewed.
        self.on_data_lost: list[Callable[[], None]] = []
        self._connecting = False
        self._closing = False
        self._link_lost: str | None = None
        self._fatal: asyncio.Future[str] | None = None
        self._listeners: list[Callable[[IbError], None]] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self.client_id = params.client_id  # the id of the current (or last) connection
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    # ---- state -----------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        if self._connecting:
            return ConnectionState.CONNECTING
        if self.ib.isConnected() and self._link_lost is None:
            return ConnectionState.CONNECTED
        return ConnectionState.DISCONNECTED

    def check(self) -> None:
        """Raise ``BrokerDisconnected`` unless requests can reach IB now."""
        if not self.ib.isConnected():
            raise BrokerDisconnected("not connected to IB Gateway: connect() first")
        if self._link_lost is not None:
            raise BrokerDisconnected(f"IB Gateway lost its connection to IB ({self._link_lost})")

    def lock(self, key: str) -> asyncio.Lock:
        """One lock per library request keyed by name, not id (positions, open orders):
        two at once would share, and corrupt, one result list inside the library."""
        return self._locks.setdefault(key, asyncio.Lock())

    # ---- requests -------------------------------------------------------------------------
    async def call(
        self, what: str, request: Callable[[], Awaitable[T]], timeout_s: float | None = None
    ) -> T:
        """Send ``request()`` and await its reply under the timeout, translating failures."""
        self.check()
        timeout = self.params.request_timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(request(), timeout)
        except TimeoutError:
            self.check()  # a drop during the wait is a disconnect, not a slow reply
            raise BrokerTimeout(f"{what}: no reply from IB within {timeout:g} s") from None
        except ConnectionError as exc:
            raise BrokerDisconnected(f"{what}: connection to IB Gateway lost ({exc})") from exc

    @contextlib.contextmanager
    def errors_for(self, contracts: Iterable[object]) -> Iterator[list[IbError]]:
        """Collect the errors IB reports about requests for these library contract objects
        (matched by identity: the library hands back the object the request was sent with)."""
        wanted = {id(c) for c in contracts}
        found: list[IbError] = []

        def listen(error: IbError) -> None:
            if error.contract is not None and id(error.contract) in wanted:
                found.append(error)

        self._listeners.append(listen)
        try:
            yield found
        finally:
            self._listeners.remove(listen)

    def account_id(self) -> str:
        """The configured account, or the login's only one; ``BrokerError`` otherwise."""
        self.check()
        accounts = list(self.ib.managedAccounts())
        wanted = self.params.account
        if wanted:
            if wanted not in accounts:
                raise BrokerError(
                    f"broker.ib.account is not among the {len(accounts)} account(s) this "
                    "IB login manages"
                )
            return wanted
        if len(accounts) != 1:
            raise BrokerError(
                f"the IB login manages {len(accounts)} accounts: name one in broker.ib.account"
            )
        return str(accounts[0])

    # ---- connecting -----------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect (or confirm the connection); see the module docstring for the errors."""
        async with self.lock("connect"):  # two callers must not both shake hands
            await self._connect()

    async def _connect(self) -> None:
        if self.ib.isConnected() and self._link_lost is not None:
            await self._await_restore()
        if self.ib.isConnected():
            self.check()
            return
        self._connecting = True
        self._link_lost = None
        try:
            await self._handshake_from_pool()
        finally:
            self._connecting = False
            self._fatal = None
        self.ib.reqMarketDataType(MARKET_DATA_TYPES[self.params.market_data_type])
        for hook in self.on_connect:
            hook()
        log.info(
            "ib_connected", host=self.params.host, port=self.params.port, client_id=self.client_id
        )

    async def _handshake_from_pool(self) -> None:
        """Try the pool's ids in turn from the configured one, moving on only on 326."""
        first = self.params.client_id
        ids = range(first, min(first + self.params.client_id_pool_size, 2**31))
        for client_id in ids:
            self.client_id = client_id
            try:
                await self._handshake(client_id)
                return
            except _ClientIdInUse as exc:
                if client_id == ids[-1]:
                    raise BrokerDisconnected(
                        f"{exc}; every client id of {ids[0]}..{ids[-1]} is in use "
                        "(broker.ib.client_id, client_id_pool_size)"
                    ) from None
                log.warning(
                    "ib_client_id_rotated", from_id=client_id, to_id=client_id + 1, reason=str(exc)
                )

    async def _handshake(self, client_id: int) -> None:
        p = self.params
        self._fatal = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(
            self.ib.connectAsync(
                p.host, p.port, clientId=client_id, timeout=p.connect_timeout_s, account=p.account
            )
        )
        where = f"IB Gateway at {p.host}:{p.port} (client id {client_id})"
        try:
            done, _ = await asyncio.wait(
                {task, self._fatal},
                timeout=p.connect_timeout_s * _CONNECT_STEPS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self._fatal in done:
                raise _ClientIdInUse(f"{where}: {self._fatal.result()}")
            if task not in done:
                raise BrokerTimeout(f"{where}: no handshake within the connect timeout")
            task.result()
        except TimeoutError:
            raise BrokerTimeout(f"{where}: no handshake within {p.connect_timeout_s:g} s") from None
        except (OSError, ConnectionError) as exc:
            raise BrokerDisconnected(f"cannot connect to {where}: {exc}") from exc
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                self.ib.disconnect()
        if not self.ib.isConnected():
            raise BrokerDisconnected(f"{where}: the connection closed during the handshake")

    async def _await_restore(self) -> None:
        """After 1100 the socket stays open: wait for the gateway's 1101/1102."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.params.connect_timeout_s
        while self.ib.isConnected() and self._link_lost is not None and loop.time() < deadline:
            await asyncio.sleep(_RESTORE_POLL_S)

    async def close(self) -> None:
        self._closing = True
        try:
            self.ib.disconnect()
        finally:
            self._closing = False
        self._link_lost = None

    # ---- library events -------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        error = IbError(req_id, code, message, contract)
        if code in CLIENT_ID_IN_USE and self._fatal is not None and not self._fatal.done():
            self._fatal.set_result(f"client id already in use ({error})")
        elif code in CONNECTIVITY_LOST:
            self._link_lost = str(error)
            log.warning("ib_link_lost", code=code, message=message)
        elif code in CONNECTIVITY_RESTORED:
            self._link_lost = None
            log.info("ib_link_restored", code=code, message=message)
            if code == DATA_LOST_ON_RESTORE:
                for hook in self.on_data_lost:
                    hook()
        elif code in SOCKET_LOST:
            # 502 cannot connect, 504 not connected, 507 bad message length (the gateway
            # closes the socket), 1300 socket port reset ("reconnect on the new port"):
            # this socket is done. Drop it now so the next request raises
            # BrokerDisconnected and the reconnect loop opens a fresh one, rather than
            # requests timing out one by one. A handshake under way fails on its own.
            log.warning("ib_socket_lost", code=code, message=message)
            if not self._connecting and self.ib.isConnected():
                self.ib.disconnect()
        elif code in CANCEL_REFUSED:
            # 161 / 10147 / 10148: IB keeps the order as it is (working, or already
            # ended). Said loudly: the follower then waits execution.cancel_confirm_s for
            # a terminal state and, without one, leaves the order to the reconciliation.
            log.warning("ib_cancel_refused", order_id=req_id, code=code, message=message)
        elif code in PACING:
            # 100: over IB's 50 messages a second. The library throttles, so this is a
            # burst; IB drops the excess requests, which then time out (BrokerTimeout).
            log.warning("ib_pacing_violation", req_id=req_id, code=code, message=message)
        elif code not in INFORMATIONAL:
            log.debug("ib_error", req_id=req_id, code=code, message=message)
        for listen in list(self._listeners):
            listen(error)

    def _on_disconnected(self) -> None:
        if self._closing:
            log.info("ib_closed", host=self.params.host, port=self.params.port)
        else:
            log.warning("ib_disconnected", host=self.params.host, port=self.params.port)
