"""A session acting as an application protocol's client (``SessionOptions.speak``).

:class:`Speaking` drives a Sans-I/O speaker (``protocols.speakers``) on an open session:
it sends the protocol's opening at once, hands the speaker every inbound message after
each read (and passes the messages on to a consumer that wants them, ``--echo``),
writes its answers, sends its keep-alive on a timer, and ends the session when the
server's own heartbeats stop (Engine.IO's pings, :meth:`Speaking._watchdog`). Everything
it sends is an ordinary outbound record marked automatic. A refusal or protocol error
from the server is one ERROR record and the session's failure, and the session is
closed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import Framing, SessionOptions
from inspector.core.records import Direction, Kind
from inspector.protocols.decoders import DecodeContext, choose
from inspector.protocols.speakers import (
    AUTO,
    SPEAKER_OPTIONS,
    Outgoing,
    SpeakContext,
    Speaker,
    make_speaker,
)
from inspector.protocols.speakers.compose import ComposeContext


class Session(Protocol):
    """What a protocol client needs of a session (duck-typed: ``net.session`` imports
    this module, not the other way round)."""

    options: SessionOptions
    recorder: Any
    failure: str | None
    keep_messages: bool

    @property
    def state(self) -> str: ...

    @property
    def endpoint(self) -> Endpoint: ...

    @property
    def ended(self) -> bool: ...

    def _queued_messages(self) -> list[tuple[str, bytes]]: ...

    def send(self, data: bytes, automatic: bool = ...) -> bool: ...

    async def close(self, timeout: float = ...) -> None: ...


#: The protocols' names as a person reads them.
TITLES = {"socketio": "Socket.IO", "mqtt": "MQTT", "stomp": "STOMP",
          "graphql": "GraphQL over WebSocket", "signalr": "SignalR"}  # fmt: skip


def chosen_name(session: Session) -> str | None:
    """The speaker a session asks for: the named one, or for "auto" the one of the
    decoder its facts choose (subprotocol, URL, framing, port); None when none fits."""
    asked = session.options.speak
    return protocol_of(session) if asked == AUTO else asked


def protocol_of(session: Session) -> str | None:
    """The protocol (with a client here) that the session's facts name, or None."""
    endpoint = session.endpoint
    context = DecodeContext(
        scheme=str(endpoint.scheme),
        host=endpoint.host,
        port=endpoint.port,
        target=endpoint.target if endpoint.is_websocket else "",
        subprotocol=getattr(session, "subprotocol", None),
        framing="" if session.options.framing is Framing.RAW else str(session.options.framing),
    )
    decoder = choose(context)
    return decoder.name if decoder is not None and decoder.name in SPEAKER_OPTIONS else None


class Speaking:
    """One session's protocol client: opening, answers, keep-alive (module docstring)."""

    def __init__(self, session: Session, speaker: Speaker) -> None:
        self.session = session
        self.speaker = speaker
        #: The protocol spoken ("mqtt", "graphql", …).
        self.name = speaker.name
        self.failure: str | None = None
        #: A consumer of the session's messages (``--echo``) still gets them.
        self._pass_on = session.keep_messages
        self._passed: list[tuple[str, bytes]] = []
        session.keep_messages = True
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Set after each read the speaker heard (the heartbeat watchdog looks again).
        self._beat = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    def start_for(cls, session: Session) -> Speaking | None:
        """Start the client the session's options ask for; an INFO record says which
        (or why none: a datagram session, or ``auto`` finding no protocol)."""
        recorder = session.recorder
        if session.endpoint.is_datagram:
            _info(session, f"--speak {session.options.speak}: no protocol client over udp://")
            return None
        name = chosen_name(session)
        if name is None:
            _info(session, "--speak auto: this session's subprotocol, URL and port name no "
                  f"protocol client ({', '.join(sorted(SPEAKER_OPTIONS))})")  # fmt: skip
            return None
        context = SpeakContext(
            session.endpoint.host, getattr(session, "subprotocol", None),
            session.endpoint.is_websocket,
        )  # fmt: skip
        try:
            speaker = make_speaker(name, dict(session.options.speak_options), context)
        except InspectorError as exc:
            recorder.record(Direction.META, Kind.ERROR, fields={"message": str(exc),
                                                                 "phase": "speak"})  # fmt: skip
            return None
        speaking = cls(session, speaker)
        article = "an" if name == "mqtt" else "a"
        _info(session, f"acting as {article} {TITLES.get(name, name)} client")
        speaking._send(speaker.opening())
        speaking._task = asyncio.ensure_future(speaking._keepalive())
        if getattr(speaker, "heartbeat_timeout", None) is not None:
            speaking._watch = asyncio.ensure_future(speaking._watchdog())
        return speaking

    @property
    def ready(self) -> bool:
        """True once the server accepted the opening."""
        return self.speaker.ready

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the server accepted the opening; False when the session ended or
        ``timeout`` seconds passed first (then say so: one ERROR record, and close)."""
        if self.speaker.ready:
            return True
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait({ready, ended}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            ready.cancel()
            ended.cancel()
        if self.speaker.ready:
            return True
        if not self._ended.is_set() and not self.session.ended:
            title = TITLES.get(self.name, self.name)
            self._refused(f"the server did not answer the {title} opening within {timeout:g} s")
        return False

    def heard(self) -> None:
        """After a read: give the speaker the messages it completed; send its answers."""
        session = self.session
        messages = session._queued_messages()
        if not messages:
            return
        if self._pass_on:
            self._passed.extend(messages)
        speaker = self.speaker
        for kind, body in messages:
            heard = speaker.receive(body, kind == "text")
            if heard.replies:
                self._send(heard.replies)
            if heard.error is not None:
                self._refused(heard.error)
                return
            if heard.done:
                self._close()
                return
        if speaker.ready:
            self._ready.set()
        self._changed.set()
        self._beat.set()

    def sent(self, payload: bytes) -> None:
        """Tell the speaker what the user sent (``net.factory.send_message`` calls this)."""
        self.speaker.sent(payload)

    def take_passed(self) -> list[tuple[str, bytes]]:
        """The inbound messages a consumer of the session's messages has not taken."""
        passed, self._passed = self._passed, []
        return passed

    def stop(self) -> None:
        """Stop the keep-alive (the session ended)."""
        self._ended.set()
        for task in (self._task, self._watch):
            if task is not None and not task.done():
                task.cancel()

    # -- inside ------------------------------------------------------------------------

    def _send(self, messages: list[Outgoing] | tuple[Outgoing, ...]) -> None:
        """Send the speaker's messages, each recorded as automatic."""
        session = self.session
        try:
            for out in messages:
                if session.endpoint.is_websocket:
                    if out.text:
                        session.send_text(out.data.decode("utf-8"), automatic=True)  # type: ignore[attr-defined]
                    else:
                        session.send_binary(out.data, automatic=True)  # type: ignore[attr-defined]
                elif session.options.framing in (Framing.RAW, Framing.MQTT):
                    session.send(out.data, automatic=True)
                else:  # the protocol's bytes delimit themselves: no prefix or newline
                    session.send_raw(out.data, automatic=True)  # type: ignore[attr-defined]
        except InspectorError:
            return  # the session is closing: its records say why

    def _refused(self, line: str) -> None:
        """The server refused or broke the protocol: one ERROR record, then close."""
        session = self.session
        self.failure = line
        session.recorder.record(Direction.META, Kind.ERROR, fields={"message": line,
                                                                     "phase": "speak"})  # fmt: skip
        if session.failure is None:
            session.failure = line
        self._close()

    def _close(self) -> None:
        """Stop the keep-alive and close the session gracefully."""
        session = self.session
        self._ended.set()
        for task in (self._task, self._watch):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if not session.ended and self._closing is None:
            self._closing = asyncio.ensure_future(session.close())

    async def _keepalive(self) -> None:
        """Send the speaker's keep-alive every interval it names (once it names one)."""
        session, speaker = self.session, self.speaker
        while str(session.state) == "open":
            interval = speaker.keepalive_interval()
            if interval is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            await asyncio.sleep(interval)
            if str(session.state) != "open":
                return
            self._send(speaker.keepalive())

    async def _watchdog(self) -> None:
        """End the session when the server's heartbeats stop: no new one within the
        speaker's ``heartbeat_timeout()`` of the last (Engine.IO's pingInterval +
        pingTimeout) is one ERROR line and a close, as the protocol's own client does."""
        session, speaker = self.session, self.speaker
        loop = asyncio.get_running_loop()
        seen, since = -1, loop.time()
        while str(session.state) == "open" and not self._ended.is_set():
            beats = speaker.heartbeats  # type: ignore[attr-defined]
            if beats != seen:
                seen, since = beats, loop.time()
            limit = speaker.heartbeat_timeout()  # type: ignore[attr-defined]
            left = None if limit is None else since + limit - loop.time()
            if left is not None and left <= 0:
                self._refused(speaker.heartbeat_lost(limit))  # type: ignore[attr-defined]
                return
            self._beat.clear()
            try:
                await asyncio.wait_for(self._beat.wait(), left)
            except TimeoutError:
                continue


def _info(session: Session, message: str) -> None:
    session.recorder.record(Direction.META, Kind.INFO, fields={"message": message})


def compose_context(session: Session | None) -> ComposeContext:
    """The facts of ``session`` that protocol message templates need."""
    if session is None:
        return ComposeContext()
    version = dict(session.options.speak_options).get("version", "4").strip()
    return ComposeContext(
        subprotocol=getattr(session, "subprotocol", None),
        websocket=session.endpoint.is_websocket,
        mqtt_version=5 if version == "5" else 4,
    )


__all__ = ["TITLES", "Speaking", "chosen_name", "compose_context", "protocol_of"]
