"""docs/configuration.md, generated: every setting's path, type, default, bounds, unit and
meaning, so the reference can never drift from the code.

Where each column comes from:
- path, type, default, bounds: the pydantic models (``AppConfig`` and its sections);
- unit: the name's suffix (the project's rule: the unit is in the name);
- meaning: the comment on or above the key in ``config/default.yaml``, which a test
  already requires for every key (the file is the commented reference a trader edits).

Regenerate with ``make docs`` (``python -m daemon.config_docs --write docs/configuration.md``);
``tests/test_config_docs.py`` fails when the committed file differs from what this prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from daemon.config import ENV_OVERRIDES, AppConfig

DEFAULT_YAML = Path("config/default.yaml")

# Suffix -> unit, longest first where one ends another ("_per_sqrt_year" before "_year").
UNITS: tuple[tuple[str, str], ...] = (
    ("_usd_per_day", "USD per day"),
    ("_frac_per_year", "fraction per year"),
    ("_per_sqrt_year", "per square root of a year"),
    ("_per_year", "per year"),
    ("_per_log_vix", "per unit of ln VIX"),
    ("_usd", "USD"),
    ("_pts", "index or vol points"),
    ("_frac", "fraction (0.25 = 25%)"),
    ("_sigma", "annualised vol, decimal"),
    ("_days", "calendar days"),
    ("_sessions", "exchange sessions"),
    ("_min", "minutes"),
    ("_s", "seconds"),
    ("_x", "multiple"),
    ("_ticks", "ticks"),
    ("_contracts", "contracts"),
    ("_count", "count"),
    ("_cycles", "cycles"),
    ("_log", "natural log"),
    ("_years", "years"),
)


def unit_of(name: str) -> str:
    return next((unit for suffix, unit in UNITS if name.endswith(suffix)), "")


@dataclass(frozen=True)
class Row:
    path: str
    type: str
    default: str
    bounds: str
    unit: str
    meaning: str


def type_text(annotation: Any) -> str:
    """A reader's rendering of a type: ``one of a, b``, ``float or null``, ``list of ...``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, UnionType):
        parts = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of ({type_text(args[0])})"
        return "[" + ", ".join(type_text(a) for a in args) + "]"
    if origin in (list, Sequence):
        return f"list of ({type_text(args[0])})" if args else "list"
    if origin is dict:
        return f"mapping {type_text(args[0])} -> {type_text(args[1])}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "mapping"
        if issubclass(annotation, Enum):
            return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
        if issubclass(annotation, Path):
            return "path"
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def bounds_text(field: FieldInfo) -> str:
    parts = []
    for m in field.metadata:
        if isinstance(m, Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, Gt):
            parts.append(f"> {m.gt}")
        elif isinstance(m, Le):
            parts.append(f"<= {m.le}")
        elif isinstance(m, Lt):
            parts.append(f"< {m.lt}")
        elif hasattr(m, "min_length") and m.min_length is not None:
            parts.append(f"length >= {m.min_length}")
        elif hasattr(m, "max_length") and m.max_length is not None:
            parts.append(f"length <= {m.max_length}")
    return ", ".join(parts)


def leaves(
    model: type[BaseModel], value: BaseModel, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo, Any]]:
    """(dotted path, field, default value) of every leaf setting, in declaration order."""
    for name, field in model.model_fields.items():
        current = getattr(value, name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaves(annotation, current, f"{prefix}{name}.")
        else:
            yield prefix + name, field, current


def _comments(yaml_text: str) -> dict[str, str]:
    """Dotted key path -> its comment (inline, else the comment lines just above)."""
    lines = yaml_text.splitlines()
    root = yaml.compose(yaml_text)
    out: dict[str, str] = {}

    def walk(node: yaml.Node | None, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key, value in node.value:
            path = prefix + key.value
            line = key.start_mark.line
            out[path] = _comment_at(lines, line, key.start_mark.column)
            walk(value, path + ".")

    walk(root, "")
    return out


def _comment_at(lines: list[str], line: int, column: int) -> str:
    text = lines[line]
    code, hash_, inline = text.partition(" # ")
    if hash_ and code.strip():
        return inline.strip()
    above: list[str] = []
    index = line - 1
    while index >= 0:
        stripped = lines[index].strip()
        indent = len(lines[index]) - len(lines[index].lstrip())
        if not stripped.startswith("#") or stripped.startswith("# ----") or indent != column:
            break
        above.insert(0, stripped.lstrip("#").strip())
        index -= 1
    return " ".join(above)


def _value_text(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, Enum):
        value = value.value
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def rows(model: type[BaseModel] = AppConfig, yaml_text: str | None = None) -> list[Row]:
    text = DEFAULT_YAML.read_text() if yaml_text is None else yaml_text
    comments = _comments(text)
    out = []
    for path, field, default in leaves(model, model()):
        name = path.rsplit(".", 1)[-1]
        out.append(
            Row(
                path=path,
                type=type_text(field.annotation),
                default=_value_text(default),
                bounds=bounds_text(field),
                unit=unit_of(name),
                meaning=comments.get(path, ""),
            )
        )
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


HEADER = """\
# Configuration reference

<!-- Generated by `make docs` (python -m daemon.config_docs) from the config models in
daemon/config.py and the comments of config/default.yaml. Do not edit by hand: a test
fails when this file and the models disagree. -->

Every setting of the daemon, at its default. A file needs only the keys it changes; an
unknown key, a value of the wrong type or out of its bounds is an error naming the key
(`alvh check-config PATH`, exit 2). The unit is in the name (see the *unit* column).
`config/default.yaml` holds the same settings, commented, and `config/sim.yaml` the
simulator's variant. Operating the daemon: [operations.md](operations.md).
"""


def render(model: type[BaseModel] = AppConfig, yaml_text: str | None = None) -> str:
    all_rows = rows(model, yaml_text)
    text = DEFAULT_YAML.read_text() if yaml_text is None else yaml_text
    section_comments = _comments(text)
    out = [HEADER, "## Environment overrides", ""]
    out += ["Applied after the file; an empty variable counts as unset.", ""]
    out += ["| variable | overrides |", "| --- | --- |"]
    out += [f"| `{name}` | `{'.'.join(path)}` |" for name, path in ENV_OVERRIDES.items()]
    sections: dict[str, list[Row]] = {}
    for row in all_rows:
        sections.setdefault(row.path.split(".", 1)[0] if "." in row.path else "", []).append(row)
    order = {key: i for i, key in enumerate(section_comments)}  # the file's order
    for section, members in sorted(sections.items(), key=lambda kv: order.get(kv[0], -1)):
        title = section or "top level"
        out += ["", f"## `{title}`" if section else "## Top-level keys", ""]
        if section and section_comments.get(section):
            out += [section_comments[section], ""]
        out += ["| key | type | default | bounds | unit | meaning |"]
        out += ["| --- | --- | --- | --- | --- | --- |"]
        for r in members:
            key = r.path.split(".", 1)[1] if section else r.path
            cells = (f"`{key}`", r.type, f"`{r.default}`", r.bounds, r.unit, r.meaning)
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = render()
    if args.write is None:
        sys.stdout.write(text)
    else:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
