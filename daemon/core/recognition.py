"""Recognising the book: income structures first, then each hedge family in table order.

``recognise(positions, settled_keys) -> Book``; the rules are in ``structures.py``'s
module docstring, the hedge families' own in their modules (``daemon.core.families``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from daemon.core.families import families
from daemon.core.models import Position
from daemon.core.structures import SPX_SYMBOL, Book, Pool, Structure, match_income


def _merge(
    positions: Sequence[Position], symbols: frozenset[str]
) -> tuple[list[Position], list[Position]]:
    """Merge same-contract positions; split into model options (on ``symbols``) and the rest."""
    by_key: dict[str, list[Position]] = defaultdict(list)
    for p in positions:
        by_key[p.contract.key if p.contract.is_option else repr(p.contract)].append(p)
    options: list[Position] = []
    others: list[Position] = []
    for group in by_key.values():
        qty = sum(p.quantity for p in group)
        size = sum(abs(p.quantity) for p in group)
        # fsum is correctly rounded, so the merged cost does not depend on input order.
        cost = math.fsum(abs(p.quantity) * p.avg_cost_usd for p in group) / size if size else 0.0
        merged = Position(group[0].contract, qty, cost)
        c = merged.contract
        modelled = (
            c.is_option
            and c.symbol in symbols
            and c.expiry is not None
            and c.strike is not None
            and c.right is not None
        )
        if qty == 0:
            continue
        (options if modelled else others).append(merged)
    return options, others


def recognise(positions: Sequence[Position], settled_keys: frozenset[str] = frozenset()) -> Book:
    """Group ``positions`` into structures (see ``structures.py`` for the rules).

    Every contract's signed quantity ends up, exactly, in the structures' legs (ratio x
    units) plus ``unrecognised`` plus ``settled``. Non-option positions and options on
    symbols no structure uses (the income book's SPX, each family's underlying) are
    passed through unchanged in ``unrecognised``."""
    registered = families()
    symbols = frozenset({SPX_SYMBOL, *(f.symbol for f in registered)})
    merged, others = _merge(positions, symbols)
    settled: list[Position] = []
    options = merged
    if settled_keys:  # most sessions settle nothing: no key to format then
        settled = sorted(
            (p for p in merged if p.contract.key in settled_keys), key=lambda p: p.contract.key
        )
        options = [p for p in merged if p.contract.key not in settled_keys]
    pool = Pool(options)
    structures: list[Structure] = match_income(pool)
    for family in registered:
        structures += family.recognise(pool)
    structures.sort(key=lambda s: (s.kind.value, s.expiry, s.id))
    leftovers = sorted(pool.leftovers(), key=lambda p: p.contract.key)
    others.sort(key=lambda p: repr(p.contract))
    return Book(tuple(structures), tuple(others) + tuple(leftovers), tuple(settled))
