"""Orders to and from the journal's JSON: enough to re-price a recovered order.

The journal keeps each order's legs as whole contracts (not labels), so a daemon restarted
after a crash can follow, re-price and cancel what the previous run sent.
"""

from __future__ import annotations

from typing import Any

from daemon.core.broker import ComboLeg, ComboOrder, OrderState
from daemon.core.models import Action, Contract
from daemon.core.plain import to_plain


def order_to_json(order: ComboOrder, natural_usd: float) -> dict[str, Any]:
    return {
        "legs": [
            {
                "contract": to_plain(leg.contract),
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
            ComboLeg(Contract.from_json(leg["contract"]), int(leg["ratio"]), Action(leg["action"]))
            for leg in d["legs"]
        ),
        quantity=state.remaining_qty or int(d["quantity"]),
        limit_price_usd=float(d["limit_usd"]),
        order_ref=state.order_ref,
    )
