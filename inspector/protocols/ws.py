"""A WebSocket connection, Sans-I/O: bytes in, records and bytes out, in either role.

websockets' :class:`~websockets.client.ClientProtocol` (client role) or
:class:`~websockets.server.ServerProtocol` (server role) is driven by hand (it owns the
handshake checks, the closing rules and permessage-deflate) and the wire-frame tap
(:mod:`inspector.protocols.wireframes`) reads the same raw bytes, so every frame record
carries what the library hides: the mask key, the header, the size on the wire, and the
bytes of frames the library rejects. Library Frame events and tap frames are matched in
order: while the library is healthy it turns exactly the frames the tap sees into events.

The net layer calls :meth:`WebSocketConnection.start` (client role), writes what it
returns, then calls :meth:`~WebSocketConnection.receive_data` for every read and
:meth:`~WebSocketConnection.receive_eof` when the peer closes or the transport is lost,
writing whatever they return. When :meth:`~WebSocketConnection.close_expected` turns
True it closes the transport (at once if ``eof_requested``, else after a short grace
period for the server to close first, RFC 6455 §7.1.1). When the transport ends for a
local reason (timeout, abort, network error) it passes that line as ``receive_eof``'s
``reason`` so the records name the real cause instead of an abnormal closure. Once the
transport ended, :attr:`~WebSocketConnection.ending` says how; the session writes the
CLOSED record from it.

Where the connection is (before the upgrade, reading it, upgraded, refused, ended) is a
:class:`~inspector.protocols.wsstate.Phase`; the receive fast path is
:mod:`inspector.protocols.wsfast`, the records are made by
:mod:`inspector.protocols.wsrecords`, and websockets' undocumented state is read through
:mod:`inspector.protocols.wslib` only.
"""

from __future__ import annotations

from typing import Any

from websockets.exceptions import InvalidMessage
from websockets.frames import Frame
from websockets.http11 import Request, Response
from websockets.protocol import CLOSED, CLOSING, OPEN

from inspector.core.endpoints import Endpoint
from inspector.core.options import ServerOptions, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.protocols.ending import Ending, Initiator
from inspector.protocols.wireframes import WireFrameParser, plain_frame_size
from inspector.protocols.wsclient import (
    InspectedClientProtocol,
    InspectedServerProtocol,
    close_code_for,
)
from inspector.protocols.wsfast import take_plain_frames
from inspector.protocols.wsfields import (
    describe_violation,
    one_line,
    refusal_line,
    response_fields,
    violation_line,
)
from inspector.protocols.wshandshake import (
    Answer,
    Refusal,
    client_protocol,
    server_answer,
    server_protocol,
    unreadable_line,
    upgrade_request,
)
from inspector.protocols.wslib import (
    at_frame_start,
    fail_as_parser,
    idle_deflate,
    parser_error,
    peer_closed_first,
    plain_send_ok,
    size_limit,
)
from inspector.protocols.wsrecords import WsRecords, request_fields
from inspector.protocols.wssend import (
    WebSocketSendError,
    check_close,
    check_control,
    text_bytes,
)
from inspector.protocols.wsstate import Phase, PhaseMachine, Rejection, Role

#: Rejected frames up to this size are kept whole for display even when the library
#: stopped reading at their header; larger ones are shown by their first bytes only.
KEEP_REJECTED_FRAME = 1 << 20


class WebSocketConnection:
    """One WebSocket connection: the library, the tap and the records they make.

    ``role`` CLIENT (the default) sends the upgrade request to ``endpoint``; SERVER reads
    the request, answers it (``answer``, default: accept), reads masked frames and
    sends unmasked ones.
    """

    def __init__(
        self,
        endpoint: Endpoint | None,
        options: SessionOptions,
        recorder: Recorder,
        *,
        role: Role = Role.CLIENT,
        answer: Answer | None = None,
        server: ServerOptions | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._options = options
        self._recorder = recorder
        self._records = WsRecords(recorder)
        self._role = role
        #: The peer as messages name it: "server" (client role) or "client".
        self._peer = str(role.peer)
        self._protocol: InspectedClientProtocol | InspectedServerProtocol = (
            client_protocol(endpoint, options)
            if role is Role.CLIENT
            else server_protocol(options, server.deflate if server is not None else None)
        )
        if answer is None and server is not None:
            answer = server_answer(server, options.subprotocols)
        self._answer = answer
        self._tap = WireFrameParser()
        self._phases = PhaseMachine(role)
        self._started_ns: int | None = None
        #: The upgrade's bytes read so far (HANDSHAKE phase only).
        self._handshake = bytearray()
        #: The server role's upgrade response, written before anything else.
        self._response_out = b""
        #: The server role's one line when it refused the upgrade by choice.
        self._refused: str | None = None
        self._failure: str | None = None
        self._ending: Ending | None = None
        #: True once the library's parser error was turned into a rejection.
        self._exc_seen = False
        self._reject: Rejection | None = None
        self.eof_requested = False
        #: The start of a frame the receive fast path holds until its next read.
        self._carry = b""
        #: False sends every byte through the library and the tap (tests compare both).
        #: The server role's fast path takes masked frames (RFC 6455 §5.1).
        self.fast_path = True
        self._masked_in = role is Role.SERVER

    # -- state -------------------------------------------------------------------

    @property
    def role(self) -> Role:
        """Which end of the connection this is."""
        return self._role

    @property
    def phase(self) -> Phase:
        """What the connection does with the next bytes it reads."""
        return self._phases.phase

    @property
    def open(self) -> bool:
        """True while messages can be sent and received."""
        return self._protocol.state is OPEN

    @property
    def closed(self) -> bool:
        """True once the connection is over (the transport reached EOF)."""
        return self._protocol.state is CLOSED

    @property
    def handshake_done(self) -> bool:
        """True once the upgrade succeeded (a valid 101 response was read or sent)."""
        return self._phases.upgraded

    @property
    def failure(self) -> str | None:
        """Why the connection failed, as one line; None while it has not."""
        return self._failure

    @property
    def ending(self) -> Ending | None:
        """How the connection ended; None until it is CLOSED (the transport ended)."""
        return self._ending

    @property
    def clean_close(self) -> bool:
        """True when close frames went both ways (RFC 6455 §7.1.2 closing handshake)."""
        p = self._protocol
        return p.close_sent is not None and p.close_rcvd is not None

    @property
    def close_code(self) -> int | None:
        """The peer's close code, else the one we sent, else 1006 once closed without one."""
        p = self._protocol
        if p.close_rcvd is not None:
            return int(p.close_rcvd.code)
        if p.close_sent is not None:
            return int(p.close_sent.code)
        return 1006 if p.state is CLOSED else None

    @property
    def close_reason(self) -> str | None:
        """The reason that goes with :attr:`close_code`."""
        p = self._protocol
        if p.close_rcvd is not None:
            return p.close_rcvd.reason
        if p.close_sent is not None:
            return p.close_sent.reason
        return "" if p.state is CLOSED else None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        return self._protocol.subprotocol

    @property
    def messages_in(self) -> int:
        """Completed inbound text/binary messages so far."""
        return self._records.messages_in

    @property
    def keep_messages(self) -> bool:
        """Queue completed messages for :meth:`take_messages`; off when nobody takes them."""
        return self._records.keep_messages

    @keep_messages.setter
    def keep_messages(self, keep: bool) -> None:
        self._records.keep_messages = keep

    def close_expected(self) -> bool:
        """True when the transport should be closed now or soon (library's rule, or EOF)."""
        return self.eof_requested or self._protocol.close_expected()

    def partial_frame(self) -> bytes:
        """The bytes received so far of an inbound frame still arriving (b"" between
        frames), so a slow or stuck frame can be shown while it grows."""
        return self._carry or self._tap.partial()

    def partial_frame_size(self) -> int | None:
        """The wire size the arriving frame will have once whole; None when no frame is
        arriving or its header is not complete yet."""
        if self._carry:
            return plain_frame_size(self._carry)
        return self._tap.partial_size() if self._tap.buffered else None

    def take_messages(self) -> list[tuple[str, bytes]]:
        """Completed inbound messages since the last call, as ("text"|"binary", payload)."""
        return self._records.messages.take()

    # -- opening handshake -------------------------------------------------------

    def start(self, t_ns: int | None = None) -> bytes:
        """Build and record the upgrade request (RFC 6455 §4.1); return the bytes to write."""
        if self._role is not Role.CLIENT:
            raise WebSocketSendError("a server-side connection answers the upgrade request")
        if self._phases.phase is Phase.ENDED:
            raise WebSocketSendError("cannot send the upgrade request: the connection ended")
        if self._phases.phase is not Phase.IDLE:
            raise WebSocketSendError("the upgrade request was already sent")
        p = self._protocol
        assert isinstance(p, InspectedClientProtocol)
        request = upgrade_request(p, self._options.headers)
        p.send_request(request)
        wire = b"".join(p.data_to_send())
        fields = request_fields(request)
        self._started_ns = self._records.handshake(Direction.OUT, t_ns, wire, fields)
        self._phases.enter(Phase.HANDSHAKE)
        return wire

    def _on_response(self, response: Response, t_ns: int) -> bytes:
        """Record the server's answer to the upgrade; return bytes after a 101 head."""
        raw = bytes(self._handshake)
        head_end = _head_end(raw)
        exc = self._protocol.handshake_exc
        accepted = exc is None
        fields = response_fields(response, self._protocol, t_ns - (self._started_ns or 0), accepted)
        if accepted:
            self._records.handshake(Direction.IN, t_ns, raw[:head_end], fields)
            self._handshake = bytearray()
            self._phases.enter(Phase.OPEN)
            return raw[head_end:]
        self._records.handshake(Direction.IN, t_ns, raw, fields, bytes(response.body))
        self._handshake_error(refusal_line(response, exc), t_ns)
        return b""

    def _on_request(self, request: Request, t_ns: int) -> bytes:
        """Record the client's upgrade request, answer it, record the answer; return
        bytes after the request's head once accepted (RFC 6455 §4.2)."""
        raw = bytes(self._handshake)
        head_end = _head_end(raw)
        self._started_ns = self._records.handshake(
            Direction.IN, t_ns, raw[:head_end], request_fields(request)
        )
        p = self._protocol
        assert isinstance(p, InspectedServerProtocol)
        refusal = self._answer_request(request, t_ns)
        if refusal is None:
            response = p.accept(request)
        else:
            response = p.reject(refusal.status, refusal.text)
            _set_headers(response, refusal.headers)
        p.send_response(response)
        wire, eof = _written(p.data_to_send())
        self._response_out = wire
        self.eof_requested = self.eof_requested or eof
        accepted = response.status_code == 101
        fields = response_fields(response, p, t_ns - self._started_ns, accepted)
        body = bytes(response.body) if response.body else None
        self._records.handshake(Direction.OUT, t_ns, wire, fields, body)
        self._handshake = bytearray()
        if accepted:
            self._phases.enter(Phase.OPEN)
            return raw[head_end:]
        if p.handshake_exc is not None:
            line = f"client's upgrade request is invalid: {one_line(p.handshake_exc)}"
            self._handshake_error(line, t_ns)
        else:
            status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
            self._refused = f"refused the upgrade: {status}"
            self._phases.enter(Phase.REFUSED)
        return b""

    def _answer_request(self, request: Request, t_ns: int) -> Refusal | None:
        """The owner's answer to the upgrade request; a fault in it is recorded as one
        line and answered with 500, never raised into the transport."""
        if self._answer is None:
            return None
        try:
            return self._answer(request)
        except Exception as exc:  # the owner's code: the connection survives it
            line = f"answering the upgrade request failed: {one_line(exc)}"
            self._records.error(line, t_ns, phase="handshake")
            return Refusal(500, "The server failed to answer the upgrade request.\n")

    def _bad_request(self, line: str, raw: bytes, t_ns: int) -> None:
        """Answer an unreadable upgrade request with 400 (server role); the ERROR record
        keeps the bytes that were read and says what was answered."""
        p = self._protocol
        assert isinstance(p, InspectedServerProtocol)
        self._response_out = p.reject(400, f"Bad Request: {line}\n").serialize()
        self._handshake_error(line, t_ns, raw, answered=400)

    def _handshake_error(
        self, line: str, t_ns: int, wire: bytes = b"", answered: int | None = None
    ) -> None:
        """Fail the connection during the opening handshake with one recorded line."""
        self._handshake = bytearray()
        self._phases.enter(Phase.REFUSED)
        self._set_failure(line)
        self._records.error(line, t_ns, wire, phase="handshake", answered=answered)

    def _after_handshake_step(self, t_ns: int) -> None:
        """Handle the library's events while the upgrade is being read."""
        p = self._protocol
        frames: list[Frame] = []
        leftover = b""
        answered = False
        for event in p.events_received():
            if isinstance(event, Response):
                answered = True
                leftover = self._on_response(event, t_ns)
            elif isinstance(event, Request):
                answered = True
                leftover = self._on_request(event, t_ns)
            else:
                frames.append(event)
        if not answered and p.handshake_exc is not None and self.phase is Phase.HANDSHAKE:
            raw = bytes(self._handshake)
            line = unreadable_line(self._role, raw, p.handshake_exc)
            if self._role is Role.SERVER and raw and type(p.handshake_exc) is InvalidMessage:
                self._bad_request(line, raw, t_ns)
            else:
                self._handshake_error(line, t_ns, raw)
        if (leftover or frames) and self.phase is Phase.OPEN:
            self._on_frames(leftover, frames, t_ns)

    # -- receiving ---------------------------------------------------------------

    def receive_data(self, data: bytes, t_ns: int) -> bytes:
        """Take one read from the transport; record what it holds; return bytes to write."""
        phase = self._phases.phase
        if not data:
            return b""
        if phase is Phase.OPEN:
            self._receive_frames(data, t_ns)
        elif phase is Phase.HANDSHAKE:
            self._handshake += data
            self._protocol.receive_data(data)
            self._after_handshake_step(t_ns)
        else:
            return b""  # nothing was asked yet, the upgrade failed, or the stream ended
        return self._flush(t_ns)

    def _receive_frames(self, data: bytes, t_ns: int) -> None:
        """Record the frames of one read: plain ones on the fast path, the rest through
        the library and the tap."""
        p = self._protocol
        if self._carry:
            data = self._carry + data
            self._carry = b""
        if self.fast_path:
            need = self._bytes_to_boundary()
            if need is not None and need < len(data):
                # Finish the frame the library and the tap hold, so the frames
                # after it can take the fast path again.
                head, data = data[:need], data[need:]
                p.receive_data(head)
                self._on_frames(head, p.events_received(), t_ns)
            if self._at_frame_boundary():
                keep = self._records.keep_messages
                take = take_plain_frames(
                    data, size_limit(p), idle_deflate(p), keep, run=True, masked=self._masked_in
                )
                if take.count:
                    self._records.plain(take, t_ns)
                data = take.rest
                if take.failure is not None:
                    self._fail_as_parser(take.failure)
                elif take.carry:
                    self._carry = data
                    return
                if not data:
                    return
        p.receive_data(data)
        self._on_frames(data, p.events_received(), t_ns)

    def receive_eof(self, t_ns: int, reason: str | None = None) -> bytes:
        """The transport ended; record how the connection ended; return bytes to write.

        ``reason`` is None when the peer closed its side; otherwise one line saying why
        the transport ended here (closing timeout, user abort, network error), which
        becomes the failure unless the closing handshake already completed.
        """
        phase = self._phases.phase
        if phase is Phase.ENDED:
            return b""
        p = self._protocol
        if self._carry:  # the library and the tap see the unfinished frame end
            carry, self._carry = self._carry, b""
            p.receive_data(carry)
            self._on_frames(carry, p.events_received(), t_ns)
        if reason is None and phase is Phase.IDLE:
            reason = "connection closed before the upgrade request was sent"
        if reason is not None and self._failure is None and not self.clean_close:
            self._set_failure(reason)
            stage = "session" if self.handshake_done else "handshake"
            self._records.error(reason, t_ns, phase=stage)
        p.receive_eof()
        if phase is Phase.HANDSHAKE:
            self._after_handshake_step(t_ns)
        elif phase is Phase.OPEN:
            self._frames_end(t_ns)
        if self._failure is None and self.handshake_done and not self.clean_close:
            line = (
                f"{self._peer} closed the connection without completing the closing handshake"
                if p.close_sent is not None
                else f"{self._peer} closed the connection without a closing handshake (1006)"
            )
            self._set_failure(line)
            self._records.error(line, t_ns, close_code=1006)
        self._phases.enter(Phase.ENDED)
        return self._flush(t_ns)

    def _frames_end(self, t_ns: int) -> None:
        """At the end of the stream: record what the library and the tap still hold."""
        p = self._protocol
        self._on_frames(b"", p.events_received(), t_ns)
        if self._reject is None and not self._tap.buffered:
            return
        partial = self._tap.partial()
        self._tap.drop_partial()
        if self._reject is not None:
            reject, self._reject = self._reject, None
            self._record_violation(reject.detail, reject.code, partial, t_ns)
        elif partial and (p.close_rcvd is not None or self._failure is not None):
            fields = {"incomplete": True, "error": self._ignored_reason()}
            self._recorder.record(Direction.IN, Kind.DATA, t_ns, partial, partial, fields)
        elif partial:
            line = (
                f"{self._peer} closed the connection in the middle of a frame "
                f"({len(partial)} bytes of it received)"
            )
            self._set_failure(line)
            self._records.error(line, t_ns, partial, close_code=1006)

    # -- the receive fast path ---------------------------------------------------

    def _at_frame_boundary(self) -> bool:
        """True when the library and the tap both wait for the start of a frame of an
        open connection with no message in progress: frames that change no protocol
        state can then be recorded without them."""
        return (
            self._protocol.state is OPEN
            and at_frame_start(self._protocol)
            and not self._tap.buffered
            and self._tap.error is None
            and self._reject is None
        )

    def _bytes_to_boundary(self) -> int | None:
        """How many more bytes complete the frame the tap holds (None: no such frame,
        or its size is not known yet)."""
        tap = self._tap
        if not tap.buffered or tap.error is not None:
            return None
        size = tap.partial_size()
        return None if size is None else size - tap.buffered

    def _fail_as_parser(self, exc: Exception) -> None:
        """Fail the connection for a frame the fast path could not inflate or decode,
        as websockets' parser does for the same exception."""
        p = self._protocol
        if isinstance(exc, UnicodeDecodeError):
            p.text_error = exc
        fail_as_parser(p, exc)

    # -- frames through the library and the tap ----------------------------------

    def _on_frames(self, data: bytes, events: list[Any], t_ns: int) -> None:
        """Feed the tap; record each tap frame with its library event or its rejection."""
        p = self._protocol
        tap = self._tap
        wire_frames = tap.feed(data) if data else []
        count = len(events)
        exc = parser_error(p)
        if exc is not None and not self._exc_seen:
            self._exc_seen = True
            if not isinstance(exc, EOFError):
                code = close_code_for(exc)
                start = wire_frames[count].wire if len(wire_frames) > count else tap.partial()
                detail = describe_violation(
                    exc,
                    start,
                    bad_text=exc is p.text_error,
                    max_size=self._options.max_size,
                    peer=self._peer,
                )
                self._reject = Rejection(one_line(exc), code, detail)
                self._set_failure(violation_line(detail, code, self._peer))
        records = self._records
        for index, wf in enumerate(wire_frames):
            if index < count:
                records.inbound(wf, events[index], t_ns)
            elif self._reject is not None:
                reject, self._reject = self._reject, None
                payload = wf.unmasked_payload()
                records.frame(Direction.IN, wf, payload, t_ns, error=reject.reason)
                self._record_violation(reject.detail, reject.code, wf.wire, t_ns)
            else:
                payload = wf.unmasked_payload()
                records.frame(Direction.IN, wf, payload, t_ns, error=self._ignored_reason())
        for event in events[len(wire_frames) :]:
            records.untapped(event, t_ns)
        if tap.error is not None and self._reject is None and not self._exc_seen:
            self._exc_seen = True
            self._reject = Rejection(tap.error, 1002, tap.error)
            self._set_failure(violation_line(tap.error, 1002, self._peer))
            if p.state is OPEN:
                p.fail(1002, "invalid frame length")
        if self._reject is not None:
            size = tap.partial_size()
            too_big = size is not None and size > KEEP_REJECTED_FRAME
            # Keep the header whole (mask key too) however the bytes were cut; EOF
            # records what there is of a header that never completes.
            if tap.error is not None or (too_big and tap.partial_header_whole()):
                reject, self._reject = self._reject, None
                header = tap.partial_header()
                tap.drop_partial()
                self._record_violation(reject.detail, reject.code, header, t_ns)

    def _ignored_reason(self) -> str:
        if self._failure is not None:
            return "ignored: the connection had already failed"
        return "ignored: received after the close frame (RFC 6455 §1.4)"

    def _record_violation(self, reason: str, code: int, wire: bytes, t_ns: int) -> None:
        """Record the peer breaking the protocol, with the offending bytes."""
        line = violation_line(reason, code, self._peer)
        self._set_failure(line)
        self._records.error(line, t_ns, wire, close_code=code)

    # -- sending -----------------------------------------------------------------

    def _flush(
        self,
        t_ns: int | None,
        payload: bytes | None = None,
        user: bool = False,
        automatic: bool = False,
    ) -> bytes:
        """Record what the library queued to write; return it; note EOF and the end."""
        chunks = self._protocol.data_to_send()
        frames = [chunk for chunk in chunks if chunk]
        if len(frames) < len(chunks):
            self.eof_requested = True  # an empty chunk asks to half-close (send EOF)
        out = self._records.outbound(frames, t_ns, payload, user, automatic)
        if self._response_out:
            out, self._response_out = self._response_out + out, b""
        if self._ending is None and self._protocol.state is CLOSED:
            self._ending = self._make_ending(self._recorder.now() if t_ns is None else t_ns)
        return out

    def _check_can_send(self, control: bool) -> None:
        state = self._protocol.state
        if state is OPEN or (control and state is CLOSING):
            return
        if not self.handshake_done and state is not CLOSED:
            raise WebSocketSendError("cannot send yet: the WebSocket handshake is not complete")
        raise WebSocketSendError(f"cannot send: the WebSocket connection is {state.name.lower()}")

    def send_text(self, text: str, automatic: bool = False) -> bytes:
        """Send one text message in one frame; return the bytes to write. ``automatic``
        marks a protocol client's own message (an opening, a keep-alive)."""
        self._check_can_send(False)
        data = text_bytes(text)
        self._protocol.send_text(data)
        return self._flush(None, data, user=True, automatic=automatic)

    def send_binary(self, data: bytes, automatic: bool = False) -> bytes:
        """Send one binary message in one frame; return the bytes to write."""
        self._check_can_send(False)
        data = bytes(data)
        self._protocol.send_binary(data)
        return self._flush(None, data, user=True, automatic=automatic)

    def send_message(self, data: bytes, text: bool) -> bytes:
        """Send one whole message, ``data`` already UTF-8 when ``text``; return the bytes
        to write. The server role frames it itself when the library would write exactly
        header and payload (no extension, nothing queued): the echo's hot path."""
        p = self._protocol
        if not plain_send_ok(p):
            return self.send_text(data.decode("utf-8")) if text else self.send_binary(data)
        size = len(data)
        first = 0x81 if text else 0x82
        if size < 126:
            header = bytes((first, size))
        elif size < 65536:
            header = bytes((first, 126)) + size.to_bytes(2, "big")
        else:
            header = bytes((first, 127)) + size.to_bytes(8, "big")
        wire = header + data
        self._records.sent_plain(wire, len(header), data)
        return wire

    def send_ping(self, data: bytes = b"", automatic: bool = False) -> bytes:
        """Send a ping (RFC 6455 §5.5.2); return the bytes to write. ``automatic``
        marks a heartbeat's ping (the engine's, not the user's)."""
        return self._send_control(self._protocol.send_ping, bytes(data), "ping", not automatic)

    def awaiting_pong(self, data: bytes) -> bool:
        """True while the ping with payload ``data`` has had no pong."""
        return bytes(data) in self._records.pings

    @property
    def round_trips(self) -> list[int]:
        """Every ping round trip measured so far (ns), in order."""
        return self._records.rtts

    def send_pong(self, data: bytes = b"") -> bytes:
        """Send an unsolicited or manual pong (RFC 6455 §5.5.3); return the bytes to write."""
        return self._send_control(self._protocol.send_pong, bytes(data), "pong")

    def _send_control(self, send: Any, data: bytes, what: str, user: bool = True) -> bytes:
        self._check_can_send(True)
        check_control(data, what)
        send(data)
        return self._flush(None, data, user=user)

    def send_close(self, code: int | None = 1000, reason: str = "") -> bytes:
        """Start the closing handshake (RFC 6455 §7.1.2); return the bytes to write."""
        self._check_can_send(False)
        check_close(code, reason)
        self._protocol.send_close(code, reason)
        return self._flush(None, user=True)

    # -- ending ------------------------------------------------------------------

    def _set_failure(self, line: str) -> None:
        if self._failure is None:
            self._failure = line

    def _initiator(self) -> Initiator:
        """Who sent the first close frame (RFC 6455 §7.1.2); NONE when nobody did."""
        p = self._protocol
        if peer_closed_first(p):
            return self._role.peer
        return self._role.us if p.close_sent is not None else Initiator.NONE

    def _make_ending(self, t_ns: int) -> Ending:
        """How the connection ended, once it reached CLOSED."""
        code, reason = self.close_code, self.close_reason
        failure = self._failure
        if failure is not None:
            message = failure
        elif self._refused is not None:
            message = self._refused
        else:
            message = f"closed cleanly ({code}{' ' + reason if reason else ''})"
        clean = self.clean_close and failure is None
        return Ending(
            message, clean, failure, code, reason, self._initiator(), t_ns, self._started_ns
        )


def _head_end(raw: bytes) -> int:
    """Where the HTTP head in ``raw`` ends (after its blank line), else its length."""
    end = raw.find(b"\r\n\r\n")
    return len(raw) if end < 0 else end + 4


def _set_headers(response: Response, headers: tuple[tuple[str, str], ...]) -> None:
    """Put the owner's headers on a refusal: the first of a name replaces the library's."""
    replaced: set[str] = set()
    for name, value in headers:
        key = name.lower()
        if key not in replaced and name in response.headers:
            del response.headers[name]
        replaced.add(key)
        response.headers[name] = value


def _written(chunks: list[bytes]) -> tuple[bytes, bool]:
    """The bytes of the library's writes, and whether one of them asked for EOF."""
    data = [chunk for chunk in chunks if chunk]
    return b"".join(data), len(data) < len(chunks)
