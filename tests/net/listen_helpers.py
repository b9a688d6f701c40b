"""Helpers for the listener tests: a listener whose recorders keep every record."""

from __future__ import annotations

from typing import Any

from session_helpers import ListSink

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import ServerOptions, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.rules import Rule, RuleEngine
from inspector.net.certs import ServerTLS
from inspector.net.listener import Listener, create_listener


class Recorded:
    """The listener's records and each connection's, by connection number."""

    def __init__(self) -> None:
        self.listener = ListSink()
        self.conns: dict[int, ListSink] = {}
        self.peers: dict[int, str] = {}

    def recorder_for(self, number: int, peer: str) -> Recorder:
        sink = self.conns[number] = ListSink()
        self.peers[number] = peer
        return Recorder(sink, consumed=False)


def make_listener(
    url: str,
    *rules: Rule,
    tls: ServerTLS | None = None,
    max_connections: int | None = None,
    server: ServerOptions | None = None,
    **options: Any,
) -> tuple[Listener, Recorded]:
    """A listener for ``url`` (port 0 allowed) recording into ListSinks."""
    recorded = Recorded()
    listener = create_listener(
        parse_endpoint(url, listen=True),
        SessionOptions(**options),
        Recorder(recorded.listener, consumed=False),
        recorded.recorder_for,
        rules=RuleEngine(rules) if rules else None,
        max_connections=max_connections,
        tls=tls,
        server=server,
    )
    return listener, recorded
