"""How far a structure's short strikes sit from the forward, in sigmas: a report figure
of each structure (journalled with its risk). The proximity signal measures its own way,
from spot with the ATM vol (``daemon.core.signals.book``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from daemon.core.market import MarketView
from daemon.core.models import Right
from daemon.core.structures import Leg


def _short_sigmas(legs: Sequence[Leg], view: MarketView) -> list[tuple[Right, float]]:
    out: list[tuple[Right, float]] = []
    for leg in legs:
        ov = view.option(leg.contract)
        k, right = leg.contract.strike, leg.contract.right
        if leg.quantity >= 0 or ov is None or k is None or right is None:
            continue
        if ov.iv_sigma is None or ov.underlying_price is None or ov.t_years <= 0:
            continue
        x = math.log(k / ov.underlying_price) / (ov.iv_sigma * math.sqrt(ov.t_years))
        out.append((right, x))
    return out


def short_strike_sigmas(legs: Sequence[Leg], view: MarketView) -> tuple[float, ...]:
    """Per short leg ln(K/F) / (sigma sqrt T), F the expiry's forward, sigma the leg's IV
    (puts below the forward are negative, calls above positive). Unpriced legs skipped."""
    return tuple(x for _, x in _short_sigmas(legs, view))


def nearest_short_sigmas(legs: Sequence[Leg], view: MarketView) -> float | None:
    """The nearest short strike's distance out of the money, in sigmas: positive while
    out of the money, negative once breached (a put's -x, a call's x)."""
    signed = [-x if right is Right.PUT else x for right, x in _short_sigmas(legs, view)]
    return min(signed, default=None)


def short_sigma_figures(
    legs: Sequence[Leg], view: MarketView
) -> tuple[tuple[float, ...], float | None]:
    """``(short_strike_sigmas, nearest_short_sigmas)`` of ``legs`` from one pass over
    them (each leg's view looked up and its distance worked out once, not twice)."""
    found = _short_sigmas(legs, view)
    signed = [-x if right is Right.PUT else x for right, x in found]
    return tuple(x for _, x in found), min(signed, default=None)
