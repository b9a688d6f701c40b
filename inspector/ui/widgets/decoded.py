"""DecodedTree: one record decoded as a tree of fields, each tied to its wire bytes.

Selecting an item that has a byte range emits ``rangeSelected(start, end)`` (the window
connects it to ``ByteView.highlight``); ``select_field(name)`` does the reverse for a
range name clicked in the byte view. The payload follows the header fields: as text,
and as an expandable JSON tree whose children are built only when a node is expanded,
at most :data:`NODE_CAP` per node, so a huge document never freezes the pane.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFontDatabase
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from inspector.core.records import Kind, Record
from inspector.protocols.decoders.tree import Decoded
from inspector.protocols.decoders.tree import Field as DecodedField
from inspector.ui import theme
from inspector.ui.widgets.fieldtext import (
    CLOSE_CODES,
    RANGE_LABELS,
    bytes_label,
    close_code_text,
    field_label,
    format_duration,
    format_size,
    http_lines,
    plain_value,
    printable,
    window_text,
)

RANGE_ROLE = Qt.ItemDataRole.UserRole  # (start, end) of the item's bytes in ``wire``
NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # the range name the item stands for
JSON_ROLE = Qt.ItemDataRole.UserRole + 2  # a JSON container not yet expanded
PAYLOAD_RANGE_ROLE = Qt.ItemDataRole.UserRole + 3  # (start, end) of a decoded field in the payload
LINK_ROLE = Qt.ItemDataRole.UserRole + 4  # the seq of a record the item links to
#: The top-level item of the application layer (the payload decoder's tree).
APPLICATION_LABEL = "Application"

TEXT_PREVIEW = 16 * 1024  # characters of payload text shown
JSON_PARSE_LIMIT = 8 * 1024 * 1024  # larger payloads are not parsed as JSON
NODE_CAP = 5_000  # children built per JSON node before "… more"

_FRAME_FIELDS = tuple(
    (key, RANGE_LABELS[key])
    for key in ("fin", "rsv1", "rsv2", "rsv3", "opcode", "mask", "payload_len", "mask_key")
)
#: The Origin line of a record whose bytes an import rebuilt rather than captured.
REBUILT_LABEL = "Origin"

__all__ = ["CLOSE_CODES", "NODE_CAP", "DecodedTree"]


class DecodedTree(QTreeWidget):
    """The decoded fields of the selected record, with byte ranges and a payload tree."""

    rangeSelected = Signal(int, int)
    #: A decoded field's bytes, as offsets into the record's payload.
    payloadRangeSelected = Signal(int, int)
    #: A link to another record (a request's response, or back) was clicked.
    recordLinked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("decodedTree")
        self.setAccessibleName("Decoded record")
        self.setColumnCount(3)
        self.setHeaderLabels(["Field", "Value", "Bytes"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setExpandsOnDoubleClick(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setColumnWidth(0, 200)
        self._record: Record | None = None
        self._dark = False
        self.currentItemChanged.connect(self._on_current)
        self.itemExpanded.connect(self._on_expanded)
        self.itemClicked.connect(self._on_clicked)
        self.itemActivated.connect(self._on_clicked)

    # -- public API ------------------------------------------------------------------

    def show_record(self, record: Record | None, context: object = None) -> None:
        """Decode ``record`` into the tree (``context`` is not needed here)."""
        self.clear()
        self._record = record
        if record is None:
            return
        self._dark = theme.is_dark(self)
        try:
            self._build(record)
        except Exception as exc:  # a slot must never let a decoding bug escape
            self._error(None, "Decoding failed", f"{type(exc).__name__}: {exc}")

    def select_field(self, name: str) -> bool:
        """Make the item for range ``name`` current (emits ``rangeSelected``)."""
        if not name:
            return False
        it = self._find(name)
        if it is None:
            return False
        self.setCurrentItem(it)
        self.scrollToItem(it)
        return True

    def item_for(self, name: str) -> QTreeWidgetItem | None:
        """The item standing for range ``name``, if any."""
        return self._find(name)

    def find_label(self, label: str) -> QTreeWidgetItem | None:
        """The first item whose Field column reads ``label``."""
        found = self.findItems(label, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
        return found[0] if found else None

    def add_decoded(self, decoded: Decoded | None, link: tuple[str, int] | None = None) -> None:
        """Show the application layer under the frame fields: the decoder's summary, its
        fields with their payload byte ranges, an error as one line, and ``link`` (text,
        seq) to the record this one is paired with."""
        if decoded is None and link is None:
            return
        title = decoded.summary if decoded is not None else ""
        top = self._item(None, APPLICATION_LABEL, window_text(title)[:400])
        top.setToolTip(1, title[:4000])
        if decoded is not None:
            self._item(top, "Decoder", decoded.decoder)
            if decoded.error is not None:
                self._error(top, "Not decoded", decoded.error)
            budget = [NODE_CAP]
            for f in decoded.fields:
                self._decoded_field(top, f, budget)
        if link is not None:
            item = self._item(top, "Paired", link[0], colour="success")
            item.setData(0, LINK_ROLE, int(link[1]))
            item.setToolTip(1, f"Click to select record #{link[1]}")
            font = item.font(1)
            font.setUnderline(True)
            item.setFont(1, font)
        top.setExpanded(True)

    def _decoded_field(self, parent: QTreeWidgetItem, f: DecodedField, budget: list[int]) -> None:
        """One decoded field and its children (at most NODE_CAP in the whole tree)."""
        if budget[0] <= 0:
            return
        budget[0] -= 1
        label = f.name + (" (guess)" if f.guess else "")
        item = self._item(parent, label, window_text(f.text)[:400])
        if f.start is not None and f.end is not None:
            item.setData(0, PAYLOAD_RANGE_ROLE, (int(f.start), int(f.end)))
            item.setText(2, "payload " + bytes_label(f.start, f.end))
        for child in f.children:
            self._decoded_field(item, child, budget)
        if len(f.children) <= 8 and f.children:
            item.setExpanded(True)

    def application_item(self) -> QTreeWidgetItem | None:
        """The top-level item of the decoded application layer, if shown."""
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.text(0) == APPLICATION_LABEL:
                return item
        return None

    # -- building --------------------------------------------------------------------

    def _build(self, r: Record) -> None:
        title = f"{r.direction.value} {r.kind.value} #{r.seq}"
        top = self._item(None, "Record", title)
        self._item(top, "Time", format_duration(r.t_ns) + " after start")
        if r.fields.get("synthesised"):
            source = r.fields.get("rebuilt_from") or "an import"
            self._item(
                top, REBUILT_LABEL, f"rebuilt from {source}, not captured", colour="error"
            ).setToolTip(
                1,
                f"The {source} file keeps no wire bytes: these were made again from the "
                "message, so mask keys and framing are placeholders, not what was sent.",
            )
        if r.wire:
            wire_text = format_size(len(r.wire))
            if r.fields.get("synthesised"):
                wire_text += " (rebuilt)"
            self._item(top, "Wire size", wire_text, rng=(0, len(r.wire)))
        if r.automatic:
            self._item(top, "Automatic", "yes (sent by the engine)", colour="automatic")
        top.setExpanded(True)
        if r.kind is Kind.FRAME:
            self._build_frame(r)
        elif r.kind is Kind.HANDSHAKE:
            self._build_handshake(r)
        elif r.kind in (Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM):
            self._build_stream(r)
        else:
            self._build_meta(r)
        if r.payload is not None and r.kind is not Kind.HANDSHAKE:
            self._build_payload(r, r.payload, self._range("payload"))
        elif r.kind is Kind.HANDSHAKE and r.payload:
            self._build_payload(r, r.payload, self._body_range(r))

    def _build_frame(self, r: Record) -> None:
        f = r.fields
        opcode = str(f.get("opcode", "?"))
        value = f.get("opcode_value")
        summary = [opcode, "FIN" if f.get("fin") else "not final"]
        if f.get("masked"):
            summary.append("masked")
        if f.get("compressed"):
            summary.append("compressed")
        frame = self._item(None, RANGE_LABELS["header"], ", ".join(summary), name="header")
        ranges = self._ranges()
        if "header" in ranges:
            frame.setData(2, Qt.ItemDataRole.DisplayRole, bytes_label(*ranges["header"]))
        for key, label in _FRAME_FIELDS:
            text = self._frame_value(key, f, opcode, value)
            if text is None and key not in ranges:
                continue
            self._item(frame, label, text or "", name=key)
        if "header_len" in f:
            self._item(frame, "Header length", format_size(f["header_len"]))
        if f.get("compressed") or f.get("rsv1"):
            wire_payload = ranges.get("payload")
            if wire_payload:
                self._item(frame, "Compressed size", format_size(wire_payload[1] - wire_payload[0]))
            if r.payload is not None:
                self._item(frame, "Decompressed size", format_size(len(r.payload)))
        if opcode == "close" or f.get("close_code") is not None:
            self._build_close(frame, f)
        if f.get("error"):
            self._error(frame, "Rejected", str(f["error"]))
        known = {key for key, _ in _FRAME_FIELDS} | {"header", "payload"}
        self._extra_ranges(frame, known)
        frame.setExpanded(True)

    def _frame_value(self, key: str, f: Mapping[str, Any], opcode: str, value: Any) -> str | None:
        if key == "fin" and "fin" in f:
            return "1 (final fragment)" if f["fin"] else "0 (more fragments follow)"
        if key == "rsv1" and "rsv1" in f:
            return "1 (compressed: permessage-deflate)" if f["rsv1"] else "0"
        if key in ("rsv2", "rsv3") and key in f:
            return str(int(bool(f[key])))
        if key == "opcode":
            return f"{opcode} (0x{value:x})" if isinstance(value, int) else opcode
        if key == "mask" and "masked" in f:
            return "1 (masked)" if f["masked"] else "0 (not masked)"
        if key == "payload_len" and "payload_len" in f:
            return format_size(f["payload_len"]) + " on the wire"
        if key == "mask_key":
            if not f.get("mask_key"):
                return None
            if f.get("synthesised"):
                return f"{f['mask_key']} (not recorded)"
            return str(f["mask_key"])
        return None

    def _build_close(self, parent: QTreeWidgetItem, f: Mapping[str, Any]) -> None:
        payload = self._range("payload")
        code, reason = f.get("close_code"), f.get("close_reason")
        compressed = bool(f.get("compressed"))
        code_rng = (payload[0], payload[0] + 2) if payload and not compressed else None
        if code is None:
            self._item(parent, "Close code", "none (no status code)")
            return
        self._item(parent, "Close code", close_code_text(code), rng=code_rng)
        if payload and code_rng and payload[1] > code_rng[1]:
            reason_rng: tuple[int, int] | None = (code_rng[1], payload[1])
        else:
            reason_rng = None
        self._item(parent, "Close reason", repr(reason) if reason else "(empty)", rng=reason_rng)

    def _build_handshake(self, r: Record) -> None:
        f = r.fields
        head = "Upgrade request" if r.direction.value == "out" else "Upgrade response"
        status = f.get("status")
        summary = f"{status} {f.get('reason', '')}".strip() if status is not None else ""
        if not summary:
            summary = f"{f.get('method', 'GET')} {f.get('target', '')}".strip()
        top = self._item(None, head, summary)
        lines = http_lines(r.wire)
        if lines:
            text, start, end = lines[0]
            self._item(
                top, "Status line" if status is not None else "Request line", text, rng=(start, end)
            )
        if status is not None:
            accepted = f.get("accepted", status == 101)
            colour = "success" if accepted else "error"
            self._item(top, "Accepted", "yes" if accepted else "no", colour=colour)
            if f.get("duration_ns") is not None:
                self._item(top, "Round trip", format_duration(f["duration_ns"]))
            for key in ("subprotocol", "extensions"):
                if f.get(key):
                    self._item(top, field_label(key), _plain(f[key]))
        headers = self._item(top, "Headers", "")
        spans = {i: (s, e) for i, (_, s, e) in enumerate(lines[1:])}
        items = f.get("headers") or [tuple(t.split(":", 1)) for t, _, _ in lines[1:] if ":" in t]
        for i, pair in enumerate(items):
            name, value = ([*list(pair), "", ""])[:2]
            self._item(headers, str(name), str(value).strip(), rng=spans.get(i))
        headers.setData(1, Qt.ItemDataRole.DisplayRole, f"{len(items)} headers")
        headers.setExpanded(True)
        top.setExpanded(True)

    def _build_stream(self, r: Record) -> None:
        f = r.fields
        label = {Kind.DATA: "Stream data", Kind.MESSAGE: "Framed message"}.get(r.kind, "Datagram")
        top = self._item(None, label, f"{r.direction.value}, {format_size(len(r.wire))}")
        if f.get("framing") is not None:
            self._item(top, "Framing", _plain(f["framing"]))
        for key, title in (("peer", "Peer"), ("local", "Local")):
            if f.get(key):
                self._item(top, title, str(f[key]))
        if r.payload is not None:
            self._item(top, "Payload size", format_size(len(r.payload)))
        if f.get("incomplete"):
            self._item(top, "Incomplete", "yes (stream ended inside a message)", colour="error")
        self._extra_ranges(top, {"payload"})
        for key, value in f.items():
            if key not in ("framing", "peer", "local", "incomplete", "ranges", "automatic"):
                self._value(top, key, value)
        top.setExpanded(True)

    def _build_meta(self, r: Record) -> None:
        f = r.fields
        message = window_text(r.message or "")
        top = self._item(None, field_label(r.kind.value), message)
        if message:
            colour = "error" if r.kind is Kind.ERROR else None
            self._item(top, "Message", message, colour=colour)
        for key, value in f.items():
            if key not in ("message", "ranges", "automatic", "synthesised", "rebuilt_from"):
                self._value(top, key, value)
        if r.kind is Kind.ERROR or r.kind is Kind.CLOSED:
            code = f.get("close_code")
            if isinstance(code, int):
                self._item(top, "Close code meaning", close_code_text(code))
        self._extra_ranges(top, set())
        top.setExpanded(True)

    def _value(self, parent: QTreeWidgetItem, key: str, value: Any) -> None:
        """One field, nested dicts and lists as children; durations in ms."""
        label = field_label(key)
        if key.endswith("duration_ns") and isinstance(value, int):
            self._item(parent, label.removesuffix(" ns"), format_duration(value))
        elif isinstance(value, Mapping):
            node = self._item(parent, label, f"{len(value)} fields")
            for k, v in value.items():
                self._value(node, str(k), v)
            node.setExpanded(True)
        elif (
            isinstance(value, list)
            and value
            and not all(isinstance(v, (str, int, float)) for v in value)
        ):
            node = self._item(parent, label, f"{len(value)} items")
            for i, v in enumerate(value):
                self._item(node, f"[{i}]", _plain(v))
        else:
            self._item(parent, label, _plain(value))

    def _build_payload(self, r: Record, payload: bytes, rng: tuple[int, int] | None) -> None:
        opcode = r.fields.get("opcode")
        # Only TEXT frames must be UTF-8 (RFC 6455 §5.6); a close payload is code + reason.
        strict = r.kind is Kind.FRAME and opcode == "text"
        name = "payload" if rng == self._range("payload") else None
        top = self._item(None, "Payload", format_size(len(payload)), rng=rng, name=name)
        top.setExpanded(True)
        if not payload:
            return
        hex_preview = payload[:32].hex(" ") + (" …" if len(payload) > 32 else "")
        if opcode == "close":
            self._item(top, "Hex", hex_preview)
            return
        head = payload[: TEXT_PREVIEW * 4]
        try:
            text = head.decode("utf-8")
            bad = None
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3 and len(head) < len(payload):
                text, bad = head[: exc.start].decode("utf-8"), None  # cut mid-character
            else:
                text, bad = head.decode("utf-8", errors="replace"), exc
        if bad is not None:
            if strict:
                self._error(top, "Invalid UTF-8", f"at byte {bad.start}: {bad.reason}")
            self._item(top, "Hex", hex_preview)
            if not strict:
                return
        shown = text[:TEXT_PREVIEW]
        item = self._item(top, "Text", printable(shown[:400]))
        item.setToolTip(1, shown[:4000])
        if len(shown) < len(text) or len(head) < len(payload):
            self._item(
                top,
                "Truncated",
                f"first {len(shown):,} characters of {format_size(len(payload))} shown",
                colour="automatic",
            )
        if bad is None:
            self._maybe_json(top, payload)

    def _maybe_json(self, parent: QTreeWidgetItem, payload: bytes) -> None:
        stripped = payload.lstrip()[:1]
        if stripped not in (b"{", b"[", b'"') and not stripped[:1].isdigit():
            return
        if len(payload) > JSON_PARSE_LIMIT:
            self._item(parent, "JSON", f"not parsed: over {format_size(JSON_PARSE_LIMIT)}")
            return
        try:
            doc = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            if stripped in (b"{", b"["):
                self._error(parent, "Invalid JSON", str(exc).splitlines()[0][:200])
            return
        node = self._item(parent, "JSON", _json_summary(doc))
        self._json_children(node, doc)
        node.setExpanded(True)

    def _json_children(self, node: QTreeWidgetItem, doc: Any, start: int = 0) -> None:
        """Add up to NODE_CAP children of a JSON container; containers stay lazy."""
        if isinstance(doc, dict):
            entries = list(doc.items())
        elif isinstance(doc, list):
            entries = [(f"[{i}]", v) for i, v in enumerate(doc)]
        else:
            return
        for key, value in entries[start : start + NODE_CAP]:
            child = self._item(node, str(key), _json_summary(value))
            if isinstance(value, (dict, list)) and value:
                child.setData(0, JSON_ROLE, (value,))
                child.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        rest = len(entries) - start - NODE_CAP
        if rest > 0:
            more = self._item(node, "…", f"{rest:,} more", colour="automatic")
            more.setData(0, JSON_ROLE, (doc, start + NODE_CAP))

    def _on_expanded(self, item: QTreeWidgetItem) -> None:
        held = item.data(0, JSON_ROLE)
        if held and item.childCount() == 0:
            item.setData(0, JSON_ROLE, None)
            self._json_children(item, held[0])

    def expand_more(self, item: QTreeWidgetItem) -> None:
        """Replace a "… more" item by the next batch of children."""
        held = item.data(0, JSON_ROLE)
        parent = item.parent()
        if held and len(held) == 2 and parent is not None:
            parent.removeChild(item)
            self._json_children(parent, held[0], held[1])

    # -- helpers ---------------------------------------------------------------------

    def _ranges(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        if self._record is None:
            return out
        for item in self._record.fields.get("ranges") or ():
            if len(item) == 3 and str(item[0]) not in out:
                out[str(item[0])] = (int(item[1]), int(item[2]))
        return out

    def _range(self, name: str) -> tuple[int, int] | None:
        return self._ranges().get(name)

    def _body_range(self, r: Record) -> tuple[int, int] | None:
        end = r.wire.find(b"\r\n\r\n")
        return (end + 4, len(r.wire)) if end >= 0 and end + 4 < len(r.wire) else None

    def _extra_ranges(self, parent: QTreeWidgetItem, known: set[str]) -> None:
        for name, (start, end) in self._ranges().items():
            if name not in known and self._find(name) is None:
                self._item(parent, field_label(name), format_size(end - start), name=name)

    def _item(
        self,
        parent: QTreeWidgetItem | None,
        label: str,
        value: str,
        *,
        rng: tuple[int, int] | None = None,
        name: str | None = None,
        colour: str | None = None,
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem([label, value, ""])
        if name is not None:
            item.setData(0, NAME_ROLE, name)
            if rng is None:
                rng = self._range(name)
        if rng is not None:
            item.setData(0, RANGE_ROLE, (int(rng[0]), int(rng[1])))
            item.setText(2, bytes_label(*rng))
        if colour is not None:
            pick = {
                "error": theme.error_text,
                "success": theme.success_text,
                "automatic": theme.automatic_text,
            }[colour]
            item.setForeground(1, QBrush(pick(self._dark)))
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        if label in ("Masking key", "Hex"):
            item.setFont(1, QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        return item

    def _error(self, parent: QTreeWidgetItem | None, label: str, text: str) -> None:
        item = self._item(parent, label, text, colour="error")
        item.setForeground(0, QBrush(theme.error_text(self._dark)))

    def _find(self, name: str) -> QTreeWidgetItem | None:
        stack = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            it = stack.pop(0)
            if it.data(0, NAME_ROLE) == name:
                return it
            stack.extend(it.child(i) for i in range(it.childCount()) if not it.data(0, JSON_ROLE))
        return None

    def _on_current(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        if current.text(0) == "…" and current.data(0, JSON_ROLE):
            self.expand_more(current)
            return
        rng = current.data(0, RANGE_ROLE)
        if rng:
            self.rangeSelected.emit(int(rng[0]), int(rng[1]))
            return
        payload_rng = current.data(0, PAYLOAD_RANGE_ROLE)
        if payload_rng:
            self.payloadRangeSelected.emit(int(payload_rng[0]), int(payload_rng[1]))

    def _on_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        seq = item.data(0, LINK_ROLE)
        if seq is not None:
            self.recordLinked.emit(int(seq))


def _plain(value: Any) -> str:
    """A field value as short text."""
    return plain_value(value)


def _json_summary(value: Any) -> str:
    """A JSON value as typed text: quoted strings, ``{3 keys}``, ``[5 items]``, true/null."""
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}" if len(value) != 1 else "{1 key}"
    if isinstance(value, list):
        return f"[{len(value)} items]" if len(value) != 1 else "[1 item]"
    if isinstance(value, str):
        return json.dumps(value[:400], ensure_ascii=False) + (" …" if len(value) > 400 else "")
    return json.dumps(value)
