"""TimingView: the session's phases as a waterfall, TLS details, and live traffic rates.

The phases (resolve, connect, TLS, upgrade, first byte) come from the session's meta
records; each carries ``duration_ns`` and was recorded when the phase ended, so a phase
spans ``[t_ns - duration_ns, t_ns]`` on the session clock. Traffic is kept as per-second
counters only (O(batch) per update) and repainted at most every 250 ms.

"Ready" is when the session could first send: the end of the last opening step its
scheme needs (connect; TLS for tls:// and wss://; an accepted upgrade for ws:// and
wss://). A session that failed before that has no Ready. "First byte" is the first byte
the peer sent: "unprompted" when it came before anything the user sent (measured from
Ready), "after the first send" otherwise (measured from that send).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QFontDatabase, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from inspector.core.records import Direction, Kind, Record
from inspector.ui import theme
from inspector.ui.widgets.fieldtext import format_duration
from inspector.ui.widgets.roundtrip import RoundTripChart
from inspector.ui.widgets.traffic import TrafficCounter, TrafficPlot

REPAINT_MS = 250
_TRAFFIC_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
_PHASE_KINDS = frozenset({Kind.RESOLVE, Kind.CONNECT, Kind.TLS, Kind.HANDSHAKE})
#: ERROR records' ``phase`` values that end a session before it could send.
_OPENING_STEPS = {
    "resolve": "name resolution",
    "connect": "connect",
    "proxy": "the proxy's exchange",
    "tls": "the TLS handshake",
    "handshake": "the WebSocket upgrade",
}


@dataclass(frozen=True, slots=True)
class Phase:
    """One timed step of opening a session, on the session clock (ns)."""

    name: str
    start_ns: int
    end_ns: int
    note: str = ""

    @property
    def duration_ns(self) -> int:
        """How long the phase took."""
        return self.end_ns - self.start_ns


#: A relay pair's legs (the ``leg`` field of its CONNECT and TLS records), as Timing names them.
_LEGS = {"client": "client", "upstream": "server"}


def is_proxy_phase(r: Record) -> bool:
    """True for the record that ends the proxy's exchange (the CONNECT answer or the
    SOCKS negotiation: an INFO record with ``proxy`` and ``duration_ns``)."""
    return r.kind is Kind.INFO and "proxy" in r.fields and "duration_ns" in r.fields


def proxy_succeeded(r: Record) -> bool:
    """True when the proxy's exchange ``r`` opened the tunnel."""
    status = r.fields.get("status")
    if isinstance(status, int):
        return 200 <= status < 300
    return r.fields.get("reply_code") == 0


def _sent_by_user(r: Record) -> bool:
    return r.direction is Direction.OUT and r.kind in _TRAFFIC_KINDS and not r.automatic


def phases_from(records: Iterable[Record]) -> list[Phase]:
    """The opening phases found in ``records``, in session order, then the first byte
    the peer sent (noted "unprompted" or "after the first send")."""
    found: dict[str, Phase] = {}
    request_t: int | None = None
    last_end = 0
    first_send: int | None = None
    for r in records:
        if _sent_by_user(r):
            first_send = r.t_ns if first_send is None else min(first_send, r.t_ns)
            continue
        duration = r.fields.get("duration_ns")
        duration = duration if isinstance(duration, int) and duration >= 0 else None
        name = {Kind.RESOLVE: "resolve", Kind.CONNECT: "connect", Kind.TLS: "tls"}.get(r.kind)
        leg = r.fields.get("leg")
        if name in ("connect", "tls") and leg in _LEGS:
            name = f"{name} ({_LEGS[leg]})"  # a relay pair: each leg its own phase
        if is_proxy_phase(r):
            name = "proxy"
        if r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT:
            request_t = r.t_ns
            continue
        if r.kind is Kind.HANDSHAKE and r.direction is Direction.IN:
            name = "upgrade"
            if duration is None and request_t is not None:
                duration = r.t_ns - request_t
        if name is not None and name not in found:
            start = max(0, r.t_ns - (duration or 0))
            found[name] = Phase(name, start, r.t_ns)
            last_end = max(last_end, r.t_ns)
        elif (
            "first byte" not in found
            and r.direction is Direction.IN
            and r.kind in _TRAFFIC_KINDS
            and found
        ):
            found["first byte"] = Phase("first byte", last_end, max(last_end, r.t_ns))
    first = found.get("first byte")
    if first is not None:
        if first_send is not None and first_send <= first.end_ns:
            start = max(first.start_ns, first_send)
            found["first byte"] = Phase("first byte", start, first.end_ns, "after the first send")
        else:
            found["first byte"] = Phase(first.name, first.start_ns, first.end_ns, "unprompted")
    return list(found.values())


def ready_ns(records: Iterable[Record], scheme: str = "") -> int | None:
    """When the session could first send, on the session clock; None when it never
    could (or has not yet). ``scheme`` says which steps are needed; without it, those
    present are."""
    connect = tls = None
    upgrade: Record | None = None
    proxy: Record | None = None
    for r in records:
        if proxy is None and is_proxy_phase(r):
            proxy = r
        if r.kind is Kind.CONNECT and connect is None:
            connect = r.t_ns
        elif r.kind is Kind.TLS and tls is None:
            tls = r.t_ns
        elif r.kind is Kind.HANDSHAKE and r.direction is Direction.IN and upgrade is None:
            upgrade = r
    if connect is None:
        return None
    ends = [connect]
    if proxy is not None:
        if not proxy_succeeded(proxy):
            return None  # the proxy refused: the session never reached its server
        ends.append(proxy.t_ns)
    if scheme in ("tls", "wss") or (not scheme and tls is not None):
        if tls is None:
            return None  # the TLS handshake failed (a refused certificate, say)
        ends.append(tls)
    if scheme in ("ws", "wss") or (not scheme and upgrade is not None):
        if upgrade is None or not upgrade.fields.get(
            "accepted", upgrade.fields.get("status") == 101
        ):
            return None
        ends.append(upgrade.t_ns)
    return max(ends)


class Waterfall(QWidget):
    """Horizontal bars on a shared time axis, one row per phase, durations labelled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timingWaterfall")
        self.setAccessibleName("Connection phases")
        self.phases: list[Phase] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._update_height()

    def set_phases(self, phases: Sequence[Phase]) -> None:
        """Replace the phases shown."""
        self.phases = list(phases)
        self._update_height()
        self.updateGeometry()
        self.setAccessibleDescription("; ".join(self.labels()))
        self.update()

    def labels(self) -> list[str]:
        """One "name: duration" line per phase (also the accessible description)."""
        return [
            f"{p.name}: {format_duration(p.duration_ns)}" + (f" ({p.note})" if p.note else "")
            for p in self.phases
        ]

    def _row_h(self) -> int:
        return self.fontMetrics().height() + 8

    def _update_height(self) -> None:
        rows = max(1, len(self.phases))
        self.setFixedHeight((rows + 1) * self._row_h() + 12)

    def _columns(self) -> tuple[int, int]:
        """Widths of the name column and the duration column."""
        fm = self.fontMetrics()
        label_w = max((fm.horizontalAdvance(p.name) for p in self.phases), default=0) + 16
        value_w = max(
            (fm.horizontalAdvance(format_duration(p.duration_ns)) for p in self.phases),
            default=0,
        )
        return label_w, value_w + 16

    def minimumSizeHint(self) -> QSize:
        """Names, a short bar and the durations always fit (nothing is clipped)."""
        label_w, value_w = self._columns()
        return QSize(label_w + 40 + value_w, self.height())

    def sizeHint(self) -> QSize:
        """As wide as the minimum plus room for the bars."""
        hint = self.minimumSizeHint()
        return QSize(hint.width() + 160, hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Label | bar | duration per row, then the axis with ticks in ms."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dark = theme.is_dark(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        fm = self.fontMetrics()
        row_h = self._row_h()
        if not self.phases:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No timing yet")
            return
        label_w, value_w = self._columns()
        left, right = label_w, max(label_w + 40, self.width() - value_w)
        span = max(p.end_ns for p in self.phases) or 1
        scale = (right - left) / span
        for i, p in enumerate(self.phases):
            y = 6 + i * row_h
            painter.setPen(text)
            painter.drawText(
                QRectF(4, y, label_w - 8, row_h), Qt.AlignmentFlag.AlignVCenter, p.name
            )
            x0 = left + p.start_ns * scale
            width = max(2.0, p.duration_ns * scale)
            colour = theme.phase_colour(p.name, dark)
            painter.fillRect(QRectF(x0, y + 4, width, row_h - 8), colour)
            note_x = x0 + width + 4
            if p.note and note_x + fm.horizontalAdvance(p.note) <= right:
                painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(
                    QRectF(note_x, y, right - note_x, row_h), Qt.AlignmentFlag.AlignVCenter, p.note
                )
            elif p.note and x0 - 4 - fm.horizontalAdvance(p.note) >= left:
                painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                tw = fm.horizontalAdvance(p.note)
                painter.drawText(
                    QRectF(x0 - 4 - tw, y, tw, row_h), Qt.AlignmentFlag.AlignVCenter, p.note
                )
            painter.setPen(text)
            painter.drawText(
                QRectF(right + 8, y, value_w, row_h),
                Qt.AlignmentFlag.AlignVCenter,
                format_duration(p.duration_ns),
            )
        axis_y = 6 + len(self.phases) * row_h + 2
        painter.setPen(QPen(theme.grid(dark), 1))
        painter.drawLine(left, axis_y, right, axis_y)
        # As many tick labels as fit without touching (at most five, at least the ends).
        widest = max(fm.horizontalAdvance(format_duration(span * k / 4)) for k in range(5))
        steps = 4
        while steps > 1 and (right - left) / steps < widest + 12:
            steps //= 2
        for k in range(steps + 1):
            x = left + (right - left) * k / steps
            painter.drawLine(int(x), axis_y, int(x), axis_y + 4)
            tick = format_duration(span * k / steps)
            tw = fm.horizontalAdvance(tick)
            tx = min(max(x - tw / 2, 0), self.width() - tw)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(int(tx), axis_y + 4 + fm.ascent(), tick)
            painter.setPen(QPen(theme.grid(dark), 1))
        painter.end()


class TimingView(QWidget):
    """Phases waterfall, TLS form and traffic plot of one session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timingView")
        self.setAccessibleName("Timing")
        self.waterfall = Waterfall()
        self.total = QLabel()
        self.total.setObjectName("timingTotal")
        self.total.setWordWrap(True)
        self.tls_box = QGroupBox("TLS")
        self.tls_form = QFormLayout(self.tls_box)
        self.tls_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.tls_labels: dict[str, QLabel] = {}
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for key in (
            "Version",
            "Cipher",
            "ALPN",
            "Verified",
            "Server name",
            "Subject",
            "Issuer",
            "Valid",
            "SHA-256",
            "Client certificate",
        ):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if key == "SHA-256":
                label.setFont(mono)
            self.tls_labels[key] = label
            self.tls_form.addRow(key, label)
        self.counter = TrafficCounter()
        self.plot = TrafficPlot(self.counter)
        self.rtt = QLabel()
        self.rtt.setObjectName("pingRtt")
        self.rtt.setWordWrap(True)
        self.rtt_chart = RoundTripChart()
        inner = QWidget()
        column = QVBoxLayout(inner)
        heading = QLabel("Phases")
        bold = heading.font()
        bold.setBold(True)
        heading.setFont(bold)
        traffic_heading = QLabel("Traffic (last 60 s)")
        traffic_heading.setFont(bold)
        for widget in (
            heading,
            self.waterfall,
            self.total,
            self.tls_box,
            traffic_heading,
            self.plot,
            self.rtt,
            self.rtt_chart,
        ):
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("timingScroll")
        scroll.setWidgetResizable(True)
        # Everything here wraps or shrinks: scroll down, never sideways.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._phase_records: list[Record] = []
        self._scheme = ""
        self._first_send: Record | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._refresh)
        self.clear()

    # -- public API ------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the session."""
        self._timer.stop()
        self._phase_records = []
        self._first_byte: Record | None = None
        self._first_send = None
        self._failed_in: str | None = None
        self.counter.clear()
        self.waterfall.set_phases([])
        self.total.clear()
        self.tls_box.hide()
        self.rtt.hide()
        self.rtt_chart.set_points([])
        self.rtt_chart.hide()
        self.plot.update()

    def set_phases(self, records: Sequence[Record], scheme: str | None = None) -> None:
        """Show the phases (and TLS details) found in the session's records; ``scheme``
        says which opening steps the session needs before it is ready."""
        if scheme is not None:
            self._scheme = scheme
        self._phase_records = [r for r in records if r.kind in _PHASE_KINDS or is_proxy_phase(r)]
        if self._first_byte is None:
            self._first_byte = next(
                (r for r in records if r.direction is Direction.IN and r.kind in _TRAFFIC_KINDS),
                None,
            )
        sent = next((r for r in records if _sent_by_user(r)), None)
        if sent is not None and (self._first_send is None or sent.t_ns < self._first_send.t_ns):
            self._first_send = sent
        self._show_phases()
        tls = next((r for r in self._phase_records if r.kind is Kind.TLS), None)
        self._show_tls(tls.fields if tls is not None else None)

    def add_traffic(self, records: Sequence[Record]) -> None:
        """Count a batch of new records; repaint within ``REPAINT_MS``. (A flush's
        batch offers ``heads``: a run's later messages change no phase.)"""
        phases_changed = False
        heads = getattr(records, "heads", records)
        for r in heads:
            if r.kind in _TRAFFIC_KINDS:
                if self._first_byte is None and r.direction is Direction.IN:
                    self._first_byte = r
                    phases_changed = True
                elif self._first_send is None and _sent_by_user(r):
                    self._first_send = r
                    phases_changed = self._first_byte is None
            elif r.kind in _PHASE_KINDS or is_proxy_phase(r):
                self._phase_records.append(r)
                phases_changed = True
            elif r.kind is Kind.ERROR and self._failed_in is None:
                phase = r.fields.get("phase")
                if phase in _OPENING_STEPS:
                    self._failed_in = _OPENING_STEPS[phase]
                    phases_changed = True
        self.counter.add(records)
        if phases_changed:
            self._show_phases()
            if any(r.kind is Kind.TLS for r in heads):
                tls = next(r for r in self._phase_records if r.kind is Kind.TLS)
                self._show_tls(tls.fields)
        if not self._timer.isActive():
            self._timer.start()

    def show_record(self, record: Record | None, context: object = None) -> None:
        """Show the phases from ``context.phases`` when the window passes them."""
        phases = getattr(context, "phases", None)
        if phases is not None:
            self.set_phases(list(phases), getattr(context, "scheme", None))

    def phase_labels(self) -> list[str]:
        """The "name: duration" labels painted in the waterfall."""
        return self.waterfall.labels()

    # -- internals -------------------------------------------------------------------

    def _show_phases(self) -> None:
        records = list(self._phase_records)
        for extra in (self._first_send, self._first_byte):
            if extra is not None:
                records.append(extra)
        records.sort(key=lambda r: r.t_ns)
        phases = phases_from(records)
        self.waterfall.set_phases(phases)
        ready = ready_ns(self._phase_records, self._scheme)
        if ready is not None:
            self.total.setText(f"Ready after {format_duration(ready)}")
        elif self._failed_in is not None:
            self.total.setText(f"Never ready: the session failed during {self._failed_in}")
        else:
            self.total.clear()

    def _show_tls(self, f: Mapping[str, Any] | None) -> None:
        if not f:
            self.tls_box.hide()
            return
        cert = f.get("cert") or {}
        if not isinstance(cert, Mapping):
            cert = {}
        verified = f.get("verified")
        dark = theme.is_dark(self)
        values = {
            "Version": f.get("version"),
            "Cipher": f.get("cipher"),
            "ALPN": f.get("alpn") or "none",
            "Verified": "yes" if verified else "no",
            "Server name": f.get("server_hostname"),
            "Subject": _name(cert.get("subject")),
            "Issuer": _name(cert.get("issuer")),
            "Valid": f"{cert.get('not_before', '?')} → {cert.get('not_after', '?')}"
            if cert
            else None,
            "SHA-256": _fingerprint(cert.get("sha256")),
            "Client certificate": client_certificate_text(f),
        }
        for key, value in values.items():
            label = self.tls_labels[key]
            label.setText("—" if value in (None, "") else str(value))
        colour = theme.success_text(dark) if verified else theme.error_text(dark)
        self.tls_labels["Verified"].setStyleSheet(f"color: {colour.name()};")
        self.tls_box.show()

    def _refresh(self) -> None:
        self.plot.update()
        rtts = self.counter.rtts
        if rtts:
            self.rtt_chart.set_points(list(rtts))
            assert self.rtt_chart.stats is not None
            self.rtt.setText(self.rtt_chart.stats.line())
            self.rtt.show()
            self.rtt_chart.show()


def client_certificate_text(f: Mapping[str, Any]) -> str | None:
    """What the TLS record says of the client certificate: asked for, and which sent."""
    sent = f.get("client_cert")
    asked = f.get("client_cert_requested")
    if isinstance(sent, Mapping):
        what = f"sent {sent.get('subject') or '?'} (SHA-256 {str(sent.get('sha256', ''))[:16]}…)"
        return what + (", not asked for" if asked is False else "")
    if asked is True:
        return "asked for by the server; none sent"
    if asked is False:
        return "not asked for"
    return None


def _name(value: Any) -> str | None:
    """A certificate name field as one line, whether a string, a mapping or pairs."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
                parts.append(f"{item[0]}={item[1]}")
            elif isinstance(item, (list, tuple)):
                parts.append(_name(item) or "")
            else:
                parts.append(str(item))
        return ", ".join(p for p in parts if p)
    return str(value)


def _fingerprint(value: Any) -> str | None:
    """``ab12cd…`` as ``AB:12:CD:…`` (the form browsers show)."""
    if not isinstance(value, str) or not value:
        return None
    clean = value.replace(":", "").upper()
    pairs = [clean[i : i + 2] for i in range(0, len(clean), 2)]
    # Eight pairs a line: a SHA-256 fingerprint is four short lines, never a wide one.
    return "\n".join(":".join(pairs[i : i + 8]) for i in range(0, len(pairs), 8))
