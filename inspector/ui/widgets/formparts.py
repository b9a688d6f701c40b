"""Pieces the option and rule dialogs share: the checked OK (one error line, the dialog
stays open), the framing choice, the message-size box, a file field with Browse and
header lines, so each looks and reads the same in every dialog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.options import Framing
from inspector.ui import theme
from inspector.ui.guard import guarded

FRAMING_LABELS = {
    Framing.RAW: "Raw (one record per read)",
    Framing.LINES: "Lines (\\n or \\r\\n)",
    Framing.LEN16: "16-bit length prefix",
    Framing.LEN32: "32-bit length prefix",
    Framing.MQTT: "MQTT packets (remaining length)",
}

_MIB = 1024 * 1024


class CheckedDialog(QDialog):
    """A dialog whose OK first checks the form (:meth:`check`): what cannot work is one
    line above the buttons, and the dialog stays open."""

    error: QLabel
    ok_button: QPushButton

    def add_error_and_buttons(
        self, layout: QVBoxLayout, name: str, ok_text: str | None = None
    ) -> None:
        """Put the (hidden) error line, object name ``name``, and OK (named ``ok_text``
        when given) and Cancel last."""
        self.error = QLabel()
        self.error.setObjectName(name)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.error_text(theme.is_dark(self)).name()}")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok_text is not None:
            self.ok_button.setText(ok_text)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def check(self) -> None:
        """Raise ValueError or InspectorError with one line when the form cannot work."""

    def fail(self, message: str) -> None:
        """Show ``message`` as the error line."""
        self.error.setText(message)
        self.error.show()

    def accept(self) -> None:
        if self.attempt(self.check):
            super().accept()

    def attempt(self, action: Callable[[], object], writing: Path | None = None) -> bool:
        """Run ``action``; True when it worked (the error line hidden), else its one
        line shown (an OSError as "cannot write ``writing``: why")."""
        try:
            action()
        except (ValueError, InspectorError) as exc:
            self.fail(str(exc))
            return False
        except OSError as exc:
            self.fail(f"cannot write {writing}: {exc.strerror or exc}")
            return False
        self.error.hide()
        return True

    def with_chosen_path(
        self,
        action: Callable[[Path], object],
        title: str,
        filters: str,
        save_as: str | None = None,
    ) -> None:
        """Ask for a file in a file dialog (to save as, named ``save_as`` at first, when
        given; else to open) and run ``action`` on it; nothing when cancelled."""
        if save_as is not None:
            path, _ = QFileDialog.getSaveFileName(self, title, save_as, filters)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, "", filters)
        if path:
            action(Path(path))


def choice_box(labels: Mapping[Any, str], current: Any, name: str = "") -> QComboBox:
    """A choice of ``labels``' keys shown by their labels (each item's data: the key),
    ``current`` selected."""
    box = QComboBox()
    box.setObjectName(name)
    for key, label in labels.items():
        box.addItem(label, key)
    box.setCurrentIndex(list(labels).index(current))
    return box


def framing_box(current: Framing) -> QComboBox:
    """A choice of the stream framings, ``current`` selected (its data: the Framing)."""
    return choice_box(FRAMING_LABELS, current)


def number_box(
    name: str, low: int, high: int, value: int, *, suffix: str = "", special: str | None = None
) -> QSpinBox:
    """A whole-number box from ``low`` to ``high``; ``special`` names its lowest value
    (e.g. "none", "no limit")."""
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    if suffix:
        box.setSuffix(suffix)
    if special is not None:
        box.setSpecialValueText(special)
    box.setValue(value)
    return box


def check_box(name: str, text: str, checked: bool) -> QCheckBox:
    """A named check box."""
    box = QCheckBox(text)
    box.setObjectName(name)
    box.setChecked(checked)
    return box


def text_line(name: str, value: str, placeholder: str = "") -> QLineEdit:
    """A named one-line text field with a placeholder."""
    edit = QLineEdit(value)
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def framing_group(layout: QVBoxLayout, current: Framing) -> QComboBox:
    """The "TCP and TLS" group with the framing choice, added to ``layout``."""
    group = QGroupBox("TCP and TLS (tcp://, tls://)")
    form = QFormLayout(group)
    box = framing_box(current)
    form.addRow("Framing", box)
    layout.addWidget(group)
    return box


def size_box(max_size: int | None) -> QSpinBox:
    """The largest message in MiB, 0 shown as "unlimited"."""
    box = QSpinBox()
    box.setRange(0, 1024)
    box.setSuffix(" MiB")
    box.setSpecialValueText("unlimited")
    box.setValue((max_size or 0) // _MIB)
    return box


def size_value(box: QSpinBox) -> int | None:
    """The bytes a :func:`size_box` says (None: unlimited)."""
    return box.value() * _MIB or None


def file_row(
    form: QFormLayout, label: str, value: str | None, placeholder: str, title: str
) -> QLineEdit:
    """A form row of a file name field and a Browse… button that fills it."""
    row = QHBoxLayout()
    edit = QLineEdit(value or "")
    edit.setPlaceholderText(placeholder)
    browse = QPushButton("Browse…")
    parent: QWidget | None = form.parentWidget()

    @guarded
    def choose(*_: object) -> None:
        path, _ = QFileDialog.getOpenFileName(parent, title)
        if path:
            edit.setText(path)

    browse.clicked.connect(choose)
    row.addWidget(edit, 1)
    row.addWidget(browse)
    form.addRow(label, row)
    return edit


def headers_text(headers: tuple[tuple[str, str], ...]) -> str:
    """Headers as ``Name: value`` lines (what :func:`parse_headers` reads back)."""
    return "\n".join(f"{name}: {value}" for name, value in headers)


def parse_headers(text: str) -> tuple[tuple[str, str], ...]:
    """``Name: value`` per line into pairs; raise ValueError naming the bad line."""
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name or any(ch.isspace() for ch in name):
            raise ValueError(f"header line {number} is not 'Name: value'")
        headers.append((name, value.strip()))
    return tuple(headers)
