"""The core's one JSON converter (``daemon.core.plain.to_plain``), on hand-written values:
every field in order, enums as their values, dates in ISO form, no NaN, the ``to_json``
hook of a record whose shape is its own."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pytest

from daemon.core.calendar import NY
from daemon.core.plain import to_plain


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    x: float
    when: date


@dataclass(frozen=True)
class Outer:
    name: str
    colour: Colour
    inner: tuple[Inner, ...]
    ratio: float
    count: int
    flag: bool
    extra: dict[str, Any]


@dataclass(frozen=True)
class Shaped:
    a: int

    def to_json(self) -> dict[str, Any]:
        return {"shaped": self.a * 2}


def test_a_record_converts_field_by_field_in_order() -> None:
    """Fields in declaration order; the enum its value (a plain str); dates ISO; tuples
    lists; a NaN float null, at any depth."""
    value = Outer(
        "n", Colour.RED, (Inner(1.5, date(2026, 3, 2)),), math.nan, 3, True, {"k": (1, 2.0)}
    )
    got = to_plain(value)
    assert list(got) == ["name", "colour", "inner", "ratio", "count", "flag", "extra"]
    assert got == {
        "name": "n",
        "colour": "red",
        "inner": [{"x": 1.5, "when": "2026-03-02"}],
        "ratio": None,
        "count": 3,
        "flag": True,
        "extra": {"k": [1, 2.0]},
    }
    assert type(got["colour"]) is str
    assert json.dumps(got, allow_nan=False)  # strict JSON: no NaN left


def test_scalars_numpy_and_the_hook() -> None:
    """numpy numbers become Python ones (a NaN null), an aware datetime keeps its offset,
    ``to_json`` wins over the fields, and what has no JSON form is refused."""
    assert to_plain(np.float64(2.5)) == 2.5 and to_plain(np.float64("nan")) is None
    assert to_plain(np.array([1.0, math.inf])) == [1.0, None]
    assert to_plain(datetime(2026, 3, 2, 11, 0, tzinfo=NY)) == "2026-03-02T11:00:00-05:00"
    assert to_plain([Shaped(2)]) == [{"shaped": 4}]
    assert to_plain(-math.inf) is None and to_plain(False) is False
    with pytest.raises(TypeError, match="object"):
        to_plain(object())
