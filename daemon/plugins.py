"""Custom signals named in config by import path (model page, section 3).

``signals.custom`` lists entries such as::

    custom:
      - name: put_call_ratio
        import_path: my_signals.pcr:SIGNAL
        weight: 0.1
        breakpoints: [[0.7, -0.5], [1.0, 0.0], [1.3, 1.0]]

``import_path`` is ``package.module:attribute``; the attribute is an object with a
``name`` (str) and ``score(inputs) -> float`` (or raising/returning
``daemon.core.signals.Unavailable``). If it is a class, it is instantiated with no
arguments. This module lives in the outer ring because importing user code is I/O with
side effects; the core only ever sees the loaded objects (``CustomSignal``).

Every problem is collected and raised at once as a ``ConfigError`` whose entries name the
config path (``signals.custom[i].import_path`` or ``signals.custom[i].name``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence

from daemon.core.params import CustomSignalParams
from daemon.core.signals import BUILTIN_NAMES, CustomSignal, Signal
from daemon.errors import ConfigError, ConfigProblem


def load_custom_signals(custom: Sequence[CustomSignalParams]) -> tuple[CustomSignal, ...]:
    """Import each configured custom signal; ``ConfigError`` listing every entry that
    does not import, lacks its attribute, lacks ``name``/``score``, or reuses a name."""
    loaded: list[CustomSignal] = []
    problems: list[ConfigProblem] = []
    seen: set[str] = set(BUILTIN_NAMES)
    for i, entry in enumerate(custom):
        if entry.name in seen:
            problems.append(
                ConfigProblem(
                    f"signals.custom[{i}].name",
                    "a signal of this name already exists (built-in names: "
                    f"{', '.join(BUILTIN_NAMES)}); names must be unique",
                    entry.name,
                )
            )
        seen.add(entry.name)
        impl = _load_one(entry.import_path, f"signals.custom[{i}].import_path", problems)
        if impl is not None:
            loaded.append(CustomSignal(params=entry, impl=impl))
    if problems:
        raise ConfigError(problems)
    return tuple(loaded)


def _load_one(import_path: str, where: str, problems: list[ConfigProblem]) -> Signal | None:
    """The object at ``import_path``, or ``None`` after recording why it is unusable."""

    def fail(message: str) -> None:
        problems.append(ConfigProblem(where, message, import_path))

    module_name, sep, attr = import_path.partition(":")
    if not sep or not module_name or not attr:
        fail("must be 'package.module:attribute'")
        return None
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # user code may raise anything on import
        fail(f"module {module_name!r} does not import: {type(exc).__name__}: {exc}")
        return None
    if not hasattr(module, attr):
        fail(f"module {module_name!r} has no attribute {attr!r}")
        return None
    obj: object = getattr(module, attr)
    if inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:  # user code
            fail(f"class {attr!r} cannot be built without arguments: {type(exc).__name__}: {exc}")
            return None
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        fail(f"{attr!r} has no 'name' (a non-empty str); a signal needs name and score")
        return None
    if not callable(getattr(obj, "score", None)):
        fail(f"{attr!r} has no callable 'score(inputs)'; a signal needs name and score")
        return None
    return obj  # type: ignore[return-value]  # checked above: has name and score
