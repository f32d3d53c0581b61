"""Config loading: the shipped files, every kind of problem, environment overrides."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from daemon.config import AppConfig, load_config
from daemon.core.params import ModelParams
from daemon.errors import NO_VALUE, ConfigError, ConfigProblem

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_YAML = ROOT / "config" / "default.yaml"
SIM_YAML = ROOT / "config" / "sim.yaml"
# What config/sim.yaml changes from config/default.yaml, on purpose (see its header).
SIM_DIFFERENCES = {"schedule.cycle_interval_min", "journal.path", "http.port"}


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf setting of a model, walked from the class definitions."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            paths += _leaf_paths(sub, f"{prefix}{name}.")
        else:
            paths.append(prefix + name)
    return paths


def _key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Dotted key path -> 0-based line of the key, for every mapping key in a YAML tree."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = prefix + key.value
            lines[path] = key.start_mark.line
            lines |= _key_lines(value, path + ".")
    return lines


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}{k}.")
        return out
    return {prefix.rstrip("."): value}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _problems(path: Path, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    return list(info.value.problems)


def _only(problems: list[ConfigProblem]) -> ConfigProblem:
    assert len(problems) == 1, problems
    return problems[0]


# ---- the shipped files ---------------------------------------------------------------------
@pytest.mark.parametrize("path", [DEFAULT_YAML, SIM_YAML], ids=["default", "sim"])
def test_shipped_files_load(path: Path) -> None:
    """config/default.yaml and config/sim.yaml load without problems and run on the sim."""
    config = load_config(path, env={})
    assert config.broker.kind == "sim"
    assert config.execution.mode == "propose"


def test_default_yaml_is_exactly_the_model_defaults() -> None:
    """default.yaml states the code's defaults: loading it equals constructing AppConfig()."""
    assert load_config(DEFAULT_YAML, env={}) == AppConfig()


@pytest.mark.parametrize("path", [DEFAULT_YAML, SIM_YAML], ids=["default", "sim"])
def test_every_setting_is_written_and_commented(path: Path) -> None:
    """Every leaf of the model classes appears in the file with a comment on or above it."""
    text = path.read_text()
    lines = text.splitlines()
    root = yaml.compose(text)
    assert root is not None
    key_lines = _key_lines(root)
    missing = [p for p in _leaf_paths(AppConfig) if p not in key_lines]
    assert not missing, f"{path.name} does not document: {missing}"
    uncommented = [
        p
        for p in _leaf_paths(AppConfig)
        if "#" not in lines[key_lines[p]] and not lines[key_lines[p] - 1].lstrip().startswith("#")
    ]
    assert not uncommented, f"{path.name} has no comment for: {uncommented}"


def test_sim_yaml_differs_from_default_only_where_intended() -> None:
    """sim.yaml is default.yaml with exactly the documented differences, so they cannot drift."""
    default = _flat(load_config(DEFAULT_YAML, env={}).model_dump(mode="json"))
    sim = _flat(load_config(SIM_YAML, env={}).model_dump(mode="json"))
    assert {k for k in default if default[k] != sim[k]} == SIM_DIFFERENCES
    assert sim["schedule.cycle_interval_min"] == 1
    assert sim["journal.path"] == "var/sim-journal.sqlite"


def test_model_params_carries_the_model_sections() -> None:
    """model_params() is a plain ModelParams holding the file's model sections."""
    config = load_config(SIM_YAML, env={})
    params = config.model_params()
    assert type(params) is ModelParams
    for name in ModelParams.model_fields:
        assert getattr(params, name) is getattr(config, name)


def test_relative_paths_are_kept_as_written(tmp_path: Path) -> None:
    """Relative paths are not resolved against the config file's folder."""
    path = _write(tmp_path, "journal:\n  path: data/j.sqlite\n")
    assert load_config(path, env={}).journal.path == Path("data/j.sqlite")


def test_config_is_frozen() -> None:
    """Assigning to a loaded config, at the top or in a section, raises."""
    config = load_config(DEFAULT_YAML, env={})
    with pytest.raises(ValidationError):
        config.events_path = Path("x")  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.signals.rsi.weight = 1.0  # type: ignore[misc]


# ---- problems in the values ----------------------------------------------------------------
def test_unknown_top_level_key_lists_allowed_sections(tmp_path: Path) -> None:
    """An unknown top-level key is named, with the allowed top-level keys."""
    problem = _only(_problems(_write(tmp_path, "brokr:\n  kind: ib\n")))
    assert problem.where == "brokr"
    assert "unknown key" in problem.message
    assert "did you mean 'broker'" in problem.message
    for allowed in ("broker", "signals", "schedule", "events_path"):
        assert allowed in problem.message


def test_unknown_nested_key_lists_allowed_keys(tmp_path: Path) -> None:
    """An unknown key in a section is named by its dotted path, with that section's keys."""
    path = _write(tmp_path, "signals:\n  rsi:\n    wieght: 0.3\n")
    problem = _only(_problems(path))
    assert problem.where == "signals.rsi.wieght"
    assert problem.message.endswith("allowed: breakpoints, enabled, period_sessions, weight")
    assert problem.source == f"{path}:3"


def test_negative_weight_names_path_and_bounds(tmp_path: Path) -> None:
    """A weight below its bound names signals.rsi.weight, the value and both bounds."""
    path = _write(tmp_path, "signals:\n  rsi:\n    weight: -1\n")
    problem = _only(_problems(path))
    assert (problem.where, problem.value) == ("signals.rsi.weight", -1)
    assert problem.message == "must be >= 0 and <= 5"
    assert str(problem) == f"signals.rsi.weight = -1: must be >= 0 and <= 5 ({path}:3)"


def test_wrong_type_is_named(tmp_path: Path) -> None:
    """A string where an integer belongs is reported with its path and the expected type."""
    problem = _only(_problems(_write(tmp_path, "schedule:\n  cycle_interval_min: five\n")))
    assert problem.where == "schedule.cycle_interval_min"
    assert problem.value == "five"
    assert "valid integer" in problem.message


def test_section_given_as_scalar(tmp_path: Path) -> None:
    """A section written as a plain value is told it must be a mapping."""
    problem = _only(_problems(_write(tmp_path, "validation: 3\n")))
    assert (problem.where, problem.value) == ("validation", 3)
    assert "mapping" in problem.message


def test_literal_lists_allowed_values(tmp_path: Path) -> None:
    """A value outside a Literal lists every allowed value."""
    problem = _only(_problems(_write(tmp_path, "logging:\n  format: xml\n")))
    assert problem.where == "logging.format"
    assert all(f"'{v}'" in problem.message for v in ("auto", "console", "json"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several bad values give one problem each, not just the first."""
    path = _write(tmp_path, "broker:\n  kind: tws\nscalar:\n  half_life_min: -5\nfoo: 1\n")
    assert {p.where for p in _problems(path)} == {"broker.kind", "scalar.half_life_min", "foo"}


def test_custom_signal_problems_use_indices(tmp_path: Path) -> None:
    """A problem inside a list of custom signals names its index."""
    path = _write(
        tmp_path,
        """\
        signals:
          custom:
            - name: Bad-Name
              import_path: "mypkg.sig:Signal"
              breakpoints: [[0, 0], [1, 1]]
        """,
    )
    problem = _only(_problems(path))
    assert problem.where == "signals.custom[0].name"
    assert "pattern" in problem.message


# Cross-field rules: (YAML, where, words the message must contain).
CROSS_FIELD_CASES = [
    ("scalar: {min_value: 3.0, max_value: 2.0}", "scalar", "min_value (3.0) must be <="),
    ("scenario: {vol_beta_min: 2.0, vol_beta_max: 1.0}", "scenario", "vol_beta_min"),
    (
        "diagonal: {long_dte_min_days: 100, long_dte_max_days: 90}",
        "diagonal",
        "long_dte_min_days (100) must be <= long_dte_max_days (90)",
    ),
    ("signals: {macd: {fast_sessions: 26}}", "signals.macd", "fast_sessions (26) must be <"),
    ("vix: {short_delta: 0.4}", "vix", "short_delta (0.4) must be < long_delta (0.35)"),
    (
        "signals: {events: {proximity_steps: [[3, 1.0], [1, 0.5]]}}",
        "signals.events.proximity_steps",
        "strictly increase",
    ),
    (
        "signals: {events: {proximity_steps: [[1, 1.5]]}}",
        "signals.events.proximity_steps",
        "in [0, 1]",
    ),
    (
        "signals: {custom: [{name: rsi, import_path: 'a.b:C', breakpoints: [[0, 0], [1, 1]]}]}",
        "signals",
        "clash with built-in signals: ['rsi']",
    ),
    (
        "signals: {custom: [{name: mine, import_path: 'a:C', breakpoints: [[0, 0], [1, 1]]},"
        " {name: mine, import_path: 'b:C', breakpoints: [[0, 0], [1, 1]]}]}",
        "signals",
        "unique, repeated: ['mine']",
    ),
]


@pytest.mark.parametrize(("text", "where", "words"), CROSS_FIELD_CASES)
def test_cross_field_rules(tmp_path: Path, text: str, where: str, words: str) -> None:
    """Inconsistent pairs of settings are refused with a message naming both."""
    problem = _only(_problems(_write(tmp_path, text + "\n")))
    assert problem.where == where
    assert words in problem.message


# ---- problems with the file itself ---------------------------------------------------------
def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    """A key given twice is refused with the file position and the first occurrence."""
    path = _write(tmp_path, "signals:\n  rsi:\n    weight: 0.2\n    weight: 0.3\n")
    problem = _only(_problems(path))
    assert problem.where == f"{path}:4:5"
    assert problem.message == "duplicate key 'weight' (first given at line 3)"


def test_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    """Overriding a key merged in with '<<' is legitimate YAML, not a duplicate."""
    text = "signals:\n  rsi: &w\n    weight: 0.1\n  macd:\n    <<: *w\n    weight: 0.4\n"
    config = load_config(_write(tmp_path, text), env={})
    assert (config.signals.rsi.weight, config.signals.macd.weight) == (0.1, 0.4)


def test_broken_yaml_gives_file_line_column(tmp_path: Path) -> None:
    """Malformed YAML is reported as file:line:column, not a traceback."""
    path = _write(tmp_path, "broker:\n  kind: sim\n bad: indentation\n")
    problem = _only(_problems(path))
    assert problem.where.startswith(f"{path}:3:")


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is a ConfigError naming it."""
    path = tmp_path / "nope.yaml"
    problem = _only(_problems(path))
    assert (problem.where, problem.message, problem.value) == (str(path), "no such file", NO_VALUE)


def test_directory_and_binary_files(tmp_path: Path) -> None:
    """A directory or a non-UTF-8 file is a ConfigError, not an exception from the OS."""
    assert "directory" in _only(_problems(tmp_path)).message
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "UTF-8" in _only(_problems(binary)).message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    """An empty file is refused rather than read as 'all defaults' (a truncated file)."""
    assert "empty" in _only(_problems(_write(tmp_path, "# nothing\n"))).message


@pytest.mark.parametrize(("text", "value"), [("- a\n- b\n", ["a", "b"]), ("7\n", 7)])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, value: object) -> None:
    """A list or a scalar at the top level is refused, showing what was found."""
    problem = _only(_problems(_write(tmp_path, text)))
    assert problem.value == value
    assert "top level must be a mapping" in problem.message


# ---- environment overrides -----------------------------------------------------------------
def test_env_overrides_apply(tmp_path: Path) -> None:
    """Every documented ALVH_ variable overrides its setting, converted to its type."""
    env = {
        "ALVH_BROKER": "ib",
        "ALVH_IB_HOST": "10.0.0.5",
        "ALVH_IB_PORT": "4001",
        "ALVH_IB_CLIENT_ID": "3",
        "ALVH_IB_ACCOUNT": "DU1234567",
        "ALVH_MODE": "submit",
    }
    config = load_config(DEFAULT_YAML, env=env)
    ib = config.broker.ib
    assert (config.broker.kind, config.execution.mode) == ("ib", "submit")
    assert (ib.host, ib.port, ib.client_id, ib.account) == ("10.0.0.5", 4001, 3, "DU1234567")


def test_env_beats_file_and_fills_absent_sections(tmp_path: Path) -> None:
    """The environment wins over the file, and works when the file lacks the section."""
    path = _write(tmp_path, "broker:\n  ib:\n    port: 7497\n")
    assert load_config(path, env={"ALVH_IB_PORT": "7496"}).broker.ib.port == 7496
    assert load_config(_write(tmp_path, "{}\n"), env={"ALVH_MODE": "submit"}).execution.mode == (
        "submit"
    )


def test_empty_env_var_counts_as_unset() -> None:
    """An empty variable leaves the file's value alone."""
    assert load_config(DEFAULT_YAML, env={"ALVH_IB_PORT": ""}).broker.ib.port == 4002


@pytest.mark.parametrize(("value", "words"), [("abc", "valid integer"), ("0", ">= 1")])
def test_bad_env_port_names_the_variable(value: str, words: str) -> None:
    """A bad ALVH_IB_PORT is reported under the variable's name, from the environment."""
    problem = _only(_problems(DEFAULT_YAML, env={"ALVH_IB_PORT": value}))
    assert problem.where == "ALVH_IB_PORT (broker.ib.port)"
    assert problem.value == value
    assert words in problem.message
    assert problem.source == "environment"


@settings(max_examples=40, deadline=None)
@given(port=st.integers(min_value=-10, max_value=70_000))
def test_port_accepted_exactly_within_bounds(port: int) -> None:
    """Any integer port loads if and only if 1 <= port <= 65535."""
    try:
        accepted = load_config(DEFAULT_YAML, env={"ALVH_IB_PORT": str(port)}).broker.ib.port
    except ConfigError:
        assert not 1 <= port <= 65535
    else:
        assert 1 <= port <= 65535 and accepted == port
