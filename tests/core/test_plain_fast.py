"""``to_plain``'s per-type converters give exactly what the straightforward chain of
checks gives (the converter before the cache, kept here as the oracle), on generated
nested values of every kind a record holds: same values, same types, same key order."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.plain import to_plain


def reference(value: Any) -> Any:
    """The converter as it was before the per-type cache (plain.py, issue 11)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if value is None or kind is str or kind is int or kind is bool:
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: reference(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(reference(k)): reference(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [reference(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "tolist"):
        return reference(value.tolist())
    raise TypeError(f"cannot make {type(value).__name__} plain JSON")


class Hue(StrEnum):
    RED = "red"
    BLUE = "blue"


class Size(IntEnum):
    SMALL = 1
    LARGE = 2


class Mode(Enum):
    ON = ("on", 1)  # a value that is not a scalar: returned as it is
    OFF = 0.5


class Tag(str):
    """A str subclass: not a plain str, so the chain's later checks decide."""


@dataclass(frozen=True)
class Leaf:
    x: float
    n: int
    name: str
    when: date | None


@dataclass(frozen=True)
class Branch:
    leaf: Leaf
    items: tuple[Any, ...]
    extra: Any


@dataclass(frozen=True)
class Shaped:
    a: float

    def to_json(self) -> dict[str, Any]:
        return {"doubled": self.a * 2, "leaf": to_plain(Leaf(self.a, 1, "s", None))}


class Printable:
    """Not a dataclass, with a to_json method: the chain calls it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def to_json(self) -> list[int]:
        return [self.n]


FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, math.nan, math.inf, -math.inf]
)
DATES = st.dates(date(1990, 1, 1), date(2040, 1, 1))
DATETIMES = st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC))
ENUMS = st.sampled_from([*Hue, *Size, *Mode, *Right, *SecType, *Action])
TAGS = st.builds(Tag, st.text(max_size=3))
KEYS = st.text(max_size=4) | st.integers(-5, 5) | ENUMS | DATES | TAGS
SCALARS = (
    FLOATS
    | st.integers(-(10**20), 10**20)
    | st.booleans()
    | st.none()
    | st.text(max_size=6)
    | TAGS
    | FLOATS.map(np.float64)
    | st.integers(-100, 100).map(np.int64)
    | DATES
    | DATETIMES
    | ENUMS
)
LEAVES = st.builds(Leaf, FLOATS, st.integers(), st.text(max_size=4), st.none() | DATES)
CONTRACTS = st.builds(
    Contract,
    symbol=st.sampled_from(["SPX", "VIX"]),
    sec_type=st.just(SecType.OPTION),
    expiry=DATES,
    strike=st.floats(1, 5000),
    right=st.sampled_from(list(Right)),
)


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(KEYS, children, max_size=4)
        | st.frozensets(st.integers(-3, 3) | st.text(max_size=2), max_size=3)
        | st.builds(Branch, LEAVES, st.lists(children, max_size=3).map(tuple), children)
        | st.lists(FLOATS, max_size=3).map(lambda xs: np.array(xs, dtype=float))
    )


VALUES = st.recursive(
    SCALARS
    | LEAVES
    | CONTRACTS
    | FLOATS.map(Shaped)
    | st.integers().map(Printable)
    | st.sampled_from([Leaf, Branch]),
    _nested,
    max_leaves=25,
)


def _typed(value: Any) -> Any:
    """The value with every part's exact type beside it (equal values of other types,
    1 and True or a str and a str subclass, differ here; -0.0 and 0.0 by their repr)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__qualname__, repr(value))


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_fast_converter_is_the_reference_one(value: Any) -> None:
    """Bit for bit: the same values, types and order as the chain of checks, or the
    same error for a value neither can convert."""
    try:
        expected = _typed(reference(value))
    except TypeError as exc:
        with pytest.raises(TypeError) as fast:
            to_plain(value)
        assert str(fast.value) == str(exc)
        return
    assert _typed(to_plain(value)) == expected


def test_the_core_records_convert_as_the_reference_does() -> None:
    """A contract and an order leg (records with and without ``to_json``) give the
    reference's shape through the cache, on the first call and the next."""
    from daemon.core.candidates import LegSpec

    contract = Contract(
        "VIX", SecType.OPTION, expiry=date(2026, 4, 15), strike=20.0, right=Right.CALL
    )
    leg = LegSpec(contract, 2, Action.BUY)
    for _ in range(2):
        assert _typed(to_plain(contract)) == _typed(reference(contract))
        assert _typed(to_plain((leg, {"k": leg}))) == _typed(reference((leg, {"k": leg})))
