"""One line of text per alert, for a terminal or a phone.

``OPEN 15 x VIX 20-Jan-27 22/31 call spread @ 0.48 (mid 0.47)  cover  scalar 1.48``: the
action, the units, the structure as a trader names it, the limit and the mid per share
(``cr`` marks a credit), the rule that produced it and the hedge scalar. The structure
is read from the legs, so an order's legs (no adjustment kind at hand) read the same:
- two calls of one series, bought low and sold high or the reverse: a call spread;
- two puts of one symbol in two expiries: a put diagonal, near (short) leg first;
- four legs in two expiries of two calls each: a call spread rolled from the near
  expiry to the far one (a roll always goes forward in time);
- anything else: the legs' own labels, which are always exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from daemon.core.models import Action, Contract, Right
from daemon.core.proposal import Adjustment


class _Leg(Protocol):
    """A leg as both an adjustment (``LegSpec``) and an order (``ComboLeg``) carry it."""

    @property
    def contract(self) -> Contract: ...
    @property
    def ratio(self) -> int: ...
    @property
    def action(self) -> Action: ...


def _day(d: date | None) -> str:
    return "?" if d is None else f"{d:%d-%b-%y}"


def _k(c: Contract) -> str:
    return "?" if c.strike is None else f"{c.strike:g}"


def _series(c: Contract) -> str:
    return c.trading_class or c.symbol


def _spread(pair: Sequence[_Leg]) -> str | None:
    """``22/31`` for two calls of one series, lower strike first; None otherwise."""
    a, b = sorted(pair, key=lambda leg: leg.contract.strike or 0.0)
    ca, cb = a.contract, b.contract
    if (ca.right, cb.right) != (Right.CALL, Right.CALL) or ca.expiry != cb.expiry:
        return None
    if a.action is b.action or _series(ca) != _series(cb):
        return None
    return f"{_k(ca)}/{_k(cb)}"


def _by_expiry(legs: Sequence[_Leg]) -> list[list[_Leg]]:
    groups: dict[date | None, list[_Leg]] = {}
    for leg in legs:
        groups.setdefault(leg.contract.expiry, []).append(leg)
    return [groups[k] for k in sorted(groups, key=lambda d: d or date.min)]


def describe_legs(legs: Sequence[_Leg]) -> str:
    """The structure as a trader names it (module docstring), or the legs' labels."""
    groups = _by_expiry(legs)
    first = legs[0].contract if legs else None
    if first is not None and all(len(g) == 2 for g in groups) and len(groups) in (1, 2):
        spreads = [_spread(g) for g in groups]
        if all(s is not None for s in spreads):
            pairs = zip(groups, spreads, strict=True)
            dated = [f"{_day(g[0].contract.expiry)} {s}" for g, s in pairs]
            return f"{_series(first)} {' -> '.join(dated)} call spread"
    if first is not None and len(legs) == 2 and len(groups) == 2:
        near, far = groups[0][0].contract, groups[1][0].contract
        if (near.right, far.right) == (Right.PUT, Right.PUT) and near.symbol == far.symbol:
            return (
                f"{_series(near)} {_day(near.expiry)} {_k(near)} / "
                f"{_series(far)} {_day(far.expiry)} {_k(far)} put diagonal"
            )
    return " / ".join(
        f"{'+' if leg.action is Action.BUY else '-'}{leg.ratio} {leg.contract.key}" for leg in legs
    )


def adjustment_fields(adj: Adjustment) -> dict[str, Any]:
    """The alert's fields: everything a trader needs to act on it by hand."""
    return {
        "adjustment_id": adj.id,
        "action": adj.action.value,
        "kind": adj.kind.value,
        "structure": adj.structure_key,
        "legs": [leg.label for leg in adj.legs],
        "quantity": adj.quantity,
        # Prices per share: rounded for the reader (binary float noise such as
        # 0.8899999999999999 helps nobody); the journal keeps them exact.
        "limit_usd": round(adj.limit_price_usd, 4),
        "mid_usd": round(adj.mid_price_usd, 4),
        "natural_usd": round(adj.natural_price_usd, 4),
        "reason": adj.reason,
    }


def price(per_share_usd: float) -> str:
    """``0.48`` for a debit, ``0.35 cr`` for a credit (the pay convention's sign)."""
    text = f"{abs(per_share_usd):.2f}"
    return text if per_share_usd >= 0 else f"{text} cr"


def adjustment_line(adj: Adjustment) -> str:
    scalar = adj.reason.get("scalar", {}).get("value")
    parts = [
        f"{adj.action.value.upper()} {adj.quantity} x {describe_legs(adj.legs)}"
        f" @ {price(adj.limit_price_usd)} (mid {price(adj.mid_price_usd)})",
        str(adj.reason.get("rule", "")),
    ]
    if isinstance(scalar, int | float):
        parts.append(f"scalar {scalar:.2f}")
    return "  ".join(p for p in parts if p)


def order_line(verb: str, legs: Sequence[_Leg], quantity: int, detail: str = "") -> str:
    """``FILLED 15 x VIX 20-Jan-27 22/31 call spread  avg 0.47``."""
    text = f"{verb} {quantity} x {describe_legs(legs)}"
    return f"{text}  {detail}" if detail else text
