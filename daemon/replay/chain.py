"""One expiry's quotes through the broker port, with implied vols and deltas.

The replay's own rules (the condor, the comparison hedges) choose strikes by delta the
way a trader reads them off a screen: Black-76 on the quotes' mids, the SPX forward from
put-call parity (``daemon.core.pricing.implied_forward``), a VIX option on the VX future
of its own expiry. Strikes without a two-sided quote are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from daemon.core.broker import Broker
from daemon.core.calendar import time_to_expiry_years
from daemon.core.candidates import LegSpec
from daemon.core.implied_vol import implied_vol
from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.pricing import black76, implied_forward

# Listed strikes nearest spot quoted as call/put pairs by ``spx_expiry``: the parity fit
# uses the 3 pairs nearest the money (``implied_forward``), and the forward sits within a
# strike or two of spot, so 8 leave a margin either side.
_PARITY_STRIKES = 8


@dataclass(frozen=True)
class Strike:
    contract: Contract
    bid: float
    ask: float
    delta: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


def option(symbol: str, trading_class: str, expiry: date, strike: float, right: Right) -> Contract:
    return Contract(symbol, SecType.OPTION, trading_class, expiry, strike, right)


async def _quotes(broker: Broker, contracts: list[Contract]) -> list[tuple[Contract, float, float]]:
    out = []
    for q in await broker.option_quotes(contracts):
        bid, ask = q.quote.bid, q.quote.ask
        if bid is not None and ask is not None and ask >= bid >= 0 and ask > 0:
            out.append((q.contract, bid, ask))
    return out


def _with_deltas(
    quoted: list[tuple[Contract, float, float]], forward: float, t_years: float, r: float
) -> list[Strike]:
    if not quoted or t_years <= 0:
        return []
    mids = np.array([0.5 * (b + a) for _, b, a in quoted])
    strikes = np.array([c.strike for c, _, _ in quoted], dtype=np.float64)
    rights = np.array([c.right is Right.CALL for c, _, _ in quoted])
    sigma = implied_vol(mids, forward, strikes, t_years, r, rights).sigma
    delta = black76(forward, strikes, t_years, r, np.nan_to_num(sigma, nan=0.0), rights).delta
    return [
        Strike(c, b, a, float(d))
        for (c, b, a), d, s in zip(quoted, delta, sigma, strict=True)
        if math.isfinite(float(s)) and float(s) > 0
    ]


async def spx_expiry(
    broker: Broker,
    trading_class: str,
    expiry: date,
    now: datetime,
    r: float,
    spot: float,
    band_frac: float = 0.4,
) -> tuple[list[Strike], list[Strike]]:
    """The out-of-the-money puts and calls of one SPX/SPXW expiry within spot x (1 -/+
    band), and both rights of the ``_PARITY_STRIKES`` listed strikes nearest spot, with
    deltas.

    In-the-money options are not quoted: the rules pick strikes by OTM delta, and the
    forward's parity fit uses the pairs nearest the money (``implied_forward``), which the
    strikes nearest spot hold. That halves what a roll reads (about 1,600 quotes of a
    2024 expiry were a tenth of the replay's CPU)."""
    strikes = sorted(
        k
        for k in await broker.option_strikes("SPX", trading_class, expiry)
        if abs(k / spot - 1.0) <= band_frac
    )
    near = set(sorted(strikes, key=lambda k: abs(k - spot))[:_PARITY_STRIKES])
    puts = await _quotes(
        broker,
        [
            option("SPX", trading_class, expiry, k, Right.PUT)
            for k in strikes
            if k <= spot or k in near
        ],
    )
    calls = await _quotes(
        broker,
        [
            option("SPX", trading_class, expiry, k, Right.CALL)
            for k in strikes
            if k >= spot or k in near
        ],
    )
    t_years = time_to_expiry_years(option("SPX", trading_class, expiry, spot, Right.PUT), now)
    put_mid = {c.strike: 0.5 * (b + a) for c, b, a in puts}
    both = [
        (c.strike, 0.5 * (b + a), put_mid[c.strike]) for c, b, a in calls if c.strike in put_mid
    ]
    if len(both) < 2:
        return [], []
    k, cm, pm = (np.array(x, dtype=np.float64) for x in zip(*both, strict=True))
    fit = implied_forward(k, cm, pm, t_years, r)
    if fit is None:
        return [], []
    rate = -math.log(fit.discount) / t_years if fit.discount > 0 and t_years > 0 else r
    return _with_deltas(puts, fit.forward, t_years, rate), _with_deltas(
        calls, fit.forward, t_years, rate
    )


async def vix_calls(broker: Broker, expiry: date, now: datetime, r: float) -> list[Strike]:
    """Every listed VIX call of one expiry, with deltas on the same-expiry VX future."""
    futures = await broker.vix_futures()
    future = futures.get(expiry)
    forward = None if future is None else future.mid
    if forward is None or forward <= 0:
        return []
    strikes = await broker.option_strikes("VIX", "VIX", expiry)
    quoted = await _quotes(broker, [option("VIX", "VIX", expiry, k, Right.CALL) for k in strikes])
    t_years = time_to_expiry_years(option("VIX", "VIX", expiry, 1.0, Right.CALL), now)
    return _with_deltas(quoted, forward, t_years, r)


def nearest_delta(strikes: list[Strike], target: float) -> Strike | None:
    """The strike whose delta is nearest ``target`` (signed: puts negative); ties to the
    lower strike."""
    if not strikes:
        return None
    return min(strikes, key=lambda s: (abs(s.delta - target), s.contract.strike or 0.0))


def leg(strike: Strike, action: Action, ratio: int = 1) -> LegSpec:
    return LegSpec(strike.contract, ratio, action)
