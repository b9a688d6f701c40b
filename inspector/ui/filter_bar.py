"""The filter above the records: direction, kind, text or regex; shows "N of M".

Text of the form ``NAME OP VALUE`` (``event == "chat"``, ``topic ~ "sensors/"``,
several joined by ``&&``) filters on decoded fields, as ``inspector show --where``
does, with the same parser (``protocols.decoders.where``).
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from inspector.core.records import Direction, Kind
from inspector.protocols.decoders.where import Condition
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.models.filter import FilterError, RecordFilter

_DIRECTIONS = (
    ("All directions", None),
    ("→ Sent", frozenset({Direction.OUT})),
    ("← Received", frozenset({Direction.IN})),
    ("· Session events", frozenset({Direction.META})),
)
_DATA_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
_KINDS = (
    ("All kinds", None),
    ("Data (frames, messages, datagrams)", _DATA_KINDS),
    ("Errors", frozenset({Kind.ERROR})),
    *((kind.value.capitalize(), frozenset({kind})) for kind in Kind),
)
#: Text that is a test on decoded fields rather than a search: NAME then an operator.
_CONDITION_START = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*(==|!=|!~|~)")
_DEBOUNCE_MS = 150
_ERROR_CHARS = 27  # width of the regex error beside the field, in average characters


class FilterBar(QWidget):
    """Emits ``filterChanged`` with a RecordFilter a moment after the user stops typing."""

    filterChanged = Signal(object)  # RecordFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.edit = QLineEdit()
        self.edit.setObjectName("filterEdit")
        self.edit.setAccessibleName("Filter records")
        self.edit.setPlaceholderText('Filter payloads, or decoded fields: event == "chat" (Ctrl+F)')
        self.edit.setClearButtonEnabled(True)
        self.regex = QCheckBox(".*")
        self.regex.setObjectName("filterRegex")
        self.regex.setAccessibleName("Regular expression")
        self.regex.setToolTip("Treat the filter text as a regular expression")
        self.direction = QComboBox()
        self.direction.setObjectName("filterDirection")
        self.direction.setAccessibleName("Direction filter")
        for label, _ in _DIRECTIONS:
            self.direction.addItem(label)
        self.kind = QComboBox()
        self.kind.setObjectName("filterKind")
        self.kind.setAccessibleName("Kind filter")
        for label, _ in _KINDS:
            self.kind.addItem(label)
        self.count = QLabel()
        self.count.setObjectName("filterCount")
        self.count.setAccessibleName("Records shown")
        self.error = QLabel()
        self.error.setObjectName("filterError")
        # A regex error can be long: cut it (whole in the tooltip) rather than let it
        # squeeze the text being corrected.
        self.error.setMaximumWidth(self.fontMetrics().horizontalAdvance("x" * _ERROR_CHARS))
        self.error.hide()

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.regex)
        layout.addWidget(self.direction)
        layout.addWidget(self.kind)
        layout.addWidget(self.error)
        layout.addWidget(self.count)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_DEBOUNCE_MS)
        self._timer.timeout.connect(self.apply)
        self.edit.textChanged.connect(self._timer.start)
        self.regex.toggled.connect(self._timer.start)
        self.direction.currentIndexChanged.connect(self.apply)
        self.kind.currentIndexChanged.connect(self.apply)
        self._current = RecordFilter()

    @property
    def current(self) -> RecordFilter:
        return self._current

    def build(self) -> RecordFilter:
        """The filter as set; raise FilterError for a bad regex or condition."""
        text = self.edit.text()
        conditions = () if self.regex.isChecked() else conditions_of(text)
        return RecordFilter.build(
            _DIRECTIONS[self.direction.currentIndex()][1],
            _KINDS[self.kind.currentIndex()][1],
            "" if conditions else text,
            self.regex.isChecked(),
            conditions,
        )

    @guarded
    def apply(self, *_: object) -> None:
        """Build the filter now and emit it (or mark the field when the regex is bad)."""
        self._timer.stop()
        try:
            record_filter = self.build()
        except FilterError as exc:
            colour = theme.error_text(theme.is_dark(self)).name()
            self.edit.setStyleSheet(f"QLineEdit#filterEdit {{ border: 2px solid {colour}; }}")
            self.edit.setToolTip(str(exc))
            self.error.setStyleSheet(f"color: {colour}")
            metrics = self.error.fontMetrics()
            # "invalid regular expression at position 3" beside the field; why, in the
            # tooltip.
            headline = str(exc).split(":", 1)[0]
            self.error.setText(
                metrics.elidedText(headline, Qt.TextElideMode.ElideRight, self.error.maximumWidth())
            )
            self.error.setToolTip(str(exc))
            self.error.show()
            return
        self.edit.setStyleSheet("")
        self.edit.setToolTip("")
        self.error.hide()
        self._current = record_filter
        self.filterChanged.emit(record_filter)

    def set_counts(self, shown: int, total: int, *, busy: bool = False) -> None:
        """Show "N of M" while a filter is set ("N of M, filtering…" while a filter on
        decoded fields is still testing records), "M records" otherwise."""
        if self._current.empty:
            self.count.setText(f"{total} records")
        else:
            self.count.setText(f"{shown} of {total}" + (", filtering…" if busy else ""))


def conditions_of(text: str) -> tuple[Condition, ...]:
    """The decoded-field tests in ``text`` (``A == 1 && B ~ x``), or () when it is a plain
    search; FilterError when it starts like a test and is not one."""
    parts = [part for part in text.split("&&")]
    if not all(_CONDITION_START.match(part) for part in parts):
        return ()
    try:
        return tuple(Condition.parse(part) for part in parts)
    except ValueError as exc:
        raise FilterError(f"invalid field test: {exc}") from None
