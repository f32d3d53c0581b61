"""Plain JSON values from the core's frozen dataclasses, for the journal and ``--json``.

The one converter of the core's records: dataclasses become dicts of every field in
order, enums their values, dates ISO strings, tuples lists, and a non-finite float
``None`` (JSON has no NaN, and past the core's boundary "no value" is ``None``).

A record whose journal shape is not its fields defines ``to_json``, which ``to_plain``
calls, and builds it with ``to_plain``: ``ScalarState`` (a versioned format with its
reader), ``LegSpec`` (the contract flattened beside the leg), ``OverlayPlan`` and
``CycleResult`` (renamed and flattened parts). Every other record (``Contract``,
``Candidate``, ``Adjustment``, ``Proposal``, ``ScalarResult``, ...) is converted
field by field; a field added to one of them appears in the journal's record, which
tests/runtime/test_cycle_record_golden.py then reports. Before issue 11 eleven records
had hand-written ``to_json`` methods; the seven that only repeated this converter are
gone, and the records stay byte-identical (the same golden test, frozen before).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names in order, looked up once per class (a cycle's record
    converts a few thousand records of a dozen classes)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data (dict, list, str, int, float, bool, None)."""
    kind = type(value)  # the plain scalars first: most of a record, and the cheapest
    if kind is float:
        return value if math.isfinite(value) else None
    if value is None or kind is str or kind is int or kind is bool:
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(to_plain(k)): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_plain(value.tolist())
    raise TypeError(f"cannot make {type(value).__name__} plain JSON")
