"""What the market view holds per option and per expiry (``market.py`` builds them).

Units as in ``market.py``: prices USD per share, ``t_years`` ACT/365, ``sigma`` decimal,
greeks per share and contract unit (no multiplier), vega per vol point, theta per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from daemon.core.expiry_fit import IVSource
from daemon.core.models import Contract


@dataclass(frozen=True)
class OptionView:
    """One option as the model sees it. ``bid``/``ask`` are the raw finite sides; ``mid``
    is set only when the quote is usable. ``underlying_price`` is the expiry's forward
    (SPX) or VIX future (VIX). Model fields are ``None`` when the option is not priced."""

    contract: Contract
    bid: float | None
    ask: float | None
    mid: float | None
    iv_sigma: float | None
    iv_source: IVSource | None
    underlying_price: float | None
    t_years: float
    discount: float
    rate_frac: float
    model_price: float | None = None
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None

    @property
    def is_priced(self) -> bool:
        return self.model_price is not None

    @property
    def mark(self) -> float | None:
        """USD per share: the usable mid, else the model price."""
        return self.mid if self.mid is not None else self.model_price


def option_view(
    contract: Contract,
    bid: float | None,
    ask: float | None,
    mid: float | None,
    iv_sigma: float | None,
    iv_source: IVSource | None,
    underlying_price: float | None,
    t_years: float,
    discount: float,
    rate_frac: float,
    model_price: float | None = None,
    delta: float | None = None,
    gamma: float | None = None,
    vega: float | None = None,
    theta: float | None = None,
) -> OptionView:
    """``OptionView(...)``, the same object, built without the frozen dataclass's
    ``__init__``, which sets each of its 15 fields through ``object.__setattr__``: a third
    of the cost, and the market view builds one per option quote (~300 a cycle). Valid as
    long as ``OptionView`` has no ``__post_init__`` (a test checks both)."""
    view = _new_object(OptionView)
    view.__dict__.update(
        contract=contract,
        bid=bid,
        ask=ask,
        mid=mid,
        iv_sigma=iv_sigma,
        iv_source=iv_source,
        underlying_price=underlying_price,
        t_years=t_years,
        discount=discount,
        rate_frac=rate_frac,
        model_price=model_price,
        delta=delta,
        gamma=gamma,
        vega=vega,
        theta=theta,
    )
    return view


_new_object = object.__new__


@dataclass(frozen=True)
class ExpiryView:
    symbol: str
    trading_class: str
    expiry: date
    t_years: float
    forward: float | None
    discount: float
    parity_residual_usd: float | None
    reliable: bool
    settled: bool = False

    @property
    def name(self) -> str:
        return series_name(self.trading_class, self.expiry)


def series_name(trading_class: str, expiry: date) -> str:
    return f"{trading_class} {expiry}"
