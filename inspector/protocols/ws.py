"""A WebSocket client connection, Sans-I/O: bytes in, records and bytes out.

websockets' :class:`~websockets.client.ClientProtocol` is driven by hand (it owns the
handshake checks, the closing rules and permessage-deflate) and the wire-frame tap
(:mod:`inspector.protocols.wireframes`) reads the same raw bytes, so every frame record
carries what the library hides: the mask key, the header, the size on the wire, and the
bytes of frames the library rejects. Library Frame events and tap frames are matched in
order: while the library is healthy it turns exactly the frames the tap sees into events.

The net layer calls :meth:`WebSocketConnection.start`, writes what it returns, then
calls :meth:`~WebSocketConnection.receive_data` for every read and
:meth:`~WebSocketConnection.receive_eof` when the peer closes or the transport is lost,
writing whatever they return. When :meth:`~WebSocketConnection.close_expected` turns
True it closes the transport (at once if ``eof_requested``, else after a short grace
period for the server to close first, RFC 6455 §7.1.1). When the transport ends for a
local reason (timeout, abort, network error) it passes that line as ``receive_eof``'s
``reason`` so the records name the real cause instead of an abnormal closure.

Two rules the library leaves out are added by
:class:`~inspector.protocols.wsclient.InspectedClientProtocol`: UTF-8 checks of text
messages across fragments (1007) and, with ``SessionOptions.auto_pong`` off, pings
delivered without the automatic pong.
"""

from __future__ import annotations

from typing import Any

from websockets.exceptions import InvalidURI, PayloadTooBig, ProtocolError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import BINARY, CONT, TEXT, CloseCode, Frame
from websockets.http11 import Response
from websockets.protocol import CLOSED, CLOSING, OPEN
from websockets.uri import parse_uri

from inspector.core.endpoints import Endpoint
from inspector.core.errors import EndpointError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.protocols.deflate import parse_deflate_offer
from inspector.protocols.messages import MessageQueue
from inspector.protocols.wireframes import (
    WireFrame,
    WireFrameParser,
    opcode_name,
    parse_frame,
)
from inspector.protocols.wsclient import InspectedClientProtocol, close_code_for
from inspector.protocols.wsfields import (
    describe_violation,
    frame_fields,
    initiated_by,
    one_line,
    plain_frame_fields,
    refusal_line,
    response_fields,
    violation_line,
)

#: Rejected frames up to this size are kept whole for display even when the library
#: stopped reading at their header; larger ones are shown by their first bytes only.
KEEP_REJECTED_FRAME = 1 << 20

#: The receive fast path keeps an unfinished frame of at most this many bytes itself;
#: a larger one goes to the library and the tap, which buffer it without copying.
CARRY_MAX = 1 << 16

#: Close codes an endpoint may put in a close frame (RFC 6455 §7.4.1, IANA registry).
_SENDABLE_CODES = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


class WebSocketSendError(InspectorError):
    """The user asked to send something the connection cannot send now (or at all)."""


class WebSocketConnection:
    """One client WebSocket connection: the library, the tap and the records they make."""

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        self._endpoint = endpoint
        self._options = options
        self._recorder = recorder
        extensions = [_deflate_factory(options)] if options.compression else None
        try:
            uri = parse_uri(endpoint.url)
        except (InvalidURI, ValueError) as exc:
            raise EndpointError(f"{endpoint.url} is not a usable WebSocket URL: {exc}") from None
        self._protocol = InspectedClientProtocol(
            uri,
            origin=options.origin,  # type: ignore[arg-type]
            extensions=extensions,
            subprotocols=list(options.subprotocols) or None,  # type: ignore[arg-type]
            max_size=options.max_size,
            auto_pong=options.auto_pong,
        )
        self._tap = WireFrameParser()
        self._started_ns: int | None = None
        self._handshake: bytearray | None = None
        self._handshake_done = False
        self._eof_received = False
        self._failure: str | None = None
        self._closed_recorded = False
        self._exc_seen = False
        #: (the library's reason for the frame record, close code, the one-line detail)
        self._reject: tuple[str, int, str] | None = None
        self._in_compressed = False
        self._parts: list[bytes] = []
        self._part_kind = "binary"
        self._messages = MessageQueue()
        self.messages_in = 0
        self.eof_requested = False
        #: The start of a frame the receive fast path holds until its next read.
        self._carry = b""
        #: False sends every byte through the library and the tap (tests compare both).
        self.fast_path = True
        #: Queue completed messages for :meth:`take_messages`; off when nobody takes them.
        self.keep_messages = True

    # -- state -------------------------------------------------------------------

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
        """True once the server accepted the upgrade with a valid 101 response."""
        return self._handshake_done

    @property
    def failure(self) -> str | None:
        """Why the connection failed, as one line; None while it has not."""
        return self._failure

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
            return _plain_frame_size(self._carry)
        return self._tap.partial_size() if self._tap.buffered else None

    def take_messages(self) -> list[tuple[str, bytes]]:
        """Completed inbound messages since the last call, as ("text"|"binary", payload)."""
        return self._messages.take()

    # -- opening handshake -------------------------------------------------------

    def start(self, t_ns: int | None = None) -> bytes:
        """Build and record the upgrade request (RFC 6455 §4.1); return the bytes to write."""
        if self._started_ns is not None:
            raise WebSocketSendError("the upgrade request was already sent")
        p = self._protocol
        request = p.connect()
        replaced: set[str] = set()
        for name, value in self._options.headers:
            if any(ch in name + value for ch in "\r\n\0") or not name.strip():
                raise WebSocketSendError(f"header {name!r} is empty or contains a line break")
            key = name.lower()
            if key not in replaced and name in request.headers:
                del request.headers[name]
            replaced.add(key)
            request.headers[name] = value
        p.send_request(request)
        wire = b"".join(p.data_to_send())
        record = self._recorder.record(
            Direction.OUT,
            Kind.HANDSHAKE,
            t_ns,
            wire=wire,
            fields={
                "method": "GET",
                "target": request.path,
                "headers": [[k, v] for k, v in request.headers.raw_items()],
            },
        )
        self._started_ns = record.t_ns
        self._handshake = bytearray()
        return wire

    def _on_response(self, response: Response, t_ns: int) -> bytes:
        """Record the server's answer to the upgrade; return bytes after a 101 head."""
        assert self._handshake is not None
        raw = bytes(self._handshake)
        head_end = raw.find(b"\r\n\r\n")
        head_end = len(raw) if head_end < 0 else head_end + 4
        exc = self._protocol.handshake_exc
        accepted = exc is None
        fields = response_fields(response, self._protocol, t_ns - (self._started_ns or 0), accepted)
        if accepted:
            self._recorder.record(Direction.IN, Kind.HANDSHAKE, t_ns, raw[:head_end], None, fields)
            self._handshake_done = True
            self._handshake = None
            return raw[head_end:]
        self._recorder.record(Direction.IN, Kind.HANDSHAKE, t_ns, raw, bytes(response.body), fields)
        self._handshake_error(refusal_line(response, exc), t_ns)
        return b""

    def _handshake_error(self, line: str, t_ns: int, wire: bytes = b"") -> None:
        """Fail the connection during the opening handshake with one recorded line."""
        self._handshake = None
        self._set_failure(line)
        direction = Direction.IN if wire else Direction.META
        self._recorder.record(
            direction, Kind.ERROR, t_ns, wire, None, {"message": line, "phase": "handshake"}
        )

    # -- receiving ---------------------------------------------------------------

    def receive_data(self, data: bytes, t_ns: int) -> bytes:
        """Take one read from the transport; record what it holds; return bytes to write."""
        if self._eof_received or not data:
            return b""
        p = self._protocol
        if self._handshake is None:
            if not self._handshake_done:
                return b""  # nothing was asked yet, or the upgrade already failed
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
                    data = self._take_plain_frames(data, t_ns)
                    if not data:
                        return self._finish(t_ns)
            p.receive_data(data)
            self._on_frames(data, p.events_received(), t_ns)
        else:
            self._handshake += data
            p.receive_data(data)
            self._after_handshake_step(t_ns)
        return self._finish(t_ns)

    def receive_eof(self, t_ns: int, reason: str | None = None) -> bytes:
        """The transport ended; record how the connection ended; return bytes to write.

        ``reason`` is None when the peer closed its side; otherwise one line saying why
        the transport ended here (closing timeout, user abort, network error), which
        becomes the failure unless the closing handshake already completed.
        """
        if self._eof_received:
            return b""
        self._eof_received = True
        p = self._protocol
        if self._carry:  # the library and the tap see the unfinished frame end
            carry, self._carry = self._carry, b""
            p.receive_data(carry)
            self._on_frames(carry, p.events_received(), t_ns)
        if reason is None and self._started_ns is None:
            reason = "connection closed before the upgrade request was sent"
        if reason is not None and self._failure is None and not self.clean_close:
            self._set_failure(reason)
            self._recorder.record(
                Direction.META,
                Kind.ERROR,
                t_ns,
                b"",
                None,
                {"message": reason, "phase": "session" if self._handshake_done else "handshake"},
            )
        p.receive_eof()
        if self._handshake is not None:
            self._after_handshake_step(t_ns)
        elif self._handshake_done:
            self._on_frames(b"", p.events_received(), t_ns)
            if self._reject is not None or self._tap.buffered:
                partial = self._tap.partial()
                self._tap.drop_partial()
                if self._reject is not None:
                    _reason, code, detail = self._reject
                    self._reject = None
                    self._record_violation(detail, code, partial, t_ns)
                elif partial and (p.close_rcvd is not None or self._failure is not None):
                    self._recorder.record(
                        Direction.IN,
                        Kind.DATA,
                        t_ns,
                        partial,
                        partial,
                        {"incomplete": True, "error": self._ignored_reason()},
                    )
                elif partial:
                    line = (
                        "server closed the connection in the middle of a frame "
                        f"({len(partial)} bytes of it received)"
                    )
                    self._set_failure(line)
                    self._recorder.record(
                        Direction.IN,
                        Kind.ERROR,
                        t_ns,
                        partial,
                        None,
                        {"message": line, "close_code": 1006, "phase": "session"},
                    )
        if self._failure is None and self._handshake_done and not self.clean_close:
            line = (
                "server closed the connection without completing the closing handshake"
                if p.close_sent is not None
                else "server closed the connection without a closing handshake (1006)"
            )
            self._set_failure(line)
            self._recorder.record(
                Direction.META,
                Kind.ERROR,
                t_ns,
                b"",
                None,
                {"message": line, "close_code": 1006, "phase": "session"},
            )
        return self._finish(t_ns)

    # -- the receive fast path ---------------------------------------------------------

    def _at_frame_boundary(self) -> bool:
        """True when the library and the tap both wait for the start of a frame of an
        open connection with no message in progress: frames that change no protocol
        state can then be recorded without them."""
        p = self._protocol
        return (
            p.state is OPEN
            and p.current_size is None
            and p.parser_exc is None
            and not p.reader.buffer
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

    def _take_plain_frames(self, data: bytes, t_ns: int) -> bytes:
        """Record the whole plain frames at the start of ``data``; return the rest.

        A plain frame is a complete, unmasked text or binary frame with FIN set, within
        the size limit, whose text is valid UTF-8 (RFC 6455 §5.2, §8.1), either
        uncompressed or compressed as a whole message with the negotiated
        permessage-deflate (RFC 7692 §6). For the library such a frame only becomes a
        message event (after its own deflate decoder inflates it, which is called here
        too), so recording it here is the same as recording the library's event, at a
        fraction of the cost. Everything else (control frames, fragments, masked
        frames, bad text) stops the scan and goes with the rest of the read to the
        library and the tap. A small unfinished frame at the end is kept until the next
        read. When inflating fails, the decoder has moved on, so the connection is
        failed here exactly as the library's parser fails it, and the rest of the read
        goes to the library (which then discards it) and the tap (which records it).
        """
        p = self._protocol
        limit = p.max_message_size
        if p.max_fragment_size is not None:
            limit = p.max_fragment_size if limit is None else min(limit, p.max_fragment_size)
        deflate = self._deflate
        end = len(data)
        pos = 0
        items: list[tuple[bytes, bytes | None, Any]] = []
        messages: list[tuple[str, bytes]] = []
        add_item = items.append
        add_message = messages.append
        size = 0
        compressed = last_compressed = False
        failure: Exception | None = None
        while end - pos >= 2:
            first = data[pos]
            if first == 0x81 or first == 0xC1:
                kind = "text"
            elif first == 0x82 or first == 0xC2:
                kind = "binary"
            else:
                break
            compressed = first > 0xC0
            if compressed and deflate is None:
                break  # RSV1 without the extension: the library's error to report
            length = data[pos + 1]
            if length < 126:
                header_len = 2
            elif length == 126 and end - pos >= 4:
                length = (data[pos + 2] << 8) | data[pos + 3]
                header_len = 4
            else:
                break  # masked, 64-bit length, or the length is not here yet
            stop = pos + header_len + length
            if stop > end or (limit is not None and length > limit):
                break
            payload = data[pos + header_len : stop]
            if compressed:
                assert deflate is not None
                try:
                    opcode = TEXT if kind == "text" else BINARY
                    payload = bytes(
                        deflate.decode(Frame(opcode, payload, True, True), max_size=limit).data
                    )
                except Exception as exc:  # the library's parser catches them all too
                    failure = exc
                    break
            if kind == "text" and not payload.isascii():
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if compressed:
                        failure = exc
                    break
            fields = plain_frame_fields(first, header_len, length, compressed)
            last_compressed = compressed
            add_item((data[pos:stop], payload, fields))
            add_message((kind, payload))
            size += len(payload)
            pos = stop
        if items:
            self._in_compressed = last_compressed
            self.messages_in += len(messages)
            if self.keep_messages:
                self._messages.extend(messages, size)
            self._recorder.record_many(Direction.IN, Kind.FRAME, t_ns, items)
        rest = data[pos:] if pos else data
        if failure is not None:
            self._fail_as_the_parser_would(failure)
            return rest
        if _worth_carrying(rest, limit, deflate is not None):
            self._carry = rest
            return b""
        return rest

    def _fail_as_the_parser_would(self, exc: Exception) -> None:
        """Fail the connection for a frame the fast path could not inflate or decode,
        as websockets' ``Protocol.parse`` does for the same exception."""
        p = self._protocol
        if isinstance(exc, PayloadTooBig):
            exc.set_current_size(p.current_size)
            p.fail(CloseCode.MESSAGE_TOO_BIG, str(exc))
        elif isinstance(exc, UnicodeDecodeError):
            p.text_error = exc
            p.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
        elif isinstance(exc, ProtocolError):
            p.fail(CloseCode.PROTOCOL_ERROR, str(exc))
        else:  # details may be sensitive: the library sends 1011 without them
            p.fail(CloseCode.INTERNAL_ERROR)
        p.parser_exc = exc

    @property
    def _deflate(self) -> PerMessageDeflate | None:
        """The negotiated permessage-deflate, when it is the only extension and no
        compressed message is half received."""
        extensions = self._protocol.extensions
        if len(extensions) != 1:
            return None
        (extension,) = extensions
        if not isinstance(extension, PerMessageDeflate) or extension.decode_cont_data:
            return None
        return extension

    def _after_handshake_step(self, t_ns: int) -> None:
        """Handle the library's events while the upgrade response is being read."""
        p = self._protocol
        frames: list[Frame] = []
        leftover = b""
        answered = False
        for event in p.events_received():
            if isinstance(event, Response):
                answered = True
                leftover = self._on_response(event, t_ns)
            else:
                frames.append(event)
        if not answered and p.handshake_exc is not None and self._handshake is not None:
            raw = bytes(self._handshake)
            if raw:
                exc = p.handshake_exc
                detail = one_line(exc.__cause__ if exc.__cause__ is not None else exc)
                if not raw.startswith(b"HTTP/"):
                    first = raw.split(b"\n", 1)[0].strip()[:80]
                    shown = first.decode("ascii", "backslashreplace")
                    detail = f"it began with {shown!r}; is this a WebSocket server?"
                    if raw[0] in (0x15, 0x16):  # a TLS alert or handshake record
                        detail = "it answered in TLS; use wss:// for this port"
                line = f"server's answer is not a valid HTTP response: {detail}"
            else:
                line = "server closed the connection before answering the upgrade"
            self._handshake_error(line, t_ns, raw)
        if leftover or frames:
            self._on_frames(leftover, frames, t_ns)

    def _on_frames(self, data: bytes, events: list[Any], t_ns: int) -> None:
        """Feed the tap; record each tap frame with its library event or its rejection."""
        p = self._protocol
        wire_frames = self._tap.feed(data) if data else []
        count = len(events)
        exc = p.parser_exc
        if exc is not None and not self._exc_seen:
            self._exc_seen = True
            if not isinstance(exc, EOFError):
                code = close_code_for(exc)
                start = wire_frames[count].wire if len(wire_frames) > count else self._tap.partial()
                detail = describe_violation(
                    exc,
                    start,
                    bad_text=exc is p.text_error,
                    max_size=self._options.max_size,
                )
                self._reject = (one_line(exc), code, detail)
                self._set_failure(violation_line(detail, code))
        for index, wf in enumerate(wire_frames):
            if index < count:
                self._record_inbound(wf, events[index], t_ns)
            elif self._reject is not None:
                reason, code, detail = self._reject
                self._reject = None
                self._record_frame(Direction.IN, wf, wf.unmasked_payload(), t_ns, error=reason)
                self._record_violation(detail, code, wf.wire, t_ns)
            else:
                self._record_frame(
                    Direction.IN, wf, wf.unmasked_payload(), t_ns, error=self._ignored_reason()
                )
        for event in events[len(wire_frames) :]:
            self._record_untapped(event, t_ns)
        if self._tap.error is not None and self._reject is None and not self._exc_seen:
            self._exc_seen = True
            self._reject = (self._tap.error, 1002, self._tap.error)
            self._set_failure(violation_line(self._tap.error, 1002))
            if p.state is OPEN:
                p.fail(1002, "invalid frame length")
        if self._reject is not None:
            size = self._tap.partial_size()
            too_big = size is not None and size > KEEP_REJECTED_FRAME
            # Keep the header whole (mask key too) however the bytes were cut; EOF
            # records what there is of a header that never completes.
            if self._tap.error is not None or (too_big and self._tap.partial_header_whole()):
                _reason, code, detail = self._reject
                self._reject = None
                header = self._tap.partial_header()
                self._tap.drop_partial()
                self._record_violation(detail, code, header, t_ns)

    def _ignored_reason(self) -> str:
        if self._failure is not None:
            return "ignored: the connection had already failed"
        return "ignored: received after the close frame (RFC 6455 §1.4)"

    def _record_violation(self, reason: str, code: int, wire: bytes, t_ns: int) -> None:
        """Record the server breaking the protocol, with the offending bytes."""
        line = violation_line(reason, code)
        self._set_failure(line)
        self._recorder.record(
            Direction.IN if wire else Direction.META,
            Kind.ERROR,
            t_ns,
            wire,
            None,
            {"message": line, "close_code": code, "phase": "session"},
        )

    def _record_inbound(self, wf: WireFrame, frame: Frame, t_ns: int) -> None:
        """Record one accepted inbound frame and collect the messages it completes."""
        data = frame.data
        payload = data if type(data) is bytes else bytes(data)
        opcode = frame.opcode
        if opcode is TEXT or opcode is BINARY:
            self._in_compressed = wf.rsv1
            if frame.fin:
                if self.keep_messages:
                    self._messages.append("text" if opcode is TEXT else "binary", payload)
                self.messages_in += 1
            else:
                self._part_kind = "text" if opcode is TEXT else "binary"
                self._parts = [payload]
        elif opcode is CONT:
            self._parts.append(payload)
            if frame.fin:
                if self.keep_messages:
                    self._messages.append(self._part_kind, b"".join(self._parts))
                self._parts = []
                self.messages_in += 1
        self._record_frame(Direction.IN, wf, payload, t_ns)

    def _record_untapped(self, frame: Frame, t_ns: int) -> None:
        """Record an event the tap has no bytes for (it lost the stream); never expected."""
        data = bytes(frame.data)
        self._recorder.record(
            Direction.IN,
            Kind.FRAME,
            t_ns,
            b"",
            data,
            {
                "opcode": opcode_name(frame.opcode),
                "opcode_value": int(frame.opcode),
                "fin": frame.fin,
                "error": "the frame's bytes could not be followed on the wire",
            },
        )

    def _record_frame(
        self,
        direction: Direction,
        wf: WireFrame,
        payload: bytes,
        t_ns: int | None,
        *,
        automatic: bool = False,
        error: str | None = None,
    ) -> None:
        """Make the FRAME record for one frame as on the wire (RFC 6455 §5.2 fields)."""
        opcode = wf.wire[0] & 0x0F
        if opcode == 0:
            compressed = self._in_compressed if direction is Direction.IN else False
        else:
            compressed = opcode < 8 and bool(wf.wire[0] & 0x40)
        fields = frame_fields(wf, payload, compressed, automatic, error)
        self._recorder.record(direction, Kind.FRAME, t_ns, wf.wire, payload, fields)

    # -- sending -----------------------------------------------------------------

    def _finish(self, t_ns: int | None, payload: bytes | None = None, user: bool = False) -> bytes:
        """Record what the library queued to write; return it; note EOF and closing."""
        chunks = self._protocol.data_to_send()
        out: list[bytes] = []
        for chunk in chunks:
            if not chunk:
                self.eof_requested = True
                continue
            out.append(chunk)
            wf = parse_frame(chunk)
            if wf is None:
                continue
            body = payload if user and payload is not None and wf.opcode < 8 else None
            self._record_frame(
                Direction.OUT,
                wf,
                wf.unmasked_payload() if body is None else body,
                t_ns,
                automatic=not user,
            )
        if not self._closed_recorded and self._protocol.state is CLOSED:
            self._record_closed(t_ns)
        return b"".join(out)

    def _check_can_send(self, control: bool) -> None:
        state = self._protocol.state
        if state is OPEN or (control and state is CLOSING):
            return
        if not self._handshake_done and state is not CLOSED:
            raise WebSocketSendError("cannot send yet: the WebSocket handshake is not complete")
        raise WebSocketSendError(f"cannot send: the WebSocket connection is {state.name.lower()}")

    def send_text(self, text: str) -> bytes:
        """Send one text message in one frame; return the bytes to write."""
        self._check_can_send(False)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise WebSocketSendError(
                f"the text has a lone surrogate at position {exc.start}, which UTF-8 cannot "
                "encode; send it as binary instead"
            ) from None
        self._protocol.send_text(data)
        return self._finish(None, data, user=True)

    def send_binary(self, data: bytes) -> bytes:
        """Send one binary message in one frame; return the bytes to write."""
        self._check_can_send(False)
        data = bytes(data)
        self._protocol.send_binary(data)
        return self._finish(None, data, user=True)

    def send_ping(self, data: bytes = b"") -> bytes:
        """Send a ping (RFC 6455 §5.5.2); return the bytes to write."""
        return self._send_control(self._protocol.send_ping, bytes(data), "ping")

    def send_pong(self, data: bytes = b"") -> bytes:
        """Send an unsolicited or manual pong (RFC 6455 §5.5.3); return the bytes to write."""
        return self._send_control(self._protocol.send_pong, bytes(data), "pong")

    def _send_control(self, send: Any, data: bytes, what: str) -> bytes:
        self._check_can_send(True)
        if len(data) > 125:
            raise WebSocketSendError(
                f"a {what} payload is limited to 125 bytes (RFC 6455 §5.5), got {len(data)}"
            )
        send(data)
        return self._finish(None, data, user=True)

    def send_close(self, code: int | None = 1000, reason: str = "") -> bytes:
        """Start the closing handshake (RFC 6455 §7.1.2); return the bytes to write."""
        self._check_can_send(False)
        encoded = reason.encode("utf-8")
        if code is None and reason:
            raise WebSocketSendError("a close reason needs a close code")
        if code is not None and not (code in _SENDABLE_CODES or 3000 <= code < 5000):
            raise WebSocketSendError(
                f"close code {code} cannot be sent (RFC 6455 §7.4: use 1000-1003, "
                "1007-1014 or 3000-4999)"
            )
        if len(encoded) > 123:
            raise WebSocketSendError(
                f"a close reason is limited to 123 bytes (RFC 6455 §5.5), got {len(encoded)}"
            )
        self._protocol.send_close(code, reason)
        return self._finish(None, user=True)

    # -- ending ------------------------------------------------------------------

    def _set_failure(self, line: str) -> None:
        if self._failure is None:
            self._failure = line

    def _record_closed(self, t_ns: int | None) -> None:
        """Record how the connection ended, once, when it reaches CLOSED."""
        self._closed_recorded = True
        clean = self.clean_close
        code, reason = self.close_code, self.close_reason
        if self._failure is not None:
            message = self._failure
        else:
            message = f"closed cleanly ({code}{' ' + reason if reason else ''})"
        now = self._recorder.now() if t_ns is None else t_ns
        self._recorder.record(
            Direction.META,
            Kind.CLOSED,
            now,
            b"",
            None,
            {
                "message": message,
                "clean": clean and self._failure is None,
                "close_code": code,
                "close_reason": reason,
                "initiated_by": initiated_by(self._protocol),
                "duration_ns": now - (self._started_ns or 0),
            },
        )


def _plain_frame_size(data: bytes) -> int | None:
    """The wire size of the frame ``data`` starts with (7- or 16-bit unmasked length),
    or None when its header is not whole yet or is not of that kind."""
    if len(data) < 2:
        return None
    length = data[1]
    if length < 126:
        return 2 + length
    if length == 126 and len(data) >= 4:
        return 4 + ((data[2] << 8) | data[3])
    return None


def _worth_carrying(rest: bytes, limit: int | None, deflate: bool = False) -> bool:
    """True when ``rest`` is the unfinished start of what may be a small plain frame."""
    have = len(rest)
    if not have or not (rest[0] in (0x81, 0x82) or (deflate and rest[0] in (0xC1, 0xC2))):
        return False
    if have < 2 or (rest[1] == 126 and have < 4):
        return True  # the length is not here yet
    whole = _plain_frame_size(rest)
    if whole is None:
        return False  # masked, or a 64-bit length: the library's to handle
    length = whole - (2 if rest[1] < 126 else 4)
    return have < whole <= CARRY_MAX and (limit is None or length <= limit)


def _deflate_factory(options: SessionOptions) -> ClientPerMessageDeflateFactory:
    """websockets' permessage-deflate offer for the session's options."""
    level = options.compression_level
    settings = None if level is None else {"level": max(0, min(9, int(level)))}
    if options.deflate_offer is None:
        return ClientPerMessageDeflateFactory(compress_settings=settings)
    try:
        params = parse_deflate_offer(options.deflate_offer)
    except ValueError as exc:
        raise WebSocketSendError(f"invalid permessage-deflate offer: {exc}") from None
    return ClientPerMessageDeflateFactory(**params, compress_settings=settings)
