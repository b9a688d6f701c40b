"""Keep exceptions inside the GUI: every slot and task reports failures instead of raising.

A Qt slot that raises prints a traceback and may abort the process under some Qt
builds; an asyncio task that fails silently loses the error. Both are wrapped here so
a failure becomes one line shown to the user (status bar, session banner) and a log
entry with the traceback for maintainers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from inspector.core.logs import describe_unexpected

log = logging.getLogger("inspector.ui")

P = ParamSpec("P")
T = TypeVar("T")

#: Called with a one-line message when a guarded slot or task fails.
Reporter = Callable[[str], None]

_reporters: list[Reporter] = []


def add_reporter(reporter: Reporter) -> None:
    """Register where failures are shown (the main window's status bar)."""
    _reporters.append(reporter)


def remove_reporter(reporter: Reporter) -> None:
    """Forget a reporter (its window is gone)."""
    if reporter in _reporters:
        _reporters.remove(reporter)


def report_failure(what: str, exc: BaseException) -> None:
    """Log the traceback (to the log file) and show one line naming that file."""
    line = f"{what}: {describe_unexpected(exc, where=what)}"
    for reporter in list(_reporters):
        try:
            reporter(line)
        except Exception:  # a broken reporter must not hide the original failure
            log.exception("failure reporter raised")


def guarded(fn: Callable[P, T]) -> Callable[P, T | None]:
    """Wrap a synchronous slot so no exception escapes into Qt."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            report_failure(fn.__qualname__, exc)
            return None

    return wrapper


_tasks: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
    """Run a coroutine on the loop, keep a reference until done, report its failure."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)

    def done(finished: asyncio.Task[Any]) -> None:
        _tasks.discard(finished)
        if finished.cancelled():
            return
        exc = finished.exception()
        if exc is not None:
            report_failure(what, exc)

    task.add_done_callback(done)
    return task


def running_tasks() -> set[asyncio.Task[Any]]:
    """Tasks spawned here and not finished yet (for a bounded shutdown)."""
    return set(_tasks)
