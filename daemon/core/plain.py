"""Plain JSON values from the core's frozen dataclasses, for the journal and ``--json``.

One converter instead of a ``to_json`` per small record: dataclasses become dicts, enums
their values, dates ISO strings, tuples lists, and a non-finite float ``None`` (JSON has
no NaN, and past the core's boundary "no value" is ``None``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data (dict, list, str, int, float, bool, None)."""
    # Exact built-in scalars first: most of a cycle record's thousands of values, and none
    # of them has a ``to_json`` (a subclass, e.g. a StrEnum, takes the general path).
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _PLAIN_TYPES:
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
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
