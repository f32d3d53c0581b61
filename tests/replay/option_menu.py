"""Options to draw test requests from, on the historical market's own listings."""

from __future__ import annotations

from datetime import datetime

from daemon.brokers.sim.chains import option_contract
from daemon.brokers.sim.historical import HistoricalSource
from daemon.core.models import Contract, Right


def option_menu(source: HistoricalSource, now: datetime, every: int, count: int) -> list[Contract]:
    """Both rights of ``count`` strikes (every ``every``-th listed) of each of the first
    three listed expiries of SPX, SPXW and VIX at ``now``."""
    chains = source.chains
    return [
        option_contract(tc, expiry, k, right)
        for tc in ("SPX", "SPXW", "VIX")
        for expiry in chains.expiries(tc, now)[:3]
        for k in chains.strikes(tc, expiry, source.spx_pts())[::every][:count]
        for right in (Right.CALL, Right.PUT)
    ]
