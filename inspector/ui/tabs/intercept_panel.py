"""The relay tab's intercept switch and queue of held messages.

The panel drives one :class:`~inspector.net.intercept.Interceptor`: the switch (off,
client → server, server → client, both) and the filter expression (the records
filter's language: text, a regular expression, or tests on decoded fields) say which
messages the relay holds; the queue lists them (oldest first) with Forward, Edit… (an
editor prefilled with the payload, then forward), Drop, Forward all and Drop all. The
interceptor tells an observer of every change; the observer only marks the panel
stale, and the tab's timer calls :meth:`InterceptPanel.refresh` (no Qt work per
message). Every failure (a bad filter, a message whose connection ended) is one line
under the queue.
"""

from __future__ import annotations

import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.net.intercept import (
    HeldMessage,
    InterceptMode,
    InterceptObserver,
    Interceptor,
    MessageFilterError,
    MessageKind,
    Outcome,
    Resolution,
    Way,
)
from inspector.ui import theme
from inspector.ui.compose_input import ComposeError, parse_hex
from inspector.ui.guard import guarded
from inspector.ui.widgets.formparts import CheckedDialog

_Index = QModelIndex | QPersistentModelIndex

HELD_COLUMNS = ("#", "Conn", "Direction", "Kind", "Held at", "Payload")
_WAYS = (
    (InterceptMode.C2S, "client → server"),
    (InterceptMode.S2C, "server → client"),
    (InterceptMode.BOTH, "both directions"),
)


def _clock(wall_ns: int) -> str:
    moment = datetime.datetime.fromtimestamp(wall_ns / 1e9)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class HeldModel(QAbstractTableModel):
    """The held messages, oldest first (a snapshot of the interceptor's queue)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.messages: list[HeldMessage] = []

    def set_messages(self, messages: list[HeldMessage]) -> None:
        self.beginResetModel()
        self.messages = messages
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.messages)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HELD_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HELD_COLUMNS[section] if 0 <= section < len(HELD_COLUMNS) else None
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.messages):
            return None
        message = self.messages[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 5:
            return message.preview(400)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return None
        return (
            str(message.id),
            f"#{message.conn}",
            message.way.arrow,
            str(message.kind),
            _clock(message.held_ns),
            message.preview(120),
        )[index.column()]


class _Stale(InterceptObserver):
    """Marks the panel stale on any change (the tab's timer refreshes it)."""

    def __init__(self, panel: InterceptPanel) -> None:
        self.panel = panel

    def held(self, message: HeldMessage) -> None:
        self.panel.stale = True

    def resolved(self, resolution: Resolution) -> None:
        self.panel.stale = True
        if resolution.outcome is Outcome.DROPPED and resolution.reason != "dropped by the user":
            held = resolution.message
            self.panel.last_note = f"#{held.id} ({held.way.arrow}, connection {held.conn}) " + (
                resolution.reason
            )


    def not_sent(self, conn: int, way: Way, line: str) -> None:
        self.panel.stale = True
        self.panel.last_note = f"connection {conn}: {line}"


class HeldEditor(CheckedDialog):
    """Edit a held message's payload (text or hex), then forward it."""

    def __init__(self, message: HeldMessage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heldEditor")
        self.setWindowTitle(
            f"Edit held message #{message.id} ({message.way.arrow}, connection {message.conn})"
        )
        self.message = message
        layout = QVBoxLayout(self)
        self.mode = QComboBox()
        self.mode.setObjectName("heldEditMode")
        self.mode.addItem("Text (UTF-8)", "text")
        self.mode.addItem("Hex", "hex")
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("heldEditText")
        self.editor.setAccessibleName("Payload")
        try:
            text = message.payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or message.kind is MessageKind.BINARY:
            self.mode.setCurrentIndex(1)
            self.editor.setPlainText(message.payload.hex(" "))
        else:
            self.editor.setPlainText(text)
        self._last_mode = str(self.mode.currentData())
        self.mode.currentIndexChanged.connect(self._convert)
        row = QHBoxLayout()
        size = len(message.payload)
        row.addWidget(QLabel(f"Held {message.kind} message, {size} bytes, shown as"))
        row.addWidget(self.mode)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.editor, 1)
        self.add_error_and_buttons(layout, "heldEditError", "Forward edited")
        self.resize(560, 320)

    def payload(self) -> bytes:
        """The edited payload; ComposeError (one line) when the hex is not hex."""
        text = self.editor.toPlainText()
        if self._last_mode == "hex":
            return parse_hex(text)
        return text.encode("utf-8")

    @guarded
    def _convert(self, *_: object) -> None:
        """Show the same bytes in the other form."""
        try:
            data = self.payload()
        except ComposeError as exc:
            self.fail(str(exc))
            self.mode.blockSignals(True)
            self.mode.setCurrentIndex(1 if self._last_mode == "hex" else 0)
            self.mode.blockSignals(False)
            return
        self._last_mode = str(self.mode.currentData())
        if self._last_mode == "hex":
            self.editor.setPlainText(data.hex(" "))
        else:
            self.editor.setPlainText(data.decode("utf-8", errors="replace"))
        self.error.hide()

    def check(self) -> None:
        self.payload()


class InterceptPanel(QWidget):
    """The intercept switch, its filter, and the queue of held messages."""

    #: The queue shown changed (at most once per refresh, never per message).
    queueChanged = Signal()

    def __init__(self, interceptor: Interceptor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interceptPanel")
        self.interceptor = interceptor
        self.stale = True
        #: The last message the relay let go without the user (its pair ended), in a line.
        self.last_note = ""
        self._unsubscribe = interceptor.subscribe(_Stale(self))

        self.switch = QCheckBox("Intercept")
        self.switch.setObjectName("interceptSwitch")
        self.switch.setToolTip("Hold matching messages until you forward, edit or drop them")
        self.ways = QComboBox()
        self.ways.setObjectName("interceptWays")
        self.ways.setAccessibleName("Intercept direction")
        for mode, label in _WAYS:
            self.ways.addItem(label, mode)
        self.filter = QLineEdit()
        self.filter.setObjectName("interceptFilter")
        self.filter.setAccessibleName("Intercept filter")
        self.filter.setPlaceholderText('every message, or text, or event == "chat"')
        self.filter.setClearButtonEnabled(True)
        self.regex = QCheckBox("Regex")
        self.regex.setObjectName("interceptRegex")
        self.count = QLabel("0 held")
        self.count.setObjectName("interceptCount")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.switch)
        top.addWidget(self.ways)
        top.addWidget(self.filter, 1)
        top.addWidget(self.regex)
        top.addWidget(self.count)

        self.model = HeldModel(self)
        self.table = QTableView()
        self.table.setObjectName("heldTable")
        self.table.setAccessibleName("Held messages")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((30, 40, 100, 46, 94)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(lambda *_: self.edit_selected())

        def button(text: str, name: str, tip: str, slot: Any) -> QPushButton:
            made = QPushButton(text)
            made.setObjectName(name)
            made.setToolTip(tip)
            made.clicked.connect(slot)
            return made

        self.forward_button = button(
            "Forward", "forwardHeldButton", "Send the selected message on unchanged",
            lambda: self.forward_selected(),
        )  # fmt: skip
        self.edit_button = button(
            "Edit…", "editHeldButton", "Change the selected message, then send it on",
            lambda: self.edit_selected(),
        )  # fmt: skip
        self.drop_button = button(
            "Drop", "dropHeldButton", "Discard the selected message: the other side never sees it",
            lambda: self.drop_selected(),
        )  # fmt: skip
        self.forward_all_button = button(
            "Forward all", "forwardAllButton", "Send every held message on, oldest first",
            lambda: self.forward_all(),
        )  # fmt: skip
        self.drop_all_button = button(
            "Drop all", "dropAllButton", "Discard every held message",
            lambda: self.drop_all(),
        )  # fmt: skip
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for made in (self.forward_button, self.edit_button, self.drop_button):
            buttons.addWidget(made)
        buttons.addStretch(1)
        buttons.addWidget(self.forward_all_button)
        buttons.addWidget(self.drop_all_button)

        self.note = QLabel()
        self.note.setObjectName("interceptNote")
        self.note.setWordWrap(True)
        self.note.hide()
        self.error = QLabel()
        self.error.setObjectName("interceptError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.error_text(theme.is_dark(self)).name()}")
        self.error.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.error)

        self.switch.toggled.connect(self._switch)
        self.ways.currentIndexChanged.connect(self._switch)
        self.filter.textChanged.connect(self._set_filter)
        self.regex.toggled.connect(self._set_filter)
        self.table.selectionModel().currentRowChanged.connect(self._enable)
        self.refresh()

    # -- the switch ---------------------------------------------------------------------

    def mode(self) -> InterceptMode:
        if not self.switch.isChecked():
            return InterceptMode.OFF
        return InterceptMode(self.ways.currentData())

    @guarded
    def _switch(self, *_: object) -> None:
        self.interceptor.set_mode(self.mode())
        self._enable()

    def set_mode(self, mode: InterceptMode | str) -> None:
        """Turn intercept on for a direction (or both), or off."""
        mode = InterceptMode(mode)
        if mode is not InterceptMode.OFF:
            self.ways.setCurrentIndex([m for m, _ in _WAYS].index(mode))
        self.switch.setChecked(mode is not InterceptMode.OFF)
        self._switch()

    @guarded
    def _set_filter(self, *_: object) -> None:
        try:
            self.interceptor.set_filter(self.filter.text(), self.regex.isChecked())
        except MessageFilterError as exc:
            self.filter.setStyleSheet(
                f"QLineEdit {{ color: {theme.error_text(theme.is_dark(self)).name()}; }}"
            )
            self.show_error(f"filter: {exc} (the previous filter stays)")
            return
        self.filter.setStyleSheet("")
        self.error.hide()

    # -- the queue ----------------------------------------------------------------------

    @property
    def held_count(self) -> int:
        return len(self.model.messages)

    def held_by_conn(self) -> dict[int, int]:
        """How many messages each connection has held."""
        counts: dict[int, int] = {}
        for message in self.model.messages:
            counts[message.conn] = counts.get(message.conn, 0) + 1
        return counts

    def refresh(self) -> bool:
        """Show the queue as it is now (when it changed); True when it did."""
        if not self.stale:
            return False
        self.stale = False
        current = self.selected()
        self.model.set_messages(self.interceptor.queue)
        count = len(self.model.messages)
        self.count.setText(f"{count} held")
        if self.last_note:
            self.note.setText(self.last_note)
            self.note.show()
        row = next(
            (i for i, m in enumerate(self.model.messages) if current and m.id == current.id),
            0 if count else None,
        )
        if row is not None:
            self.table.selectRow(row)
        self._enable()
        self.queueChanged.emit()
        return True

    def selected(self) -> HeldMessage | None:
        index = self.table.currentIndex()
        messages = self.model.messages
        return messages[index.row()] if index.isValid() and index.row() < len(messages) else None

    def _enable(self, *_: object) -> None:
        one = self.selected() is not None
        for made in (self.forward_button, self.edit_button, self.drop_button):
            made.setEnabled(one)
        for made in (self.forward_all_button, self.drop_all_button):
            made.setEnabled(bool(self.model.messages))

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _do(self, action: Any) -> bool:
        """Run one interceptor call; its failure is one line. True when it worked."""
        try:
            action()
        except (InspectorError, ValueError) as exc:
            self.show_error(" ".join(str(exc).split()))
            return False
        self.error.hide()
        self.refresh()
        return True

    @guarded
    def forward_selected(self) -> bool:
        message = self.selected()
        return message is not None and self._do(lambda: self.interceptor.forward(message.id))

    @guarded
    def drop_selected(self) -> bool:
        message = self.selected()
        return message is not None and self._do(lambda: self.interceptor.drop(message.id))

    @guarded
    def edit_selected(self, payload: bytes | None = None) -> bool:
        """Edit the selected message in the editor (or send ``payload``), then forward."""
        message = self.selected()
        if message is None:
            return False
        if payload is None:
            editor = HeldEditor(message, self)
            try:
                if editor.exec() != QDialog.DialogCode.Accepted:
                    return False
                payload = editor.payload()
            finally:
                editor.deleteLater()
        edited = payload
        return self._do(lambda: self.interceptor.edit(message.id, edited))

    @guarded
    def forward_all(self) -> bool:
        return self._do(self.interceptor.forward_all)

    @guarded
    def drop_all(self) -> bool:
        return self._do(self.interceptor.drop_all)

    def detach(self) -> None:
        """Stop following the interceptor (the tab is going)."""
        self._unsubscribe()
