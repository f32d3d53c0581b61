"""Reading a config file (the daemon's, or the event calendar): bounded, never a traceback.

A configuration is a few kilobytes of YAML written by a person, so anything far from that
is refused with a ``ConfigError`` naming the file (and the line, when there is one) before
it can cost minutes or gigabytes (docs/reliability.md, "Bad configuration"):

- only a regular file is read (a FIFO, a device such as ``/dev/zero`` or a directory is
  refused after ``fstat`` on a descriptor opened without blocking), at most
  ``MAX_CONFIG_BYTES``;
- nesting deeper than ``MAX_DEPTH`` levels is refused while composing (the composer and
  the constructor recurse, so 20,000 levels would otherwise be a RecursionError);
- aliases are counted at their expanded size while composing, and a document that would
  expand to more than ``MAX_NODES`` nodes (a "billion laughs" bomb), or an alias inside
  its own anchor (a recursive value), is refused;
- an integer written with more than ``MAX_INT_CHARS`` characters is refused (Python will
  not turn 5,000 digits into an int, and nothing in a config needs 64);
- a value PyYAML cannot build (a NUL byte, 2026-13-45 as a date) is reported at its line.

``LineIndex`` answers "which line did ``signals.rsi.weight`` come from" in time
proportional to the path's length, whatever the number of keys (a linear scan per
question made 20,000 unknown keys quadratic).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from daemon.errors import ConfigError

MAX_CONFIG_BYTES = 256 * 1024  # 256 KiB: the shipped config is ~40 KB, the calendar ~6 KB
MAX_DEPTH = 64  # levels of nesting; the shipped config uses 5
MAX_NODES = 100_000  # YAML nodes once every alias is expanded; the shipped config has ~1,500
MAX_INT_CHARS = 64  # characters of one integer scalar


def read_config_text(path: Path) -> str:
    """A config file's text (UTF-8), or a ConfigError naming the file: a regular file of at
    most ``MAX_CONFIG_BYTES``, opened without blocking (a FIFO would block for ever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError.single(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError.single(str(path), "is a directory, not a YAML file") from None
    except OSError as exc:
        raise ConfigError.single(str(path), f"cannot read: {exc.strerror}") from None
    except ValueError:  # an embedded NUL in the path itself
        raise ConfigError.single(repr(str(path)), "not a usable file name") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError.single(str(path), "is a directory, not a YAML file")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError.single(
                str(path), "not a regular file (a FIFO, socket or device); give a YAML file"
            )
        with os.fdopen(fd, "rb") as file:
            fd = -1  # the file object closes it now
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError.single(str(path), f"cannot read: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError.single(
            str(path), f"larger than {MAX_CONFIG_BYTES:,} bytes; a config file is kilobytes"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError.single(str(path), f"not UTF-8 text (byte {exc.start})") from None


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that bounds depth, expanded size and integer length (module docstring)
    and refuses a key given twice in one mapping (PyYAML silently keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open: list[list[int]] = []  # [expanded size, height] of each node being built
        self._built: dict[yaml.Node, tuple[int, int]] = {}  # node -> (size, height)
        self._total = 0

    def _count(self, size: int, mark: Any) -> None:
        self._total += size
        if self._total > MAX_NODES:
            raise ComposerError(
                None, None, f"expands to more than {MAX_NODES:,} values (aliases included)", mark
            )

    def _add_to_parent(self, size: int, height: int) -> None:
        if self._open:
            parent = self._open[-1]
            parent[0] += size
            parent[1] = max(parent[1], height + 1)

    def _too_deep(self, height: int, mark: Any) -> None:
        if len(self._open) + height > MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # else the base class reports the undefined alias
                built = self._built.get(target)
                if built is None:
                    message = f"alias *{event.anchor} is inside its own anchor"
                    raise ComposerError(None, None, message, mark)
                self._too_deep(built[1], mark)
                self._count(built[0], mark)
                self._add_to_parent(*built)
            return super().compose_node(parent, index)
        self._too_deep(1, mark)
        self._count(1, mark)
        self._open.append([1, 1])
        node = super().compose_node(parent, index)
        size, height = self._open.pop()
        if node is not None:
            self._built[node] = (size, height)
        self._add_to_parent(size, height)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML lets ValueError escape for values its resolver matched but cannot build
        # (2026-13-45 as a timestamp); turn them into errors with a line.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(
                None, None, f"cannot read this value: {str(exc)[:80]}", node.start_mark
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if len(str(node.value)) > MAX_INT_CHARS:
            raise ConstructorError(
                None,
                None,
                f"an integer of {len(str(node.value)):,} characters; at most {MAX_INT_CHARS}",
                node.start_mark,
            )
        value: int = super().construct_yaml_int(node)
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *base" then overriding a merged key is legitimate
            key = self.construct_object(key_node, deep=True)
            try:
                previous = first_line.get(key)
            except TypeError:
                continue  # unhashable key: the base class reports it
            if previous is not None:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {str(key)[:60]!r} (first given at line {previous})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)


def _yaml_problem(exc: yaml.YAMLError, path: Path, text: str, column: bool) -> ConfigError:
    if isinstance(exc, yaml.reader.ReaderError):  # a NUL or other control character
        line = text.count("\n", 0, exc.position) + 1
        return ConfigError.single(
            f"{path}:{line}", f"control character #x{exc.character:04x} is not allowed in YAML"
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = str(path)
        if mark is not None:
            where += f":{mark.line + 1}" + (f":{mark.column + 1}" if column else "")
        return ConfigError.single(where, exc.problem or exc.context or "invalid YAML")
    return ConfigError.single(str(path), f"invalid YAML: {str(exc)[:200]}")


def _load(text: str, path: Path, construct: bool) -> tuple[yaml.Node | None, Any]:
    # The daemon's config names file:line:column; the calendar (not constructed) file:line.
    loader: BoundedLoader | None = None
    try:
        loader = BoundedLoader(text)  # its reader refuses a NUL byte already here
        node = loader.get_single_node()
        value = loader.construct_document(node) if construct and node is not None else None
        return node, value
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, path, text, column=construct) from None
    finally:
        if loader is not None:
            loader.dispose()


def compose_yaml(text: str, path: Path) -> yaml.Node | None:
    """The document's node tree, bounded; ``ConfigError`` naming the file and line."""
    return _load(text, path, construct=False)[0]


def parse_yaml(text: str, path: Path) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its value, bounded."""
    return _load(text, path, construct=True)


class LineIndex:
    """File lines of dotted paths in one document, each mapping indexed once on first use."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root
        self._maps: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _pairs(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        pairs = self._maps.get(id(node))
        if pairs is None:
            pairs = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    pairs.setdefault(str(key.value), (key, value))
            self._maps[id(node)] = pairs
        return pairs

    def line(self, loc: tuple[int | str, ...]) -> int | None:
        """The 1-based line of the deepest node along ``loc`` that exists in the file."""
        node = self._root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                # The key's line: for a section that is its header, not its first entry.
                pair = self._pairs(node).get(str(part))
                if pair is None:
                    break
                line, node = pair[0].start_mark.line + 1, pair[1]
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line
