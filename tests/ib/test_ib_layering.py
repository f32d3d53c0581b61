"""The IB adapter depends on its own settings only: no module of ``daemon.brokers.ib``
imports the outer config (``daemon.config``), the runtime or the replay."""

from __future__ import annotations

import ast
from pathlib import Path

import daemon.brokers.ib

PACKAGE = Path(daemon.brokers.ib.__file__).parent
OUTER = ("daemon.config", "daemon.runtime", "daemon.replay", "daemon.commands", "daemon.cli")


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_ib_modules_do_not_import_the_outer_layers() -> None:
    """Every module of the package, ``params.py`` (``IbParams``) included, imports nothing
    from the config, runtime or replay layers."""
    modules = sorted(PACKAGE.glob("*.py"))
    assert PACKAGE / "params.py" in modules
    bad = {
        p.name: [m for m in _imports(p) if m.startswith(OUTER)]
        for p in modules
        if any(m.startswith(OUTER) for m in _imports(p))
    }
    assert bad == {}
