"""app.run: the real entry point opens the window, connects to a URL, quits cleanly."""

from __future__ import annotations

import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from inspector.app import run
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings


@pytest.fixture
def app_state(qapp: QApplication, settings: Settings) -> Iterator[None]:
    """Undo what run() changes on the shared QApplication and the interpreter."""
    hook = sys.excepthook
    yield
    sys.excepthook = hook
    qapp.setQuitOnLastWindowClosed(True)


def _drive(qapp: QApplication, seen: dict[str, object], deadline: float) -> None:
    """Poll the app from inside run(): note the state, then close the window."""
    windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)]
    window = windows[0] if windows else None
    tab = window.current_tab() if window is not None else None
    if tab is not None and tab.state == "open" and "focus" not in seen:
        seen["focus"] = qapp.focusWidget() is tab.composer.edit
        seen["tabs"] = window.tabs.count()
        seen["capture"] = tab.capture_path
        window.close()
    elif time.monotonic() > deadline and window is not None and "timeout" not in seen:
        seen["timeout"] = True
        window.close()
    if window is None or not window.closed:
        QTimer.singleShot(20, lambda: _drive(qapp, seen, deadline))


def test_run_with_url_connects_and_focuses_the_composer(
    qapp: QApplication, app_state: None, ws_server, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}
    captures = tmp_path / "my-captures"
    QTimer.singleShot(0, lambda: _drive(qapp, seen, time.monotonic() + 15))
    assert run([ws_server.url, "--capture-dir", str(captures)]) == 0
    assert "timeout" not in seen
    assert seen["tabs"] == 1
    assert seen["focus"] is True
    capture = seen["capture"]
    assert isinstance(capture, Path) and capture.parent == captures and capture.exists()
    assert stat.S_IMODE(captures.stat().st_mode) == 0o700


def test_run_rejects_bad_arguments_with_one_line(
    app_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-option" in err
