"""Custom signals loaded by import path: success, and a ConfigError naming the config path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from daemon.core.params import CustomSignalParams, SignalsParams
from daemon.core.signals import SignalInputs, compute_signals
from daemon.errors import ConfigError
from daemon.plugins import load_custom_signals

MODULE = textwrap.dedent(
    """
    class PutCall:
        name = "pcr"

        def score(self, inputs):
            return 1.15

    SIGNAL = PutCall()

    class Nameless:
        def score(self, inputs):
            return 0.0

    NAMELESS = Nameless()

    class Scoreless:
        name = "scoreless"

    SCORELESS = Scoreless()

    class NeedsArgs:
        name = "needs"

        def __init__(self, x):
            self.x = x

        def score(self, inputs):
            return self.x
    """
)


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package ``alvh_test_plugins`` on sys.path with good and bad signals."""
    pkg = tmp_path / "alvh_test_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(MODULE)
    (pkg / "broken.py").write_text("import not_a_module_anywhere_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m.split(".")[0] == "alvh_test_plugins"]:
        del sys.modules[name]


def entry(import_path: str, name: str = "pcr") -> CustomSignalParams:
    return CustomSignalParams(
        name=name, import_path=import_path, breakpoints=((0.7, -0.5), (1.0, 0.0), (1.3, 1.0))
    )


def test_loads_an_object_and_a_class(plugin_dir: Path) -> None:
    """An instance or a no-argument class at the path loads, keeping its config entry."""
    loaded = load_custom_signals(
        (
            entry("alvh_test_plugins.good:SIGNAL"),
            entry("alvh_test_plugins.good:PutCall", name="pcr_class"),
        )
    )
    assert [c.params.name for c in loaded] == ["pcr", "pcr_class"]
    assert all(c.impl.name == "pcr" for c in loaded)


def test_loaded_signal_scores_through_its_map(plugin_dir: Path) -> None:
    """A loaded custom signal's raw 1.15 maps to z 0.5 on its own breakpoints."""
    loaded = load_custom_signals((entry("alvh_test_plugins.good:SIGNAL"),))
    readings = compute_signals(SignalInputs(today=date(2026, 3, 2)), SignalsParams(), loaded)
    mine = readings[-1]
    assert (mine.name, mine.raw, mine.unavailable) == ("pcr", 1.15, None)
    assert mine.z == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("alvh_test_plugins.missing:SIGNAL", "does not import"),
        ("alvh_test_plugins.broken:SIGNAL", "not_a_module_anywhere_xyz"),
        ("alvh_test_plugins.good:ABSENT", "no attribute 'ABSENT'"),
        ("alvh_test_plugins.good:NAMELESS", "no 'name'"),
        ("alvh_test_plugins.good:SCORELESS", "no callable 'score"),
        ("alvh_test_plugins.good:NeedsArgs", "without arguments"),
    ],
)
def test_loader_errors_name_the_config_path(plugin_dir: Path, path: str, message: str) -> None:
    """Each unusable entry raises ConfigError at signals.custom[i].import_path, saying why."""
    good = entry("alvh_test_plugins.good:SIGNAL", name="first")
    with pytest.raises(ConfigError) as caught:
        load_custom_signals((good, entry(path)))
    (problem,) = caught.value.problems
    assert problem.where == "signals.custom[1].import_path"
    assert message in problem.message
    assert problem.value == path


def test_every_problem_is_reported_at_once(plugin_dir: Path) -> None:
    """Two bad entries and a name clash with a built-in give three problems in one error."""
    with pytest.raises(ConfigError) as caught:
        load_custom_signals(
            (
                entry("alvh_test_plugins.good:ABSENT", name="a"),
                entry("alvh_test_plugins.good:SIGNAL", name="rsi"),
                entry("alvh_test_plugins.missing:X", name="b"),
            )
        )
    wheres = [p.where for p in caught.value.problems]
    assert wheres == [
        "signals.custom[0].import_path",
        "signals.custom[1].name",
        "signals.custom[2].import_path",
    ]


def test_duplicate_custom_names_are_refused(plugin_dir: Path) -> None:
    """Two custom signals with one name: the second is reported at its name."""
    with pytest.raises(ConfigError) as caught:
        load_custom_signals(
            (entry("alvh_test_plugins.good:SIGNAL"), entry("alvh_test_plugins.good:SIGNAL"))
        )
    assert [p.where for p in caught.value.problems] == ["signals.custom[1].name"]


def test_no_custom_signals_is_empty() -> None:
    """An empty config list loads nothing."""
    assert load_custom_signals(()) == ()
