"""The hedge families, one module each, registered in one table: ``FAMILIES``.

Every place that treats hedges by family iterates this table or looks a kind up in it:
recognition (``recognition.py``), the stress bounds (``risk.py``), the candidates and
the overlay's notes (``overlay.py``), the roll rules (``proposal_rules.py``) and the
expiries the snapshot quotes (``runtime/snapshot.py``). Order matters where it shows:
families recognise in table order (each from what the ones before it left) and their
candidates and notes come in table order.

A new family is a new module beside these (a ``HedgeFamily``, see ``base.py``) and one
line in ``FAMILIES`` (docs/architecture.md, "Adding a hedge family"). ``register`` /
``unregister`` / ``registered`` add one at run time (tests, plugins).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from daemon.core.families import spx_put_diagonal, vix_call_spread
from daemon.core.families.base import HedgeFamily
from daemon.core.structures import StructureKind

FAMILIES: list[HedgeFamily] = [
    vix_call_spread.FAMILY,
    spx_put_diagonal.FAMILY,
]


def families() -> tuple[HedgeFamily, ...]:
    """The registered families, in table order."""
    return tuple(FAMILIES)


def family_of(kind: StructureKind) -> HedgeFamily:
    """The family of a hedge ``kind``; ``KeyError`` for an income or unregistered kind."""
    for family in FAMILIES:
        if family.kind is kind:
            return family
    raise KeyError(f"no hedge family registered for {kind}")


def register(family: HedgeFamily) -> None:
    """Append ``family`` to the table; ``ValueError`` if its kind is income or taken."""
    if family.kind.is_income:
        raise ValueError(f"{family.kind} is an income kind, not a hedge")
    if any(f.kind is family.kind for f in FAMILIES):
        raise ValueError(f"a family for {family.kind} is already registered")
    FAMILIES.append(family)


def unregister(family: HedgeFamily) -> None:
    """Remove ``family`` from the table (``ValueError`` if it is not in it)."""
    FAMILIES.remove(family)


@contextmanager
def registered(family: HedgeFamily) -> Iterator[HedgeFamily]:
    """``family`` registered for the ``with`` block, removed after, even on error."""
    register(family)
    try:
        yield family
    finally:
        unregister(family)


__all__ = [
    "FAMILIES",
    "HedgeFamily",
    "families",
    "family_of",
    "register",
    "registered",
    "unregister",
]
