"""Export and import formats of captures: pcapng (Wireshark), HAR 1.2 (browser tools)
and JSON Lines (scripts). Exporters take plain inputs (a session-like object and an
iterable of records), so they work on a capture store, a live recorder or a list."""

from __future__ import annotations

from inspector.capture.formats.common import (
    ExportCancelled,
    ImportedSession,
    SessionLike,
    records_of,
)
from inspector.capture.formats.har import export_har, import_har, load_har
from inspector.capture.formats.jsonl import export_jsonl, iter_jsonl, jsonl_line, read_jsonl
from inspector.capture.formats.pcapng import export_pcapng

__all__ = [
    "ExportCancelled",
    "ImportedSession",
    "SessionLike",
    "export_har",
    "export_jsonl",
    "export_pcapng",
    "import_har",
    "iter_jsonl",
    "jsonl_line",
    "load_har",
    "read_jsonl",
    "records_of",
]
