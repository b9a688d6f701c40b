"""Options ▸ Capture Limit: how much traffic each new session keeps (default: all).

A long or flooding session can fill a disk; the limit turns the rest of the traffic
into counts (the Recorder's :class:`~inspector.core.recorder.CaptureLimit`): meta
records, errors and the session's end are always kept, and an INFO record says exactly
how many records were not kept. The limit applies to sessions opened after it is set.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.recorder import CaptureLimit
from inspector.ui.settings import Settings

MIB = 1024 * 1024
_RECORDS_KEY = "capture/limit_records"
_MIB_KEY = "capture/limit_mib"
_MAX_RECORDS = 2_000_000_000
_MAX_MIB = 1_000_000


def _positive(settings: Settings, key: str) -> int | None:
    """A positive int stored under ``key``; anything else (absent, 0, junk) means none."""
    raw = settings.qsettings.value(key, 0)
    try:
        value = int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def capture_limit(settings: Settings) -> CaptureLimit | None:
    """The limit for new sessions, or None when every record is kept."""
    records = _positive(settings, _RECORDS_KEY)
    mib = _positive(settings, _MIB_KEY)
    if records is None and mib is None:
        return None
    return CaptureLimit(records=records, bytes=None if mib is None else mib * MIB)


def set_capture_limit(settings: Settings, records: int | None, mib: int | None) -> None:
    """Remember the limit (None or 0: no bound on that measure)."""
    settings.qsettings.setValue(_RECORDS_KEY, records or 0)
    settings.qsettings.setValue(_MIB_KEY, mib or 0)


class CaptureLimitDialog(QDialog):
    """Asks for a record count and/or MiB; 0 in a field means unlimited."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("captureLimitDialog")
        self.setWindowTitle("Capture Limit")
        self.settings = settings
        current = capture_limit(settings) or CaptureLimit()
        self.records = QSpinBox()
        self.records.setObjectName("limitRecords")
        self.records.setRange(0, _MAX_RECORDS)
        self.records.setSpecialValueText("unlimited")
        self.records.setValue(current.records or 0)
        self.mib = QSpinBox()
        self.mib.setObjectName("limitMib")
        self.mib.setRange(0, _MAX_MIB)
        self.mib.setSuffix(" MiB")
        self.mib.setSpecialValueText("unlimited")
        self.mib.setValue((current.bytes or 0) // MIB)
        note = QLabel(
            "New sessions keep at most this much traffic; the rest is counted, and the "
            "capture says exactly how many records were not kept."
        )
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Records:", self.records)
        form.addRow("Size:", self.mib)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Store the limit, then close."""
        set_capture_limit(self.settings, self.records.value(), self.mib.value())
        super().accept()
