"""Injected data faults: stale timestamps, NaN and crossed quotes, random order rejects.

Which instruments are hit is fixed per instrument (a hash of its key and the seed against
the configured share), so the same contracts misbehave on every call and a test can find
them again; a share of 1.0 hits every instrument. NaN quotes imitate a feed that sends
NaN (as IB does for a missing side): the sim's quotes are the one place NaN may cross
the broker boundary, on purpose, so the market view's checks can be tested. Connection
faults (drop, refuse, slow replies) are played by ``SimBroker`` itself, since they need
the event loop.

The knobs are ``FaultParams`` (``params.py``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import replace
from datetime import timedelta

from daemon.brokers.sim.params import FaultParams
from daemon.core.models import Quote


def hit(key: str, share: float, seed: int, salt: str) -> bool:
    """True for a fixed ``share`` of keys: a stable uniform in [0, 1) from the key."""
    if share <= 0.0:
        return False
    digest = zlib.crc32(f"{seed}/{salt}/{key}".encode())
    return digest / 2**32 < share


def apply_quote_faults(quote: Quote, key: str, faults: FaultParams, seed: int) -> Quote:
    """``quote`` as the faulty feed would show it for the instrument ``key``."""
    if faults.stale_quotes_s > 0:
        quote = replace(quote, time=quote.time - timedelta(seconds=faults.stale_quotes_s))
    if hit(key, faults.nan_quote_frac, seed, "nan"):
        nan = math.nan
        return replace(
            quote,
            bid=None if quote.bid is None else nan,
            ask=None if quote.ask is None else nan,
            last=None if quote.last is None else nan,
        )
    two_sided = quote.bid is not None and quote.ask is not None
    if two_sided and hit(key, faults.crossed_quote_frac, seed, "crossed"):
        assert quote.bid is not None and quote.ask is not None
        # Swap the sides and push the bid one more nickel up: crossed by more than a tick.
        return replace(quote, bid=quote.ask + 0.05, ask=quote.bid)
    return quote


def rejects_order(order_id: int, faults: FaultParams, seed: int) -> str | None:
    """Why the fault knobs reject order ``order_id``, or None when they let it through."""
    if faults.reject_all_orders:
        return "simulated reject: all orders refused (fault knob reject_all_orders)"
    if hit(str(order_id), faults.reject_order_frac, seed, "reject"):
        return "simulated reject: random refusal (fault knob reject_order_frac)"
    return None
