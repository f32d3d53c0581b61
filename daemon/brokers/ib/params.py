"""How to reach IB Gateway / TWS: the ``broker.ib`` section of the config.

It lives beside the adapter, as ``SimParams`` lives beside the simulator, so the adapter
depends only on its own settings; ``daemon.config`` nests it under ``broker``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from daemon.core.params import Section


class IbParams(Section):
    """How to reach IB Gateway / TWS. Port 4002 = Gateway paper, 4001 Gateway live,
    7497 TWS paper, 7496 TWS live."""

    host: str = Field("127.0.0.1", min_length=1, max_length=253)
    port: int = Field(4002, ge=1, le=65535)
    client_id: int = Field(17, ge=0, le=2**31 - 1)
    # Error 326 (client id already in use, e.g. a half-dead session of an earlier run):
    # the next id of client_id .. client_id + pool - 1 is tried; every connect starts
    # again from client_id, the id earlier orders were placed under.
    client_id_pool_size: int = Field(4, ge=1, le=64)
    # "" = the login's only managed account; name one when the login manages several.
    account: str = Field("", max_length=32, pattern=r"^[A-Za-z0-9]*$")
    library: Literal["ib_async", "ib_insync"] = "ib_async"
    connect_timeout_s: float = Field(10.0, gt=0, le=300)
    request_timeout_s: float = Field(30.0, gt=0, le=600)
    market_data_type: Literal["live", "frozen", "delayed", "delayed_frozen"] = "live"
    snapshot_batch_size: int = Field(50, ge=1, le=99)
