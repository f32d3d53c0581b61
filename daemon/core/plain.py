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

Speed (a cycle's record is ~600 values, 0.4 ms of a replay session's ~16 in 2012): the
plain scalars are answered inline, and every other value by a converter chosen once
for its type (``_converter``): a dataclass's fields with their scalars inline, a
``to_json`` method, an enum's value, a list, tuple or dict. A type none of those fit
takes the general chain (``_general``), the converter as it was before the cache.
tests/core/test_plain_fast.py holds ``to_plain`` to that chain, copied into the test as the
oracle, on generated nested values.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from types import FunctionType
from typing import Any

_isfinite = math.isfinite
_Convert = Callable[[Any], Any]
# One converter per type met, chosen once (``_converter``); a process meets a few dozen.
_CONVERTERS: dict[type, _Convert] = {}


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names in order, looked up once per class (a cycle's record
    converts a few thousand records of a dozen classes)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data (dict, list, str, int, float, bool, None)."""
    kind = type(value)  # the plain scalars first: most of a record, and the cheapest
    if kind is float:
        return value if _isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _CONVERTERS[kind] = _converter(kind)
    return convert(value)


def _converter(kind: type) -> _Convert:
    """How every value of type ``kind`` is converted, in ``_general``'s order of checks.
    A ``to_json`` counts when the class defines it as a method (an instance attribute
    of that name, which the general chain would also call, is not one the core uses)."""
    if kind is list or kind is tuple:
        return _items
    if kind is dict:
        return _mapping
    if isinstance(getattr(kind, "to_json", None), FunctionType):
        return operator.methodcaller("to_json")
    if hasattr(kind, "to_json"):  # a to_json that is not a plain method: ask each value
        return _general
    if dataclasses.is_dataclass(kind):
        return _fields(_field_names(kind))
    if issubclass(kind, Enum):
        return operator.attrgetter("value")
    if kind is date or kind is datetime:
        return operator.methodcaller("isoformat")
    return _general


def _fields(names: tuple[str, ...]) -> _Convert:
    """A dataclass's converter: every field in order, plain scalars without a call."""

    def convert(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            item = getattr(value, name)
            kind = type(item)
            if kind is float:
                out[name] = item if _isfinite(item) else None
            elif kind is str or kind is int or kind is bool or item is None:
                out[name] = item
            else:
                out[name] = to_plain(item)
        return out

    return convert


def _items(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        kind = type(item)
        if kind is float:
            out.append(item if _isfinite(item) else None)
        elif kind is str or kind is int or kind is bool or item is None:
            out.append(item)
        else:
            out.append(to_plain(item))
    return out


def _mapping(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            key = str(to_plain(key))
        kind = type(item)
        if kind is float:
            out[key] = item if _isfinite(item) else None
        elif kind is str or kind is int or kind is bool or item is None:
            out[key] = item
        else:
            out[key] = to_plain(item)
    return out


def _general(value: Any) -> Any:
    """The whole chain of checks, for a value of a type ``_converter`` has no shortcut
    for (a float or int subclass such as numpy's, a set, another mapping, a date
    subclass, a numpy array, a class object...)."""
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
