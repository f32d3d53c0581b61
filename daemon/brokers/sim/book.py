"""The initial book: SPX iron condors with strikes chosen by delta on the sim's surface.

For each ``CondorParams``: the listed expiry of its trading class nearest ``dte_days``
(ties to the earlier one); the short put is the listed strike below the forward whose
model delta is nearest -``short_delta``, the short call the one above nearest
+``short_delta``; the long wings ``wing_width_pts`` farther out (snapped to the grid).
Each leg enters at the mid of its first quote, as if the condor had just been sold there,
with IB's average-cost convention (``OrderBook.apply_trade``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from daemon.brokers.sim.chains import Chains, Theo, option_contract
from daemon.brokers.sim.orders import OrderBook
from daemon.brokers.sim.params import CondorParams, SimParams
from daemon.core.calendar import NY
from daemon.core.models import Contract, Right

# Model values of options at the current market time (``MarketSource.theo`` bound to now).
Pricer = Callable[[Sequence[Contract]], Theo]


def condor_legs(
    condor: CondorParams, chains: Chains, spx_pts: float, theo: Pricer, now: datetime
) -> list[tuple[Contract, int]]:
    """The four legs (contract, signed quantity) of one condor at ``now``."""
    tc = condor.trading_class
    today = now.astimezone(NY).date()
    expiries = chains.expiries(tc, now)
    if not expiries:
        raise ValueError(f"no {tc} expiry listed at {now}")
    expiry = min(expiries, key=lambda d: (abs((d - today).days - condor.dte_days), d))
    strikes = chains.strikes(tc, expiry, spx_pts)
    puts = [option_contract(tc, expiry, k, Right.PUT) for k in strikes]
    calls = [option_contract(tc, expiry, k, Right.CALL) for k in strikes]
    put_theo, call_theo = theo(puts), theo(calls)
    fwd = float(put_theo.forward[0])
    k = np.asarray(strikes)
    put_gap = np.where(k < fwd, np.abs(put_theo.delta + condor.short_delta), np.inf)
    call_gap = np.where(k > fwd, np.abs(call_theo.delta - condor.short_delta), np.inf)
    short_put, short_call = strikes[int(np.argmin(put_gap))], strikes[int(np.argmin(call_gap))]
    step = chains.strike_step(tc)
    width = max(step, round(condor.wing_width_pts / step) * step)
    q = condor.quantity
    return [
        (option_contract(tc, expiry, short_put - width, Right.PUT), q),
        (option_contract(tc, expiry, short_put, Right.PUT), -q),
        (option_contract(tc, expiry, short_call, Right.CALL), -q),
        (option_contract(tc, expiry, short_call + width, Right.CALL), q),
    ]


def open_initial_book(
    params: SimParams,
    chains: Chains,
    book: OrderBook,
    spx_pts: float,
    theo: Pricer,
    bid_ask: Callable[[Contract, float], tuple[float, float]],
    now: datetime,
) -> None:
    """Put the configured condors into ``book`` at the mids of their first quotes."""
    for condor in params.book:
        legs = condor_legs(condor, chains, spx_pts, theo, now)
        contracts = []
        for contract, _ in legs:
            known = chains.resolve(contract, now)
            if known is None:
                raise ValueError(f"initial book leg {contract.key} is not listed")
            contracts.append(known)
        values = theo(contracts)
        for (_, qty), contract, price in zip(legs, contracts, values.price, strict=True):
            bid, ask = bid_ask(contract, float(price))
            book.apply_trade(contract, qty, 0.5 * (bid + ask))
