"""The replay's account: cash, positions by purpose, settlements, commissions, marks.

Every trade the replay makes (the book rule's, a comparison policy's, the daemon's own
through its executor) is a journalled order with its fills; the ledger reads those fills
back from the journal, so the account is what the journal says happened. Each position
belongs to the ``book`` (orders whose reference starts with ``book-``) or to the
``hedge`` (everything else).

Identities, in USD, held by construction and checked by the tests to the cent:

    equity = cash + marks                      (marks: sum of qty x mid x multiplier)
    equity - initial = book_pnl + hedge_pnl - costs
    pnl of a purpose = its trade and settlement cash flows + its marks

``costs`` are the commissions (``commission_per_contract_usd`` per contract per leg);
the spread paid is in the fill prices, so in the book's or the hedge's P&L. A settled
option pays qty x settlement value x multiplier in cash (Cboe options are cash-settled).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daemon.core.calendar import settlement_time
from daemon.core.models import Action, Contract, Position
from daemon.errors import AlvhError

BOOK, HEDGE = "book", "hedge"
BOOK_REF_PREFIX = "book-"


class LedgerError(AlvhError):
    """The account and the broker disagree: a bug, never a market condition."""


def purpose_of(order_ref: str) -> str:
    return BOOK if order_ref.startswith(BOOK_REF_PREFIX) else HEDGE


@dataclass(frozen=True)
class Accounts:
    """The account at one mark, USD."""

    equity_usd: float
    cash_usd: float
    marks_usd: float
    book_pnl_usd: float
    hedge_pnl_usd: float
    costs_usd: float
    book_credit_usd: float  # cumulative premium received opening book positions
    hedge_premium_usd: float  # cumulative premium paid opening hedge positions
    unmarked: int  # held contracts without a mid this time (marked at their last mid)

    def to_json(self) -> dict[str, float | int]:
        # Unrounded: the identities hold to float precision, and a reader rounds.
        return dict(vars(self))


@dataclass
class _Holding:
    contract: Contract
    quantity: int = 0


@dataclass
class Ledger:
    initial_usd: float
    commission_per_contract_usd: float
    cash_usd: float = field(init=False)
    costs_usd: float = 0.0
    flows_usd: dict[str, float] = field(default_factory=lambda: {BOOK: 0.0, HEDGE: 0.0})
    book_credit_usd: float = 0.0
    hedge_premium_usd: float = 0.0
    holdings: dict[tuple[str, str], _Holding] = field(default_factory=dict)
    last_mid: dict[str, float] = field(default_factory=dict)
    fill_cursor: int = 0

    def __post_init__(self) -> None:
        self.cash_usd = self.initial_usd

    # ---- what moves cash -------------------------------------------------------------
    def trade(self, purpose: str, contract: Contract, quantity: int, price_usd: float) -> None:
        """``quantity`` contracts (signed) bought at ``price_usd`` per share."""
        value = quantity * price_usd * contract.multiplier
        fee = abs(quantity) * self.commission_per_contract_usd
        self.cash_usd -= value + fee
        self.costs_usd += fee
        self.flows_usd[purpose] -= value
        holding = self.holdings.setdefault((purpose, contract.key), _Holding(contract))
        holding.quantity += quantity
        if holding.quantity == 0:
            del self.holdings[(purpose, contract.key)]

    def settle_due(self, now: datetime, value_of: Callable[[Contract], float | None]) -> int:
        """Cash-settle every holding whose settlement instant is at or before ``now``."""
        settled = 0
        for key, holding in list(self.holdings.items()):
            if settlement_time(holding.contract) > now:
                continue
            value = value_of(holding.contract)
            if value is None:
                raise LedgerError(f"no settlement value for {holding.contract.key}")
            cash = holding.quantity * value * holding.contract.multiplier
            self.cash_usd += cash
            self.flows_usd[key[0]] += cash
            del self.holdings[key]
            settled += 1
        return settled

    def ingest_fills(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Apply fills (``SqliteJournal.fills_after`` rows) after the last one applied."""
        rows = [r for r in rows if int(r["fill_id"]) > self.fill_cursor]
        for row in rows:
            fill_id, ref, qty, price = (
                row["fill_id"],
                row["order_ref"],
                row["quantity"],
                row["price_usd"],
            )
            order_json = row["order_json"]
            purpose, legs = purpose_of(ref), _leg_prices(json.loads(order_json), price)
            for contract, signed_ratio, share in legs:
                self.trade(purpose, contract, signed_ratio * int(qty), share)
            # Premium by order, not by leg: a combo's net price is what changed hands.
            net_usd = float(price) * int(qty) * legs[0][0].multiplier
            if purpose == BOOK and net_usd < 0:
                self.book_credit_usd -= net_usd
            elif purpose == HEDGE and net_usd > 0:
                self.hedge_premium_usd += net_usd
            self.fill_cursor = int(fill_id)
        return len(rows)

    # ---- reading it ------------------------------------------------------------------
    def contracts(self) -> list[Contract]:
        seen: dict[str, Contract] = {}
        for holding in self.holdings.values():
            seen.setdefault(holding.contract.key, holding.contract)
        return list(seen.values())

    def net_positions(self) -> dict[str, int]:
        net: dict[str, int] = {}
        for (_, key), holding in self.holdings.items():
            net[key] = net.get(key, 0) + holding.quantity
        return {k: q for k, q in net.items() if q != 0}

    def check_against(self, positions: Iterable[Position]) -> None:
        broker = {p.contract.key: p.quantity for p in positions if p.quantity != 0}
        mine = self.net_positions()
        if broker != mine:
            diff = sorted(set(broker.items()) ^ set(mine.items()))
            raise LedgerError(f"ledger and broker positions differ: {diff[:6]}")

    def mark(self, mids: Mapping[str, float | None]) -> Accounts:
        """The account with each holding at ``mids`` (contract key -> mid per share)."""
        unmarked = 0
        marks = {BOOK: 0.0, HEDGE: 0.0}
        for (purpose, key), holding in self.holdings.items():
            mid = mids.get(key)
            if mid is None:
                unmarked += 1
                mid = self.last_mid.get(key, 0.0)
            else:
                self.last_mid[key] = mid
            marks[purpose] += holding.quantity * mid * holding.contract.multiplier
        total = marks[BOOK] + marks[HEDGE]
        return Accounts(
            equity_usd=self.cash_usd + total,
            cash_usd=self.cash_usd,
            marks_usd=total,
            book_pnl_usd=self.flows_usd[BOOK] + marks[BOOK],
            hedge_pnl_usd=self.flows_usd[HEDGE] + marks[HEDGE],
            costs_usd=self.costs_usd,
            book_credit_usd=self.book_credit_usd,
            hedge_premium_usd=self.hedge_premium_usd,
            unmarked=unmarked,
        )


def _leg_prices(
    order: Mapping[str, object], combo_price: float
) -> list[tuple[Contract, int, float]]:
    """Each leg's contract, signed ratio and price per share in a combo fill.

    The journal keeps the combo's price only. The account needs the legs to add up to it
    exactly, which any split does; this one shares it equally per contract. A leg is
    marked at its own quote afterwards, so the split moves P&L between the legs of one
    order, never into or out of the account."""
    legs = order["legs"]
    assert isinstance(legs, list)
    parsed = [
        (Contract.from_json(leg["contract"]), int(leg["ratio"]), Action(leg["action"]))
        for leg in legs
    ]
    units = sum(ratio for _, ratio, _ in parsed)
    share = combo_price / units
    out = []
    for contract, ratio, action in parsed:
        sign = 1 if action is Action.BUY else -1
        out.append((contract, sign * ratio, sign * share))
    return out
