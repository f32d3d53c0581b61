"""What ``alvh check-config`` checks beyond the YAML: everything ``run`` loads at start-up.

``run`` (``daemon.runtime.app.build_app``) loads the event calendar, imports the custom
signals, reads the notification URLs file, imports the IB client library and opens the
journal before its first cycle. ``check_startup`` does the same loading with the same
functions, so "config ok" means ``run`` will get past start-up, and reports every
problem at once as a ``ConfigError`` naming the config field. It never creates or
modifies anything: the journal is looked at (type, header, permissions, the nearest
existing parent), not opened; creating it is ``run``'s first write.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from daemon.config import AppConfig
from daemon.errors import ConfigError, ConfigProblem
from daemon.events_file import load_events
from daemon.plugins import load_custom_signals

# The first 16 bytes of every SQLite 3 database (sqlite.org/fileformat.html, 1.3).
SQLITE_HEADER = b"SQLite format 3\x00"
IB_LIBRARIES = ("ib_async", "ib_insync")


def check_startup(config: AppConfig, env: Mapping[str, str]) -> None:
    """``ConfigError`` listing every start-up load that would fail; nothing is written."""
    problems: list[ConfigProblem] = []
    _collect(problems, lambda: load_events(config.events_path), config.events_path, "events_path")
    _collect(problems, lambda: load_custom_signals(config.signals.custom))
    _collect(problems, lambda: _read_notify_urls(config, env))
    problems += journal_path_problems(config.journal.path)
    if config.broker.kind == "ib" and not any(
        importlib.util.find_spec(name) is not None for name in IB_LIBRARIES
    ):
        problems.append(
            ConfigProblem(
                "broker.kind",
                "'ib' needs an IB client library: pip install 'alvh-daemon[ib]' (ib_async) "
                "or 'alvh-daemon[ib-insync]'",
                "ib",
            )
        )
    if problems:
        raise ConfigError(problems)


def _read_notify_urls(config: AppConfig, env: Mapping[str, str]) -> None:
    # Imported here: the notifier pulls in apprise, which check-config needs only now.
    from daemon.runtime.notify.apprise_sink import read_urls

    path = config.notify.urls_file
    if path is not None and path.exists() and not path.is_file():
        # Not handed to read_urls: it reads the whole file, and /dev/zero never ends.
        raise ConfigError(
            [ConfigProblem("notify.urls_file", "not a regular file", source=str(path))]
        )
    read_urls(config.notify, env)  # the URLs are secrets: read, never printed


def _collect(
    problems: list[ConfigProblem],
    load: Callable[[], object],
    file: Path | None = None,
    field: str = "",
) -> None:
    """Run one loader; its problems join the list. A problem about ``file`` as a whole
    (missing, a directory, too large) is renamed to the config field that named it."""
    try:
        load()
    except ConfigError as exc:
        for problem in exc.problems:
            if file is not None and problem.where == str(file):
                # The path goes last, whole (a value in a message is cut at 60 characters).
                problem = ConfigProblem(field, problem.message, source=str(file))
            problems.append(problem)


def journal_path_problems(path: Path) -> list[ConfigProblem]:
    """Why the journal at ``path`` could not be opened or created, without touching it."""

    def problem(message: str) -> list[ConfigProblem]:
        return [ConfigProblem("journal.path", message, source=str(path))]

    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return _creatable(path)
    except OSError as exc:
        return problem(f"cannot be examined: {exc.strerror}")
    if stat.S_ISDIR(info.st_mode):
        return problem("is a directory; name a file (the journal is one SQLite file)")
    if not stat.S_ISREG(info.st_mode):
        return problem("is not a regular file")
    if not os.access(path, os.R_OK | os.W_OK):
        return problem("is not readable and writable by this user")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        return problem(f"cannot be read: {exc.strerror}")
    if header and header != SQLITE_HEADER:
        return problem("is not an SQLite database; the daemon will not write to it")
    return []


def _creatable(path: Path) -> list[ConfigProblem]:
    """A missing journal is created with its missing parents: the nearest existing
    ancestor must be a directory this user may write to."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    where = ancestor if str(ancestor) else Path(".")
    if not where.is_dir():
        message = f"cannot be created: {where} is not a directory"
    elif not os.access(where, os.W_OK | os.X_OK):
        message = f"cannot be created: {where} is not writable by this user"
    else:
        return []
    return [ConfigProblem("journal.path", message, source=str(path))]
