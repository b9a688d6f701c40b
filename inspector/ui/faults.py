"""What a session tab shows when the peer, the network or the disk misbehaves.

A :class:`FaultPanel` sits under the session banner. It shows, each only when it applies:

- a refused certificate (subject, issuer, validity, SHA-256) with a "Connect anyway"
  button that opens a new session with verification off to the same endpoint;
- that the session does not verify the certificate (connect anyway, or verify off in
  the connect options), so an unverified session never looks like a verified one;
- a frame, line or length-prefixed message still arriving ("receiving: frame 12 of 40
  bytes"), refreshed by the bridge's timer rather than per byte;
- that the capture file could not be written (records are kept in memory), with a
  Save As button, and how many records a capture limit did not keep.

The window-level marks (tab text, icon, tooltip, status bar) are set by
:func:`mark_tab` and :func:`mark_status`.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.records import Kind, Record
from inspector.net.session import Session
from inspector.ui.capture_files import CAPTURE_SUFFIX
from inspector.ui.guard import guarded
from inspector.ui.widgets.fitscroll import FitScrollArea

#: Asks the user for a file to save to; returns "" when cancelled (QFileDialog's shape).
SaveDialog = Callable[[QWidget, str, str], str]

UNVERIFIED_TEXT = "certificate not verified"
CONNECT_ANYWAY_TEXT = "Connect anyway (certificate not verified)"
_WARN = "#b35c00"
_TLS_SCHEMES = frozenset({"wss", "tls"})
_UNIT = {"ws": "frame", "wss": "frame"}


def qt_save_dialog(parent: QWidget, caption: str, suggested: str) -> str:
    """The standard file dialog asking where to save a capture."""
    path, _ = QFileDialog.getSaveFileName(
        parent, caption, suggested, f"Captures (*{CAPTURE_SUFFIX});;All files (*)"
    )
    return path


def is_unverified(endpoint: Endpoint, options: SessionOptions) -> bool:
    """True when a TLS session will not check the server's certificate."""
    return str(endpoint.scheme) in _TLS_SCHEMES and not options.verify


def refused_certificate(record: Record) -> dict[str, Any] | None:
    """The certificate a TLS ERROR record says was refused (None for other records)."""
    if record.kind is not Kind.ERROR or record.fields.get("verified") is not False:
        return None
    cert = record.fields.get("cert")
    return cert if isinstance(cert, dict) else {}


def certificate_rows(cert: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows for a certificate as the engine describes it."""
    rows = [
        ("Subject", cert.get("subject")),
        ("Issuer", cert.get("issuer")),
        ("Valid from", cert.get("not_before")),
        ("Valid until", cert.get("not_after")),
        ("Names", ", ".join(str(n) for n in cert.get("san") or ()) or None),
        ("SHA-256", _fingerprint(cert.get("sha256"))),
    ]
    return [(label, str(value)) for label, value in rows if value]


def _fingerprint(value: object) -> str | None:
    """A hex digest as colon-separated pairs, the way browsers show fingerprints."""
    if not isinstance(value, str) or not value:
        return None
    digits = value.replace(":", "").upper()
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def partial_text(session: Session | None, scheme: str) -> str:
    """'receiving: frame 12 of 40 bytes' while a unit arrives, else ''."""
    if session is None or session.ended:
        return ""
    have = len(session.partial_inbound())
    if not have:
        return ""
    unit = _UNIT.get(scheme, "message")
    total = session.partial_inbound_size()
    if total is None:
        return f"receiving: {unit}, {have} bytes so far"
    return f"receiving: {unit} {have} of {total} bytes"


@dataclass(frozen=True, slots=True)
class FaultState:
    """What a tab tells its fault panel, refreshed on every bridge tick."""

    endpoint: Endpoint
    options: SessionOptions
    #: The growing-unit line (see :func:`partial_text`), or "".
    partial: str = ""
    #: Why the capture file cannot be written, or None.
    capture_problem: str | None = None
    #: The capture file's name, suggested by Save As.
    capture_name: str | None = None
    #: Records (and their bytes) a capture limit did not keep, and that limit.
    not_kept: int = 0
    not_kept_bytes: int = 0
    capture_limit: str | None = None

    @property
    def unverified(self) -> bool:
        return is_unverified(self.endpoint, self.options)


class FaultPanel(QFrame):
    """Certificate, unverified, partial-data, disk and capture-limit notices of one tab."""

    #: (endpoint, options with verify off): the user chose to connect without verifying.
    connectAnyway = Signal(object, object)
    #: (path: Path): the user chose where to save this session's records; whoever
    #: saves calls :meth:`mark_saved` when it worked.
    saveRequested = Signal(object)

    def __init__(
        self, parent: QWidget | None = None, save_dialog: SaveDialog | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("faultPanel")
        self.state: FaultState | None = None
        self.save_dialog: SaveDialog = save_dialog or qt_save_dialog
        self.certificate: dict[str, Any] | None = None
        self.cert_reason = ""
        self.saved_to: Path | None = None

        self.unverified_label = self._label("unverifiedLabel", "Certificate not verified")
        self.unverified_label.setText(
            f"⚠ {UNVERIFIED_TEXT.capitalize()}: anyone on the path could read or change "
            "this session."
        )

        self.cert_box = QFrame()
        self.cert_box.setObjectName("certificateBox")
        self.cert_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.cert_title = self._label("certificateReason", "Why the certificate was refused")
        self.cert_title.setWordWrap(True)
        self.cert_form = QFormLayout()
        self.cert_form.setContentsMargins(0, 0, 0, 0)
        self.connect_anyway_button = QPushButton(CONNECT_ANYWAY_TEXT)
        self.connect_anyway_button.setObjectName("connectAnywayButton")
        self.connect_anyway_button.setAccessibleName(CONNECT_ANYWAY_TEXT)
        self.connect_anyway_button.setToolTip(
            "Open a new session to the same endpoint that does not check the certificate"
        )
        self.connect_anyway_button.clicked.connect(self.connect_anyway)
        cert_layout = QVBoxLayout(self.cert_box)
        title_row = QHBoxLayout()
        title_row.addWidget(self.cert_title, 1)
        title_row.addWidget(self.connect_anyway_button)
        cert_layout.addLayout(title_row)
        # In a short window the details scroll instead of being cut off at the bottom.
        form_widget = QWidget()
        form_widget.setLayout(self.cert_form)
        self.cert_scroll = FitScrollArea(form_widget)
        cert_layout.addWidget(self.cert_scroll)

        self.partial_label = self._label("partialLabel", "Data still arriving")
        self.limit_label = self._label("captureLimitLabel", "Records not kept")

        self.disk_label = self._label("diskLabel", "Capture not written to disk")
        self.disk_label.setWordWrap(True)
        self.save_button = QPushButton("Save As…")
        self.save_button.setObjectName("faultSaveAsButton")
        self.save_button.setAccessibleName("Save capture as")
        self.save_button.clicked.connect(self.save_as)
        self.disk_row = QWidget()
        disk_layout = QHBoxLayout(self.disk_row)
        disk_layout.setContentsMargins(0, 0, 0, 0)
        disk_layout.addWidget(self.disk_label, 1)
        disk_layout.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(2)
        for widget in (
            self.unverified_label,
            self.cert_box,
            self.disk_row,
            self.limit_label,
        ):
            widget.hide()
            layout.addWidget(widget)
        # The growing-frame line comes and goes many times a second while a frame
        # trickles in: the session tab puts it beside the record count, where it does
        # not move the table (``partial_label`` is laid out by the owner).
        self.partial_label.hide()

    def _label(self, name: str, accessible: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet(f"QLabel#{name} {{ color: {_WARN}; }}")
        return label

    # -- state ------------------------------------------------------------------------

    @property
    def unverified(self) -> bool:
        return self.state is not None and self.state.unverified

    def reset(self, state: FaultState) -> None:
        """Forget the previous session's notices (a reconnect starts afresh)."""
        self.certificate = None
        self.cert_reason = ""
        self.saved_to = None
        self.cert_box.hide()
        self.partial_label.hide()
        self.limit_label.hide()
        self.show_state(state)

    @guarded
    def add_records(self, batch: Sequence[Record]) -> None:
        """Look through a flushed batch for a refused certificate."""
        error = Kind.ERROR
        for record in getattr(batch, "heads", batch):  # a run holds no error
            if record.kind is not error:
                continue
            cert = refused_certificate(record)
            if cert is not None:
                self.show_certificate(str(record.fields.get("message", "")), cert)

    def show_certificate(self, reason: str, cert: dict[str, Any]) -> None:
        """Show why the certificate was refused, what it says, and Connect anyway."""
        self.certificate = cert
        self.cert_reason = reason
        self.cert_title.setText("<b>Certificate refused.</b> The server presented:")
        self.cert_title.setToolTip(html.escape(reason or "not trusted"))
        while self.cert_form.rowCount():
            self.cert_form.removeRow(0)
        rows = certificate_rows(cert) or [("Certificate", "the server sent none we could read")]
        for label, value in rows:
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setWordWrap(True)
            self.cert_form.addRow(f"{label}:", field)
        self.cert_box.show()

    @guarded
    def show_state(self, state: FaultState) -> None:
        """Update the unverified notice, the growing-unit line, the disk notice and the
        limit count (per tick)."""
        self.state = state
        self.unverified_label.setVisible(state.unverified)
        text = state.partial
        if text != self.partial_label.text():
            self.partial_label.setText(text)
        self.partial_label.setVisible(bool(text))
        problem = state.capture_problem
        if problem:
            saved = f" Saved to {self.saved_to}." if self.saved_to else ""
            self.disk_label.setText(
                f"The capture file cannot be written ({problem}); this session is kept "
                f"in memory only.{saved}"
            )
        self.disk_row.setVisible(bool(problem))
        not_kept = state.not_kept
        if not_kept and state.capture_limit is not None:
            self.limit_label.setText(
                f"{not_kept} records ({state.not_kept_bytes} bytes) not kept: capture "
                f"limit of {state.capture_limit}"
            )
        self.limit_label.setVisible(bool(not_kept))

    # -- actions ----------------------------------------------------------------------

    @guarded
    def connect_anyway(self, *_: object) -> None:
        """Ask the window for a new session to this endpoint without verification."""
        state = self.state
        if state is not None:
            options = dataclasses.replace(state.options, verify=False)
            self.connectAnyway.emit(state.endpoint, options)

    @guarded
    def save_as(self, *_: object) -> None:
        """Ask where, then ask the owner to write everything recorded to that file."""
        state = self.state
        name = state.capture_name if state is not None else None
        chosen = self.save_dialog(self, "Save capture as", name or f"session{CAPTURE_SUFFIX}")
        if chosen:
            self.saveRequested.emit(Path(chosen))

    def mark_saved(self, path: Path) -> None:
        """Say where the records were saved (the disk notice stays: the file is still
        not written)."""
        self.saved_to = path
        if self.state is not None:
            self.show_state(self.state)


# -- window-level marks ---------------------------------------------------------------


_BADGED: dict[int, QIcon] = {}


def unverified_icon(base: QIcon) -> QIcon:
    """``base`` with an orange warning badge in its corner (cached per base icon)."""
    key = base.cacheKey()
    if key in _BADGED:
        return _BADGED[key]
    pixmap = base.pixmap(32, 32)
    if pixmap.isNull():
        pixmap = QPixmap(32, 32)
        pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(_WARN))
    painter.drawEllipse(QRectF(16, 16, 16, 16))
    painter.setPen(QColor("white"))
    font = painter.font()
    font.setBold(True)
    font.setPixelSize(13)
    painter.setFont(font)
    painter.drawText(QRectF(16, 16, 16, 16), Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    icon = QIcon(pixmap)
    _BADGED[key] = icon
    return icon


def mark_tab(tabs: QTabWidget, tab: QWidget, title: str, unverified: bool) -> None:
    """Mark an unverified session's tab (text, icon, tooltip); leave others alone."""
    index = tabs.indexOf(tab)
    if index < 0 or not unverified:
        return
    tabs.setTabText(index, f"⚠ {title}")
    tabs.setTabIcon(index, unverified_icon(tabs.tabIcon(index)))
    tooltip = tabs.tabToolTip(index)
    if UNVERIFIED_TEXT not in tooltip:
        tabs.setTabToolTip(index, f"{tooltip} — {UNVERIFIED_TEXT}")


def status_label(owner: QWidget) -> QLabel:
    """The status bar's unverified marker (created hidden on first use)."""
    label = owner.findChild(QLabel, "statusUnverified")
    if label is None:
        label = QLabel(f"⚠ {UNVERIFIED_TEXT}", owner)
        label.setObjectName("statusUnverified")
        label.setAccessibleName("Certificate not verified")
        label.setStyleSheet(f"color: {_WARN}; font-weight: bold")
        label.setContentsMargins(12, 0, 4, 0)
        label.hide()
    return label


def mark_status(label: QLabel, unverified: bool) -> None:
    """Show the status bar's marker while the current session is unverified."""
    label.setVisible(unverified)
