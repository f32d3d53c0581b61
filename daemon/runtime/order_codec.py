"""Orders to and from the journal's JSON: enough to re-price a recovered order.

The journal keeps each order's legs as whole contracts (not labels), so a daemon restarted
after a crash can follow, re-price and cancel what the previous run sent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from daemon.core.broker import ComboLeg, ComboOrder, OrderState
from daemon.core.models import Action, Contract, Right, SecType


def contract_to_json(c: Contract) -> dict[str, Any]:
    return {
        "symbol": c.symbol,
        "sec_type": c.sec_type.value,
        "trading_class": c.trading_class,
        "expiry": None if c.expiry is None else c.expiry.isoformat(),
        "strike": c.strike,
        "right": None if c.right is None else c.right.value,
        "multiplier": c.multiplier,
        "con_id": c.con_id,
        "min_tick": c.min_tick,
    }


def contract_from_json(d: dict[str, Any]) -> Contract:
    return Contract(
        symbol=d["symbol"],
        sec_type=SecType(d["sec_type"]),
        trading_class=d["trading_class"],
        expiry=None if d["expiry"] is None else date.fromisoformat(d["expiry"]),
        strike=d["strike"],
        right=None if d["right"] is None else Right(d["right"]),
        multiplier=int(d["multiplier"]),
        con_id=d["con_id"],
        min_tick=d["min_tick"],
    )


def order_to_json(order: ComboOrder, natural_usd: float) -> dict[str, Any]:
    return {
        "legs": [
            {
                "contract": contract_to_json(leg.contract),
                "ratio": leg.ratio,
                "action": leg.action.value,
            }
            for leg in order.legs
        ],
        "quantity": order.quantity,
        "limit_usd": order.limit_price_usd,
        "natural_usd": natural_usd,
        "order_ref": order.order_ref,
    }


def order_from_json(d: dict[str, Any], state: OrderState) -> ComboOrder:
    """The working order as sent, with its quantity and ref from the broker's state."""
    return ComboOrder(
        legs=tuple(
            ComboLeg(contract_from_json(leg["contract"]), int(leg["ratio"]), Action(leg["action"]))
            for leg in d["legs"]
        ),
        quantity=state.remaining_qty or int(d["quantity"]),
        limit_price_usd=float(d["limit_usd"]),
        order_ref=state.order_ref,
    )
