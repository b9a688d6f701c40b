"""Logging for the app and the command line: stderr plus a rotating file for maintainers.

``--log-level`` (default ``warning``) sets one threshold for both outputs. Stderr gets
one line per record and no tracebacks (unless the level is ``debug``); the file keeps
tracebacks so an unexpected error can be shown to the user as one line that points at
it. Standard library only: the caller computes the directory (the user's data
directory, via platformdirs) and passes it in.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from types import TracebackType
from typing import TextIO

#: Names accepted by ``--log-level``, least to most severe.
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")
DEFAULT_LOG_LEVEL = "warning"
LOG_FILE_NAME = "inspector.log"
#: Rotation: at most this many bytes per file, plus this many older files kept.
MAX_LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3
#: The longest message describe_unexpected shows before cutting it with an ellipsis.
MAX_MESSAGE_CHARS = 300

FILE_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"
STDERR_FORMAT = "inspector: %(levelname)s: %(name)s: %(message)s"

log = logging.getLogger("inspector")

#: Attribute marking the handlers installed here, so setup_logging can replace them.
_OURS = "_inspector_handler"

_file_handler: logging.handlers.RotatingFileHandler | None = None


class _OneLineFormatter(logging.Formatter):
    """Formats a record as one line: no traceback, no stack, newlines folded."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        return " ".join(self.formatMessage(record).split())


def parse_level(level: str) -> int:
    """The logging level for a ``--log-level`` name; ValueError naming the choices."""
    name = level.strip().lower()
    if name not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r} (choose from {', '.join(LOG_LEVELS)})")
    return logging.getLevelNamesMapping()[name.upper()]


def setup_logging(level: str, log_dir: Path, *, stream: TextIO | None = None) -> Path:
    """Log at ``level`` to ``stream`` (default stderr) and to a rotating file in ``log_dir``.

    Returns the log file's path. Calling it again replaces the handlers of the previous
    call. Raises ValueError for an unknown level and OSError when ``log_dir`` cannot be
    created or the file cannot be opened (the stderr handler is installed either way).
    """
    global _file_handler
    numeric = parse_level(level)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    _file_handler = None
    root.setLevel(numeric)

    console = logging.StreamHandler(stream if stream is not None else sys.stderr)
    console.setLevel(numeric)
    if numeric <= logging.DEBUG:
        console.setFormatter(logging.Formatter(STDERR_FORMAT))
    else:
        console.setFormatter(_OneLineFormatter(STDERR_FORMAT))
    setattr(console, _OURS, True)
    root.addHandler(console)

    path = Path(log_dir) / LOG_FILE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        raise OSError(f"cannot write the log file {path}: {exc.strerror or exc}") from exc
    file_handler.setLevel(numeric)
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    setattr(file_handler, _OURS, True)
    root.addHandler(file_handler)
    logging.captureWarnings(True)
    _file_handler = file_handler
    return path


def log_file() -> Path | None:
    """The file setup_logging writes to, or None before it succeeded."""
    return None if _file_handler is None else Path(_file_handler.baseFilename)


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, cut to MAX_MESSAGE_CHARS."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 1] + "…"
    return line


def describe_unexpected(
    exc: BaseException, traceback: TracebackType | None = None, *, where: str = ""
) -> str:
    """Log ``exc`` with its traceback to the log file; return the one line to show the user.

    The line reads ``unexpected error: <Type>: <message> (details in <log file>)``. The
    traceback goes to the file whatever the level, and not to stderr, where the caller
    shows the line instead. Before setup_logging there is no file: the traceback goes
    to whatever handles the root logger.
    """
    exc_info = (type(exc), exc, traceback or exc.__traceback__)
    message = f"unexpected error in {where}" if where else "unexpected error"
    handler = _file_handler
    if handler is None:
        log.error("%s", message, exc_info=exc_info)
        return f"unexpected error: {_one_line(exc)}"
    record = log.makeRecord(log.name, logging.ERROR, "(unexpected)", 0, message, (), exc_info)
    handler.handle(record)
    return f"unexpected error: {_one_line(exc)} (details in {handler.baseFilename})"
