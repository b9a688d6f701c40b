"""Composition root of the desktop app: QApplication, the qasync loop, settings, window.

``inspector`` opens the window; ``inspector URL`` opens it with a session to URL already
connecting and the keyboard in the composer; ``--capture-dir DIR`` (or the environment
variable INSPECTOR_CAPTURE_DIR) chooses where session captures are written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from inspector import __version__
from inspector.cli.args import UsageExit, build_main_parser
from inspector.core.errors import CaptureError
from inspector.ui.capture_files import default_capture_dir, ensure_capture_dir
from inspector.ui.guard import report_failure
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings

ORGANIZATION = "socket-inspector"
APPLICATION = "Socket Inspector"

log = logging.getLogger("inspector")


def _parse(argv: Sequence[str] | argparse.Namespace) -> argparse.Namespace:
    if isinstance(argv, argparse.Namespace):
        return argv
    return build_main_parser().parse_args(list(argv))


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Last line of defence: an exception that reached Qt is shown, not fatal."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    report_failure("an unexpected step", exc.with_traceback(tb))


def run(argv: Sequence[str] | argparse.Namespace) -> int:
    """Open the window (and a session when a URL is given); return the exit status."""
    try:
        args = _parse(argv)
    except UsageExit as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
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
    app.setDesktopFileName("socket-inspector")
    app.setQuitOnLastWindowClosed(False)
    sys.excepthook = _excepthook

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = Settings(QSettings())
    window = MainWindow(settings, capture_dir)
    window.show()
    if capture_problem:
        window.notify(f"{capture_problem}; sessions are kept in memory")
    if args.url:
        tab = window.open_url(args.url)
        if tab is not None:
            tab.composer.focus_editor()

    finished = asyncio.Event()
    app.lastWindowClosed.connect(finished.set)
    with loop:
        loop.run_until_complete(finished.wait())
    settings.sync()
    return 0
