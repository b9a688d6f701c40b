"""``--log-level`` for the app and every command: where the log file lives, how the
option is taken off a command line, and starting the logging once.

The log directory is the user's data directory (platformdirs), ``…/socket-inspector/logs``,
or ``$INSPECTOR_LOG_DIR`` when set; core.logs does the rest with the standard library.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from inspector.cli.args import UsageExit
from inspector.core.logs import DEFAULT_LOG_LEVEL, LOG_LEVELS, setup_logging

APP_DIR_NAME = "socket-inspector"
ENV_LOG_DIR = "INSPECTOR_LOG_DIR"
OPTION = "--log-level"


def log_dir() -> Path:
    """The folder of the rotating log file (``$INSPECTOR_LOG_DIR`` overrides it)."""
    override = os.environ.get(ENV_LOG_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_DIR_NAME)) / "logs"


def check_level(text: str) -> str:
    """The level name, lower case; UsageExit (one line) for anything not in LOG_LEVELS."""
    name = text.strip().lower()
    if name not in LOG_LEVELS:
        raise UsageExit(
            f"inspector: {OPTION}: unknown level {text!r} (choose from {', '.join(LOG_LEVELS)})"
        )
    return name


def pop_log_level(argv: Sequence[str]) -> tuple[str, list[str]]:
    """Take ``--log-level LEVEL`` / ``--log-level=LEVEL`` out of ``argv`` (anywhere before
    a ``--``); return the level (default warning) and the remaining arguments."""
    level = DEFAULT_LOG_LEVEL
    rest: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg == OPTION:
            if index + 1 >= len(args):
                raise UsageExit(f"inspector: {OPTION} needs a level ({', '.join(LOG_LEVELS)})")
            level = check_level(args[index + 1])
            index += 2
            continue
        if arg.startswith(OPTION + "="):
            level = check_level(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        index += 1
    return level, rest


class CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing, so a caller that
    swaps stderr (a test, an embedding program) never leaves logging on a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def start_logging(level: str, directory: Path | None = None) -> Path | None:
    """Log at ``level`` to stderr and the rotating file; return the file, or None (with
    one line on stderr) when it cannot be written: the program runs on without it."""
    try:
        return setup_logging(
            level,
            directory if directory is not None else log_dir(),
            stream=CurrentStderr(),  # type: ignore[arg-type]
        )
    except OSError as exc:
        sys.stderr.write(f"inspector: warning: {exc}; logging to stderr only\n")
        return None
