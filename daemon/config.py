"""The daemon's configuration: one YAML file, typed, bounded, frozen, closed.

The file's top level holds the model's sections directly (``pricing`` ... ``validation``,
defined in ``daemon.core.params``) beside the runtime's (``broker``, ``execution``,
``schedule``, ``journal``, ``logging``, ``events_path``). Every key is optional (its
default is the one in ``config/default.yaml``); an unknown key is an error, so a typo never
silently falls back to a default.

Environment overrides, applied after the file (an empty variable counts as unset):

============================  =======================
ALVH_BROKER                   broker.kind
ALVH_IB_HOST                  broker.ib.host
ALVH_IB_PORT                  broker.ib.port
ALVH_IB_CLIENT_ID             broker.ib.client_id
ALVH_IB_ACCOUNT               broker.ib.account
ALVH_MODE                     execution.mode
ALVH_HTTP_HOST                http.host
ALVH_HTTP_PORT                http.port
ALVH_HTTP_ALLOW_NON_LOOPBACK  http.allow_non_loopback
============================  =======================

Relative paths (``journal.path``, ``execution.kill_switch_path``, ``events_path``) are
kept as written and resolve against the daemon's working directory, not the config file's
folder: ``make run`` and the service unit start the daemon in the project directory, and a
path in a message then reads the same as in the file.

Everything wrong is reported at once as a ``ConfigError``: each problem with its dotted path
(or environment variable), the bad value, what is allowed and the file line it came from.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from daemon.brokers.ib.params import IbParams as IbParams
from daemon.brokers.sim.params import SimParams
from daemon.config_file import LineIndex, parse_yaml
from daemon.config_file import read_config_text as read_config_text
from daemon.core.params import ModelParams, Section
from daemon.errors import NO_VALUE, ConfigError, ConfigProblem
from daemon.logs import LogFormat, LogLevel

# Re-exported: the supervision sections are part of the config's public face.
from daemon.ops_params import HealthParams as HealthParams
from daemon.ops_params import HttpParams as HttpParams
from daemon.ops_params import is_loopback as is_loopback
from daemon.replay.params import ReplayParams
from daemon.runtime.notify.params import AlertParams, NotifyParams
from daemon.snapshot_params import PhaseBudgets as PhaseBudgets
from daemon.snapshot_params import SnapshotParams as SnapshotParams

BrokerKind = Literal["sim", "ib"]


def _path_text(value: object) -> object:
    """An empty path would read as "." (the working directory: a kill switch that is
    always on, a journal that is a directory); a NUL cannot be in a file name."""
    if isinstance(value, str) and (not value.strip() or "\x00" in value):
        raise ValueError("must be a file path (not empty, no NUL character)")
    return value


# A file path from config: non-empty text, kept relative to the working directory.
ConfigPath = Annotated[Path, BeforeValidator(_path_text)]
ExecutionMode = Literal["propose", "submit"]


# ---- runtime sections -----------------------------------------------------------------------
class BrokerParams(Section):
    kind: BrokerKind = "sim"
    ib: IbParams = IbParams()
    # Real seconds between reconnection attempts while the broker is down (between
    # cycles too, so a gateway's nightly restart is ridden out before the next session).
    reconnect_interval_s: float = Field(30.0, ge=1, le=3600)


class ExecutionParams(Section):
    mode: ExecutionMode = "propose"
    allow_live: bool = False
    live_confirm_env_var: str = Field("ALVH_CONFIRM_LIVE", pattern=r"^[A-Z_][A-Z0-9_]*$")
    kill_switch_path: ConfigPath = Path("var/KILL")
    max_orders_per_day: int = Field(10, ge=0, le=1000)
    max_contracts_per_order: int = Field(50, ge=1, le=10_000)
    max_debit_per_day_usd: float = Field(5000.0, ge=0, le=10_000_000)
    quiet_after_open_min: int = Field(15, ge=0, le=390)
    quiet_before_close_min: int = Field(10, ge=0, le=390)
    order_ttl_s: float = Field(120.0, gt=0, le=3600)
    max_reprices: int = Field(3, ge=0, le=20)
    reprice_step_ticks: int = Field(1, ge=1, le=20)
    # Real seconds between looks at a working order placed under another client id (IB
    # streams its changes only to that client): it is polled until it ends.
    foreign_order_poll_s: float = Field(30.0, gt=0, le=3600)
    # Real seconds to wait for the broker to confirm a cancel before giving up on it.
    cancel_confirm_s: float = Field(30.0, gt=0, le=600)


class ScheduleParams(Section):
    cycle_interval_min: int = Field(5, ge=1, le=390)
    warmup_before_open_min: int = Field(15, ge=0, le=240)
    summary_after_close_min: int = Field(5, ge=0, le=240)
    heartbeat_interval_s: float = Field(60.0, ge=1, le=3600)
    misfire_grace_s: float = Field(60.0, ge=1, le=3600)
    cycle_timeout_s: float = Field(120.0, gt=0, le=3600)
    exchange: Literal["XNYS"] = "XNYS"


class JournalParams(Section):
    path: ConfigPath = Path("var/journal.sqlite")


class LoggingParams(Section):
    level: LogLevel = "info"
    format: LogFormat = "auto"


class AppConfig(ModelParams):
    """The whole configuration: the model's sections (inherited, so a section the core adds
    appears here by itself) plus the runtime's. A new section is one field here and one
    documented block in config/default.yaml and config/sim.yaml."""

    broker: BrokerParams = BrokerParams()
    execution: ExecutionParams = ExecutionParams()
    schedule: ScheduleParams = ScheduleParams()
    journal: JournalParams = JournalParams()
    logging: LoggingParams = LoggingParams()
    http: HttpParams = HttpParams()
    health: HealthParams = HealthParams()
    snapshot: SnapshotParams = SnapshotParams()
    alerts: AlertParams = AlertParams()
    notify: NotifyParams = NotifyParams()
    sim: SimParams = SimParams()
    replay: ReplayParams = ReplayParams()
    # The event calendar (FOMC, CPI, ...); its own loader reads and checks it.
    events_path: ConfigPath = Path("config/events.yaml")

    def model_params(self) -> ModelParams:
        """The core's value: only the model's sections, shared, not copied."""
        return ModelParams(**{name: getattr(self, name) for name in ModelParams.model_fields})


DEFAULT_CONFIG = Path("config/default.yaml")


def config_path(args: Any) -> Path:
    """The config file a command should read: its ``--config``, else the default."""
    given = getattr(args, "config", None)
    return Path(given) if given is not None else DEFAULT_CONFIG


# Environment variable -> the dotted path it overrides.
ENV_OVERRIDES: Mapping[str, tuple[str, ...]] = {
    "ALVH_BROKER": ("broker", "kind"),
    "ALVH_IB_HOST": ("broker", "ib", "host"),
    "ALVH_IB_PORT": ("broker", "ib", "port"),
    "ALVH_IB_CLIENT_ID": ("broker", "ib", "client_id"),
    "ALVH_IB_ACCOUNT": ("broker", "ib", "account"),
    "ALVH_MODE": ("execution", "mode"),
    "ALVH_HTTP_HOST": ("http", "host"),
    "ALVH_HTTP_PORT": ("http", "port"),
    "ALVH_HTTP_ALLOW_NON_LOOPBACK": ("http", "allow_non_loopback"),
}


def tunable_count(model: type[BaseModel] = AppConfig) -> int:
    """How many leaf settings a model has (a nested section counts its own leaves)."""
    count = 0
    for field in model.model_fields.values():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            count += tunable_count(annotation)
        else:
            count += 1
    return count


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Write the environment overrides into ``raw``; returns path -> variable name."""
    applied: dict[tuple[str, ...], str] = {}
    for name, loc in ENV_OVERRIDES.items():
        value = env.get(name, "")
        if value == "":
            continue
        target: Any = raw
        for part in loc[:-1]:
            target = target.setdefault(part, {}) if isinstance(target, dict) else None
        if isinstance(target, dict):  # else the file's own shape error is reported
            target[loc[-1]] = value
            applied[loc] = name
    return applied


# ---- turning pydantic's errors into problems ------------------------------------------------
def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _annotation_at(loc: tuple[int | str, ...]) -> Any:
    """The declared type at ``loc`` in AppConfig, or None once the path leaves the schema."""
    current: Any = AppConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str) and _is_model(current):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        elif isinstance(part, int) and get_origin(current) is tuple:
            args = get_args(current)
            homogeneous = len(args) == 2 and args[1] is Ellipsis
            current = args[0] if homogeneous else (args[part] if part < len(args) else None)
        else:
            return None
    return _unwrap(current)


def _field_at(loc: tuple[int | str, ...]) -> FieldInfo | None:
    parent = _annotation_at(loc[:-1])
    if loc and isinstance(loc[-1], str) and _is_model(parent):
        field: FieldInfo | None = parent.model_fields.get(loc[-1])
        return field
    return None


def _bounds_text(field: FieldInfo | None) -> str | None:
    """``must be >= 0 and <= 5`` from the field's declared bounds."""
    if field is None:
        return None
    lower = [f">= {m.ge}" for m in field.metadata if isinstance(m, Ge)]
    lower += [f"> {m.gt}" for m in field.metadata if isinstance(m, Gt)]
    upper = [f"<= {m.le}" for m in field.metadata if isinstance(m, Le)]
    upper += [f"< {m.lt}" for m in field.metadata if isinstance(m, Lt)]
    return "must be " + " and ".join(lower + upper) if lower or upper else None


def _unknown_key_text(loc: tuple[int | str, ...]) -> str:
    section = _annotation_at(loc[:-1])
    if not _is_model(section):
        return "unknown key"
    allowed = sorted(section.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; allowed: {', '.join(allowed)}"


# pydantic's phrasing -> ours: "Input should be a valid integer" -> "must be a valid integer".
_REPHRASE = (
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
    ("Input should ", "must "),
    ("String should ", "must "),
    ("Tuple should ", "must "),
    ("Keys should ", "keys must "),
)
_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})


def _message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key_text(loc)
    if kind == "missing":
        return "required, but missing"
    if kind in _MAPPING_ERRORS:
        return "must be a mapping of keys (an indented YAML block)"
    if kind in _BOUND_ERRORS and (bounds := _bounds_text(_field_at(loc))):
        return bounds
    message = error["msg"]
    for old, new in _REPHRASE:
        if message.startswith(old):
            message = new + message[len(old) :]
    return message


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _problem(
    error: ErrorDetails,
    file: Path,
    lines: LineIndex,
    from_env: Mapping[tuple[str, ...], str],
) -> ConfigProblem:
    loc = tuple(error["loc"])
    value = error.get("input", NO_VALUE)
    if error["type"] == "missing" or (error["type"] == "value_error" and isinstance(value, dict)):
        value = NO_VALUE  # the whole section pasted back would say nothing
    where, source = _dotted(loc), None
    env_name = next((name for path, name in from_env.items() if loc[: len(path)] == path), None)
    if env_name is not None:
        where, source = f"{env_name} ({where})", "environment"
    else:
        line = lines.line(loc)
        source = f"{file}:{line}" if line is not None else None
    return ConfigProblem(where, _message(error, loc), value, source)


# ---- the front door -------------------------------------------------------------------------
def load_config(path: str | os.PathLike[str], env: Mapping[str, str] = os.environ) -> AppConfig:
    """Read, override from ``env``, validate. Raises ``ConfigError`` listing every problem."""
    file = Path(path)
    node, raw = parse_yaml(read_config_text(file), file)
    if raw is None:
        raise ConfigError.single(str(file), "the file is empty; it must hold a mapping of sections")
    if not isinstance(raw, dict):
        raise ConfigError.single(str(file), "the top level must be a mapping of sections", raw)
    from_env = _apply_env(raw, env)
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        lines = LineIndex(node)
        raise ConfigError(_problem(e, file, lines, from_env) for e in exc.errors()) from exc
