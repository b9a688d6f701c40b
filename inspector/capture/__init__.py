"""Capture files: sessions recorded live to SQLite and read back lazily (no Qt, no I/O loop)."""

from __future__ import annotations

from inspector.capture.schema import SCHEMA_VERSION, SUFFIX, CaptureSession
from inspector.capture.store import CaptureStore

__all__ = ["SCHEMA_VERSION", "SUFFIX", "CaptureSession", "CaptureStore"]
