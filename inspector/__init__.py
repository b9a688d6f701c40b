"""Socket Inspector: open a TCP, TLS, UDP or WebSocket session and see every byte."""

from __future__ import annotations

__version__ = "0.1.0"
