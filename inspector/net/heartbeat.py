"""Heartbeats while a session is open: WebSocket pings, keepalive messages elsewhere.

A WebSocket session with ``ping_interval`` sends a ping every interval whose payload is
a counter ("1", "2", …); the pong that echoes it gets the round trip as ``rtt_ns``
(``protocols.wsrecords``). With ``ping_timeout``, a ping whose pong has not come in
time closes the session with 1011, as browsers and websockets' own keepalive do. A
tcp://, tls:// or udp:// session with ``keepalive`` sends ``keepalive_text`` every
interval as an ordinary message. Heartbeat frames are recorded as automatic.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind

#: The close code of a ping that got no pong (RFC 6455 §7.4.1: an unexpected condition).
PING_TIMEOUT_CODE = 1011


class HeartbeatSession(Protocol):
    """What a heartbeat needs of a session (duck-typed: no import of the session family)."""

    options: SessionOptions
    recorder: Any
    failure: str | None

    @property
    def state(self) -> str: ...

    @property
    def endpoint(self) -> Any: ...

    def send(self, data: bytes) -> bool: ...

    async def close(self, timeout: float = ...) -> None: ...


def wanted(options: SessionOptions, websocket: bool) -> bool:
    """True when ``options`` ask for a heartbeat on this kind of session."""
    return bool(options.ping_interval if websocket else options.keepalive)


class Heartbeat:
    """Sends the heartbeat of one session until it ends or :meth:`stop` is called."""

    def __init__(self, session: HeartbeatSession) -> None:
        self.session = session
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._closing: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Begin sending (from the session's event loop)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        """Stop sending and forget pending timeouts."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    async def _run(self) -> None:
        session = self.session
        websocket = session.endpoint.is_websocket
        options = session.options
        interval = options.ping_interval if websocket else options.keepalive
        if not interval:
            return
        text = options.keepalive_text.encode("utf-8", "surrogateescape")
        while str(session.state) == "open":
            await asyncio.sleep(interval)
            if str(session.state) != "open":
                return
            self.sent += 1
            try:
                if websocket:
                    payload = str(self.sent).encode("ascii")
                    session.send_ping(payload, automatic=True)  # type: ignore[attr-defined]
                    if options.ping_timeout:
                        self._watch(payload, options.ping_timeout)
                else:
                    session.send(text)
            except InspectorError:
                return  # the session is closing: its records say why

    def _watch(self, payload: bytes, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(loop.call_later(timeout, self._check, payload, timeout))

    def _check(self, payload: bytes, timeout: float) -> None:
        session = self.session
        if str(session.state) != "open":
            return
        if not session.awaiting_pong(payload):  # type: ignore[attr-defined]
            return
        message = f"no pong for ping {payload.decode()} within {timeout:g} s: closing with 1011"
        session.recorder.record(Direction.META, Kind.INFO, fields={"message": message})
        if session.failure is None:
            session.failure = message
        with contextlib.suppress(InspectorError):
            session.send_close(PING_TIMEOUT_CODE, "no pong")  # type: ignore[attr-defined]
        self._closing = asyncio.ensure_future(session.close())
