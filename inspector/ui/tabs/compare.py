"""The Compare tab: one workload over several transports, a table and charts, cancellable.

``CompareDialog`` chooses the workload, sizes, clients, added delay and transports;
``CompareTab`` runs ``net.compare_run.run_compare`` on the window's loop, adds a row as
each transport finishes, and draws the same SVG charts as the report file
(``net.compare_report``). Cancel stops the run; the rows that finished stay.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import InspectorError
from inspector.net.compare import CompareReport, Transport, TransportResult, Workload
from inspector.net.compare_delay import Conditions
from inspector.net.compare_report import HEADERS, charts, row_cells, title_of
from inspector.net.compare_run import CompareConfig, partial_report, run_compare
from inspector.ui.guard import spawn

WORKLOAD_LABELS = {
    Workload.RR: "Request/response",
    Workload.STREAM: "One-way stream",
    Workload.PUSH: "Server push",
}


def open_capture(path: Path, endpoint: str, scheme: str, clock: SessionClock) -> CaptureStore:
    """A transport's capture file (overwritten: one per transport and run folder)."""
    return CaptureStore.create(
        path, endpoint=endpoint, scheme=scheme, options={}, clock=clock, overwrite=True
    )


class CompareDialog(QDialog):
    """Choose what to compare: workload, messages, size, clients, delay, transports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare transports")
        self.workload = QComboBox()
        for workload, label in WORKLOAD_LABELS.items():
            self.workload.addItem(label, workload.value)
        self.count = _spin(1, 1_000_000, 200)
        self.size = _spin(1, 16 << 20, 64)
        self.clients = _spin(1, 256, 1)
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0, 10_000)
        self.delay.setSuffix(" ms")
        form = QFormLayout()
        form.addRow("&Workload", self.workload)
        form.addRow("&Messages per client", self.count)
        form.addRow("Message &size (bytes)", self.size)
        form.addRow("&Clients", self.clients)
        form.addRow("Added &delay (each way)", self.delay)
        grid = QGridLayout()
        self.transports: dict[Transport, QCheckBox] = {}
        for index, transport in enumerate(Transport):
            box = QCheckBox(transport.value)
            box.setChecked(True)
            self.transports[transport] = box
            grid.addWidget(box, index // 3, index % 3)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for box in self.transports.values():
            box.toggled.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Transports"))
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def _update(self) -> None:
        self.ok_button.setEnabled(any(box.isChecked() for box in self.transports.values()))

    def choice(self, capture_dir: Path | None = None) -> CompareConfig:
        """The comparison the dialog describes."""
        return CompareConfig(
            workload=Workload(self.workload.currentData()),
            count=self.count.value(),
            size=self.size.value(),
            clients=self.clients.value(),
            transports=tuple(t for t, box in self.transports.items() if box.isChecked()),
            conditions=Conditions(delay_ms=self.delay.value()),
            capture_dir=capture_dir,
            open_capture=open_capture if capture_dir is not None else None,
        )


def _spin(low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


class CompareTab(QWidget):
    """A comparison's results as they come: table, charts, Cancel and Run again."""

    #: Emitted once a run ended (finished or cancelled).
    finished = Signal()

    def __init__(self, config: CompareConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.title = "Compare"
        self.results: list[TransportResult] = []
        self.report: CompareReport | None = None
        self._task: asyncio.Task[CompareReport] | None = None
        self.heading = QLabel()
        self.status = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.again_button = QPushButton("Run again")
        self.again_button.clicked.connect(self.start)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.status)
        top.addWidget(self.again_button)
        top.addWidget(self.cancel_button)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.charts: dict[str, QSvgWidget] = {}
        chart_row = QHBoxLayout()
        for name in ("latency", "overhead", "setup"):
            widget = QSvgWidget()
            widget.setObjectName(f"{name}Chart")
            widget.setMinimumHeight(120)
            self.charts[name] = widget
            chart_row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(chart_row, 1)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the comparison (again), clearing the previous results."""
        if self.running:
            return
        self.results.clear()
        self.report = None
        self.table.setRowCount(0)
        config = self.config
        if config.capture_dir is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            config = CompareConfig(
                config.workload, config.count, config.size, config.clients,
                config.transports, config.urls, config.conditions,
                config.capture_dir / f"compare-{stamp}", config.answer_timeout,
                config.open_capture, config.verify,
            )  # fmt: skip
        self.heading.setText(title_of(partial_report(config, [], cancelled=False)))
        self._show_progress()
        self.cancel_button.setEnabled(True)
        self.again_button.setEnabled(False)
        self._task = spawn(self._run(config), "comparing transports")

    async def _run(self, config: CompareConfig) -> CompareReport:
        problem = ""
        try:
            report = await run_compare(config, self._add_row)
        except asyncio.CancelledError:
            report = partial_report(config, self.results)
        except InspectorError as exc:  # nothing could run (the capture folder)
            report, problem = partial_report(config, self.results, cancelled=False), str(exc)
        self._done(report)
        if problem:
            self.status.setText(problem)
        return report

    def _add_row(self, result: TransportResult) -> None:
        self.results.append(result)
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = row_cells(result)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            alignment = Qt.AlignmentFlag.AlignRight if column else Qt.AlignmentFlag.AlignLeft
            item.setTextAlignment(alignment | Qt.AlignmentFlag.AlignVCenter)
            if result.capture:
                item.setToolTip(f"capture: {result.capture}")
            self.table.setItem(row, column, item)
        if len(cells) == 2:
            self.table.setSpan(row, 1, 1, len(HEADERS) - 1)
        self._show_progress()

    def _show_progress(self) -> None:
        self.status.setText(f"{len(self.results)} of {len(self.config.transports)} transports")

    def _done(self, report: CompareReport) -> None:
        self.report = report
        for name, svg in charts(report).items():
            self.charts[name].load(QByteArray(svg.encode("utf-8")))
        failed = sum(1 for r in report.results if not r.ok)
        text = f"{len(report.results)} of {len(self.config.transports)} transports"
        if report.cancelled:
            text += " (cancelled)"
        if failed:
            text += f", {failed} failed"
        self.status.setText(text)
        self.cancel_button.setEnabled(False)
        self.again_button.setEnabled(True)
        self.finished.emit()

    def cancel(self) -> None:
        """Stop the run; the transports that finished keep their rows."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def shutdown(self) -> None:
        """Cancel and wait for the run to end (the window is closing)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
