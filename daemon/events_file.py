"""The scheduled-event calendar: config/events.yaml -> ``tuple[MarketEvent, ...]``.

The file is read like the daemon's config (``daemon.config_file``: a regular file of at
most 256 KiB, bounded nesting and aliases). It is a YAML list of
``{date: YYYY-MM-DD, kind: FOMC|CPI|PPI|GDP, note: optional}``.
It is validated on load, every problem at once, each named by file and line
(``config/events.yaml:12``): a broken YAML document, an entry that is not a mapping, an
unknown key, a missing or malformed date, an unknown kind, a duplicate (same date and
kind). An empty file is an empty calendar (the events signal then reports ``NO_DATA``).
The events come back sorted by date, then kind.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import yaml

from daemon.config_file import compose_yaml, read_config_text
from daemon.core.models import EventKind, MarketEvent
from daemon.errors import NO_VALUE, ConfigError, ConfigProblem

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYS = ("date", "kind", "note")
_KINDS = ", ".join(k.value for k in EventKind)


def load_events(path: str | os.PathLike[str]) -> tuple[MarketEvent, ...]:
    """The events in ``path``, validated and sorted; ``ConfigError`` naming file and line."""
    file = Path(path)
    root = compose_yaml(read_config_text(file), file)
    if root is None:
        return ()
    if not isinstance(root, yaml.SequenceNode):
        raise ConfigError.single(
            _at(file, root), "must be a list of {date, kind, note} entries", NO_VALUE
        )
    problems: list[ConfigProblem] = []
    events: dict[tuple[date, EventKind], tuple[MarketEvent, int]] = {}
    for item in root.value:
        event = _event(item, file, problems)
        if event is None:
            continue
        line = item.start_mark.line + 1
        first = events.get((event.day, event.kind))
        if first is not None:
            problems.append(
                ConfigProblem(
                    _at(file, item),
                    f"duplicate {event.kind.value} on {event.day} (first given at line {first[1]})",
                )
            )
            continue
        events[(event.day, event.kind)] = (event, line)
    if problems:
        raise ConfigError(problems)
    return tuple(sorted((e for e, _ in events.values()), key=lambda e: (e.day, e.kind.value)))


def _at(file: Path, node: yaml.Node) -> str:
    return f"{file}:{node.start_mark.line + 1}"


def _event(item: yaml.Node, file: Path, problems: list[ConfigProblem]) -> MarketEvent | None:
    """One entry as a ``MarketEvent``, or ``None`` after recording what is wrong."""
    if not isinstance(item, yaml.MappingNode):
        problems.append(ConfigProblem(_at(file, item), "an entry must be {date, kind, note}"))
        return None
    fields: dict[str, yaml.Node] = {}
    ok = True
    for key_node, value_node in item.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _KEYS or not isinstance(key, str):
            problems.append(
                ConfigProblem(_at(file, key_node), f"unknown key; allowed: {', '.join(_KEYS)}", key)
            )
            ok = False
        elif key in fields:
            problems.append(ConfigProblem(_at(file, key_node), f"{key!r} given twice"))
            ok = False
        else:
            fields[key] = value_node
    day = _date(fields.get("date"), item, file, problems)
    kind = _kind(fields.get("kind"), item, file, problems)
    note = _note(fields.get("note"), file, problems)
    if not ok or day is None or kind is None or note is None:
        return None
    return MarketEvent(kind=kind, day=day, note=note)


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _date(
    node: yaml.Node | None, item: yaml.Node, file: Path, problems: list[ConfigProblem]
) -> date | None:
    if node is None:
        problems.append(ConfigProblem(_at(file, item), "missing 'date' (YYYY-MM-DD)"))
        return None
    text = _scalar(node)
    if text is not None and _DATE_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append(
        ConfigProblem(_at(file, node), "'date' must be a real calendar date YYYY-MM-DD", text)
    )
    return None


def _kind(
    node: yaml.Node | None, item: yaml.Node, file: Path, problems: list[ConfigProblem]
) -> EventKind | None:
    if node is None:
        problems.append(ConfigProblem(_at(file, item), f"missing 'kind' ({_KINDS})"))
        return None
    text = _scalar(node)
    try:
        return EventKind(text or "")
    except ValueError:
        problems.append(ConfigProblem(_at(file, node), f"'kind' must be one of {_KINDS}", text))
        return None


def _note(node: yaml.Node | None, file: Path, problems: list[ConfigProblem]) -> str | None:
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return ""
    text = _scalar(node)
    if text is None:
        problems.append(ConfigProblem(_at(file, node), "'note' must be text"))
    return text
