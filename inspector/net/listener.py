"""Listening: a bound socket, its accepted connections, and the rules that answer them.

A :class:`Listener` has a Recorder of its own (the listener's session: LISTENING,
ACCEPTED, REFUSED, an INFO per ended connection, CLOSED when it stops) and asks
``recorder_for(number, peer)`` for a Recorder per accepted connection, so each
connection is a session of its own in the capture. It applies a
:class:`~inspector.core.rules.RuleEngine` to every connection (replies, echoes,
broadcasts, delays, closes, drops, connect greetings and timers) and offers what the
window and ``inspector listen`` do by hand: :meth:`send` to one connection,
:meth:`broadcast` to all, :meth:`disconnect` one, :meth:`stop` (every connection
closed gracefully). :func:`create_listener` picks the class for the scheme: TCP and
TLS here, UDP in :mod:`inspector.net.udplisten`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from inspector.core.endpoints import Endpoint, Scheme
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.net.accepted import AcceptedStream, ServerStreamProtocol
from inspector.net.listenbase import (
    BACKLOG,
    Listener,
    ListenError,
    ListenerState,
    RecorderFor,
    bind_addresses,
    bind_stream_servers,
    describe_listen_error,
)
from inspector.net.resolve import format_address

if TYPE_CHECKING:
    from inspector.protocols.wshandshake import Answer

__all__ = [
    "BACKLOG",
    "ListenError",
    "Listener",
    "ListenerState",
    "RecorderFor",
    "StreamListener",
    "bind_addresses",
    "create_listener",
    "describe_listen_error",
]


class StreamListener(Listener):
    """Listens on tcp:// or tls://; one AcceptedStream per client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._servers: list[asyncio.Server] = []
        #: ws:// and wss://: each connection is upgraded by the engine's server role.
        self.websocket = self.endpoint.is_websocket
        #: ws:// and wss://: decides each upgrade itself (None: by ``server``, the
        #: listener's ServerOptions); a fault in it is recorded and answered with 500.
        self.answer: Answer | None = None

    async def _bind(self) -> tuple[Any, int]:
        return await bind_stream_servers(
            self.endpoint, lambda: ServerStreamProtocol(self._accept), self._servers
        )

    def _accept(self, transport: asyncio.Transport, protocol: ServerStreamProtocol) -> None:
        peer = format_address(transport.get_extra_info("peername"))
        number = self._admit(peer)
        if number is None:
            transport.close()
            return
        recorder = self._connection_recorder(number, peer)
        if recorder is None:
            transport.abort()
            return
        if self.tls is not None:
            transport.pause_reading()  # the ClientHello is for start_tls, not for us
        conn: AcceptedStream
        if self.websocket:
            from inspector.net.accepted_ws import AcceptedWebSocket

            conn = AcceptedWebSocket(
                number, transport, self.options, recorder, self.endpoint, self.server, self.answer
            )
            conn.on_ready = self._ready  # after the upgrade, not now
        else:
            conn = AcceptedStream(number, transport, self.options, recorder)
        protocol.conn = conn
        self._register(conn)
        if self.tls is not None:
            self._spawn(self._handshake(conn, protocol))
        elif not self.websocket:
            self._ready(conn)

    async def _handshake(self, conn: AcceptedStream, protocol: ServerStreamProtocol) -> None:
        assert self.tls is not None
        if await conn.start_tls(self.tls, protocol):
            if not self.websocket:
                self._ready(conn)
            conn.release()

    def _stop_accepting(self) -> None:
        for server in self._servers:
            server.close()


def create_listener(
    endpoint: Endpoint,
    options: SessionOptions,
    recorder: Recorder,
    recorder_for: RecorderFor,
    **kwargs: Any,
) -> Listener:
    """The listener for the endpoint's scheme: tcp, tls, ws and wss here, udp in
    :mod:`inspector.net.udplisten`."""
    if endpoint.scheme is Scheme.UDP:
        from inspector.net.udplisten import DatagramListener

        return DatagramListener(endpoint, options, recorder, recorder_for, **kwargs)
    return StreamListener(endpoint, options, recorder, recorder_for, **kwargs)
