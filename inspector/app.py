"""Composition root of the desktop app: QApplication, the qasync loop, settings, window.

``inspector`` opens the window; ``inspector URL`` opens it with a session to URL already
connecting and the keyboard in the composer; ``inspector FILE`` opens a capture, HAR or
JSON Lines file read-only; ``--capture-dir DIR`` (or the environment
variable INSPECTOR_CAPTURE_DIR) chooses where session captures are written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from inspector import __version__, resources
from inspector.cli.args import UsageExit, build_main_parser
from inspector.cli.logsetup import start_logging
from inspector.core.errors import CaptureError
from inspector.core.logs import DEFAULT_LOG_LEVEL
from inspector.ui.about import app_icon
from inspector.ui.capture_files import default_capture_dir, ensure_capture_dir
from inspector.ui.event_loop import freeze_startup_objects, new_event_loop
from inspector.ui.guard import report_failure
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings

ORGANIZATION = "socket-inspector"
APPLICATION = "Socket Inspector"

log = logging.getLogger("inspector")

#: Set (to anything) to print "shown" once the window is exposed and then quit: how
#: benchmarks/gui_flood.py times startup to a shown window.
STARTUP_PROBE_ENV = "INSPECTOR_STARTUP_PROBE"


def _parse(argv: Sequence[str] | argparse.Namespace) -> argparse.Namespace:
    if isinstance(argv, argparse.Namespace):
        return argv
    return build_main_parser().parse_args(list(argv))


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Last line of defence: an exception that reached Qt is shown, not fatal."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    report_failure("the app", exc.with_traceback(tb))


def _loop_exception(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """A failure in an asyncio callback nobody awaited: shown and logged like a slot's."""
    exc = context.get("exception")
    if isinstance(exc, Exception):
        report_failure("a background step", exc)
    else:
        log.error("event loop: %s", context.get("message", "unknown problem"))


def _quit_when_exposed(window: MainWindow, tries: int = 500) -> None:
    """Print "shown" and close the window once it is exposed (bounded: ~5 s of polls)."""
    handle = window.windowHandle()
    if (handle is not None and handle.isExposed()) or tries <= 0:
        print("shown" if tries > 0 else "not shown", flush=True)
        window.close()
        return
    QTimer.singleShot(10, lambda: _quit_when_exposed(window, tries - 1))


def run(argv: Sequence[str] | argparse.Namespace) -> int:
    """Open the window (and a session when a URL is given); return the exit status."""
    try:
        args = _parse(argv)
    except UsageExit as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    start_logging(getattr(args, "log_level", DEFAULT_LOG_LEVEL))
    capture_dir = Path(args.capture_dir).expanduser() if args.capture_dir else default_capture_dir()
    capture_problem = None
    try:
        ensure_capture_dir(capture_dir)
    except CaptureError as exc:
        capture_problem = str(exc)

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "inspector"])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(resources.APP_ID)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    sys.excepthook = _excepthook

    loop = new_event_loop(app)
    loop.set_exception_handler(_loop_exception)
    asyncio.set_event_loop(loop)
    settings = Settings(QSettings())
    window = MainWindow(settings, capture_dir)
    window.show()
    if capture_problem:
        window.notify(f"{capture_problem}; sessions are kept in memory")
    if args.url and "://" not in args.url and Path(args.url).expanduser().exists():
        window.captures.open_later(Path(args.url).expanduser())
    elif args.url:
        tab = window.open_url(args.url)
        if tab is not None:
            tab.composer.focus_editor()
    freeze_startup_objects()

    if os.environ.get(STARTUP_PROBE_ENV):
        QTimer.singleShot(0, lambda: _quit_when_exposed(window))

    finished = asyncio.Event()
    app.lastWindowClosed.connect(finished.set)
    window.quitFinished.connect(finished.set)  # the window hid at once: no "last closed"
    with loop:
        loop.run_until_complete(finished.wait())
    settings.sync()
    return 0
