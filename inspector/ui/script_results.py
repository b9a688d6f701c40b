"""Running a workspace script in the window: the same runner as ``inspector run``
(net.script_runner), each step's status, note and time shown as it ends, the whole
output as lines, the run's records as they happen (ui.script_live), a Stop button, and
every session of the run recorded to one capture file in the capture folder (opened
like any other capture when the run is over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import RecordSink
from inspector.core.script import Script, load_script
from inspector.core.variables import Scope
from inspector.core.workspace import Workspace
from inspector.net.connection import Connection
from inspector.net.listenbase import Listener
from inspector.net.script_results import options_with_role
from inspector.net.script_runner import (
    ScriptResult,
    ScriptRunner,
    SessionSinks,
    StepResult,
    StepStatus,
)
from inspector.net.session import Session
from inspector.ui import theme
from inspector.ui.capture_files import create_capture
from inspector.ui.guard import guarded, spawn
from inspector.ui.script_live import LiveRunRecords
from inspector.ui.settings import Settings

log = logging.getLogger(__name__)

_COLUMNS = ("Step", "Status", "Time", "Result")
PENDING, RUNNING, STOPPED = "pending", "running…", "stopped"


class RunCaptureSinks(SessionSinks):
    """Every session of one run in one capture file of the capture folder, a session
    each (the window's counterpart of ``inspector run -o``)."""

    def __init__(
        self,
        folder: Path,
        problem: Callable[[str], None],
        closing: Callable[[], None] | None = None,
    ) -> None:
        self.folder = folder
        self.problem = problem
        self.closing = closing
        self.owner: CaptureStore | None = None
        self.stores: list[CaptureStore] = []
        #: Every session's store in the order the run opened them (the owner first).
        self.opened: list[CaptureStore] = []

    @property
    def path(self) -> Path | None:
        return Path(self.owner.path) if self.owner is not None else None

    def open(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        clock: SessionClock,
        role: Mapping[str, Any] | None = None,
    ) -> RecordSink | None:
        stored = options_with_role(options, role)
        try:
            if self.owner is None:
                self.owner = create_capture(self.folder, endpoint, stored, clock)  # type: ignore[arg-type]
                self.opened.append(self.owner)
                return self.owner
            store = self.owner.add_session(
                endpoint=endpoint.url, scheme=str(endpoint.scheme), options=stored, clock=clock
            )
        except CaptureError as exc:
            self.problem(f"script run not recorded: {exc}")
            return None
        self.stores.append(store)
        self.opened.append(store)
        return store

    def finish(self, sink: RecordSink, session: Session | Connection | Listener) -> None:
        if isinstance(sink, CaptureStore):
            sink.finish(str(session.state), session.summary())

    def close(self) -> None:
        if self.closing is not None:
            self.closing()
        for store in self.stores:
            with contextlib.suppress(CaptureError):
                store.close()
        if self.owner is not None:
            try:
                self.owner.close()
            except CaptureError as exc:
                self.problem(f"script capture not fully written: {exc}")


def step_line(result: StepResult) -> str:
    """One line of the output, as ``inspector run`` prints it, with the step's time."""
    return f"{result.line()}  ({result.duration_s * 1000:.1f} ms)"


class ScriptResultsPane(QDockWidget):
    """The results of the last script run (one run at a time)."""

    #: (ScriptResult | None): the run ended (None: it was stopped or could not start).
    finished = Signal(object)
    #: (Path): the run's capture file was finished.
    captureKept = Signal(object)
    #: (Path): "Open capture": show the run's capture file in tabs.
    openCapture = Signal(object)
    #: (Path, step number): double-click on a step: show its records in the capture.
    stepRecordsRequested = Signal(object, int)

    def __init__(
        self, capture_dir: Path | None, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__("Script results", parent)
        self.setObjectName("scriptResultsDock")
        self.capture_dir = capture_dir
        self.task: asyncio.Task[None] | None = None
        self.result: ScriptResult | None = None
        self.capture_path: Path | None = None
        self.state = "idle"  # idle, running, passed, failed, stopped, error
        self._rows: dict[int, QTreeWidgetItem] = {}
        self._problems: list[str] = []

        self.heading = QLabel("No script run yet: double-click a script in the workspace")
        self.heading.setObjectName("scriptHeading")
        self.heading.setWordWrap(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("scriptStop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.open_button = QPushButton("Open capture")
        self.open_button.setObjectName("scriptOpenCapture")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_capture)
        self.steps = QTreeWidget()
        self.steps.setObjectName("scriptSteps")
        self.steps.setAccessibleName("Script steps")
        self.steps.setRootIsDecorated(False)
        self.steps.setHeaderLabels(list(_COLUMNS))
        self.steps.setToolTip("Double-click a step to see its records in the run's capture")
        self.steps.itemActivated.connect(self._step_activated)
        self.output = QPlainTextEdit()
        self.output.setObjectName("scriptOutput")
        self.output.setAccessibleName("Script output")
        self.output.setReadOnly(True)
        self.live = LiveRunRecords(settings, self)
        self.live.view.notice.connect(self.output.appendPlainText)
        self.pages = QTabWidget()
        self.pages.setObjectName("scriptPages")
        self.pages.addTab(self.live.view, "Records")
        self.pages.addTab(self.output, "Output")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.heading, 1)
        top.addWidget(self.stop_button)
        top.addWidget(self.open_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.steps)
        split.addWidget(self.pages)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.setWidget(body)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def status_of(self, number: int) -> str:
        """The Status column of step ``number``."""
        return self._rows[number].text(1)

    # -- running ---------------------------------------------------------------------

    def run(self, path: Path, workspace: Workspace, scope: Scope, environment: str | None) -> bool:
        """Read and check ``path``, then run it; False (and one line) when it cannot."""
        if self.running:
            self._heading(f"{path.name}: a script is already running (Stop it first)", True)
            return False
        self.show()
        self.raise_()
        self.result, self.capture_path, self._problems = None, None, []
        self.open_button.setEnabled(False)
        self.output.clear()
        try:
            script = load_script(path)
            sinks = (
                RunCaptureSinks(self.capture_dir, self._problems.append, self.live.finish)
                if self.capture_dir is not None
                else None
            )
            runner = ScriptRunner(script, workspace, scope, sinks, on_step=self._step_done)
            runner.check()
        except InspectorError as exc:
            self.state = "error"
            self.steps.clear()
            self._heading(str(exc), True)
            self.output.appendPlainText(f"cannot run: {exc}")
            self.finished.emit(None)
            return False
        self._fill_steps(script)
        env = f" with environment {environment!r}" if environment else ""
        self.state = "running"
        self._heading(f"{script.name}: running{env}…", False)
        self.output.appendPlainText(f"run {path}{env}")
        self.stop_button.setEnabled(True)
        self.live.start(sinks.opened if sinks is not None else [])
        self.task = spawn(self._run(runner, sinks), f"running script {script.name}")
        return True

    def _fill_steps(self, script: Script) -> None:
        self.steps.clear()
        self._rows = {}
        for step in script.walk():
            item = QTreeWidgetItem(self.steps, [step.label, PENDING, "", ""])
            self._rows[step.number] = item
        self._mark_running()
        for column in range(len(_COLUMNS) - 1):
            self.steps.resizeColumnToContents(column)

    def _mark_running(self) -> None:
        """The first step not yet ended (in a loop: its repeat) is the one running."""
        for item in self._rows.values():
            if item.text(1) in (PENDING, RUNNING):
                item.setText(1, RUNNING)
                return

    async def _run(self, runner: ScriptRunner, sinks: RunCaptureSinks | None) -> None:
        began = time.monotonic()
        try:
            result = await runner.run()
        except asyncio.CancelledError:
            self._ended(None, sinks, time.monotonic() - began)
            raise
        self._ended(result, sinks, result.duration_s)

    @guarded
    def _step_done(self, result: StepResult) -> None:
        item = self._rows.get(result.step.number)
        if item is not None:
            runs = f" x{result.runs}" if result.runs > 1 else ""
            item.setText(1, str(result.status) + runs)
            item.setText(2, f"{result.duration_s * 1000:.1f} ms")
            item.setText(3, result.message)
            item.setToolTip(3, result.message)
            if result.status is StepStatus.FAILED:
                item.setForeground(1, theme.error_text(theme.is_dark(self)))
            for column in (1, 2):
                self.steps.resizeColumnToContents(column)
        if result.status is not StepStatus.SKIPPED:
            self.output.appendPlainText(step_line(result))
            if result.status is StepStatus.PASSED:
                self._mark_running()

    def _ended(
        self, result: ScriptResult | None, sinks: RunCaptureSinks | None, took: float
    ) -> None:
        self.stop_button.setEnabled(False)
        self.result = result
        if result is None:
            self.state = "stopped"
            for item in self._rows.values():
                if item.text(1) in (PENDING, RUNNING):
                    item.setText(1, STOPPED)
            self._heading(f"stopped after {took:.2f} s", True)
            self.output.appendPlainText(f"stopped after {took:.2f} s")
        else:
            for step in result.steps:
                if step.status is StepStatus.SKIPPED:
                    self._step_done(step)
            passed = sum(1 for r in result.steps if r.status is StepStatus.PASSED)
            failure = result.failure
            name = result.script.name
            if failure is None:
                self.state = "passed"
                line = f"{name}: passed — {passed} of {len(result.steps)} steps in {took:.2f} s"
            else:
                self.state = "failed"
                line = f"FAILED — {failure.message}"
            self._heading(line, failure is not None)
            self.output.appendPlainText(line)
        for problem in self._problems:
            self.output.appendPlainText(problem)
        path = sinks.path if sinks is not None else None
        self.live.reopen(path if path is not None and path.exists() else None)
        if path is not None and path.exists():
            self.capture_path = path
            self.open_button.setEnabled(True)
            self.output.appendPlainText(f"recorded to {path}")
            self.captureKept.emit(path)
        self.finished.emit(result)

    def _heading(self, text: str, bad: bool) -> None:
        colour = theme.error_text(theme.is_dark(self)).name() if bad else ""
        self.heading.setStyleSheet(f"color: {colour}" if colour else "")
        self.heading.setText(text)
        self.heading.setToolTip(text)

    @guarded
    def _step_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        number = next((n for n, row in self._rows.items() if row is item), None)
        if number is None:
            return
        if self.running:  # in the run's records, as they are
            if self.live.select_step(number):
                self.pages.setCurrentWidget(self.live.view)
            else:
                self.output.appendPlainText(f"step {number} has no result recorded yet")
            return
        if self.capture_path is None:
            self.output.appendPlainText("the run was not recorded: no records to show")
            return
        self.stepRecordsRequested.emit(self.capture_path, number)

    def activate_step(self, number: int) -> None:
        """What a double-click on step ``number`` does."""
        self._step_activated(self._rows[number])

    @guarded
    def _open_capture(self, *_: object) -> None:
        if self.capture_path is not None:
            self.openCapture.emit(self.capture_path)

    @guarded
    def stop(self, *_: object) -> None:
        """Stop the run: its session is closed and what it recorded is kept."""
        if self.running:
            assert self.task is not None
            self.task.cancel()

    async def shutdown(self) -> None:
        """Stop a running script and wait for it to close its sessions and capture."""
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, InspectorError):
                await task
        self.live.close()
