"""The records one WebSocket connection makes, and the inbound messages they complete.

The connection engine decides what happened; this module turns it into records (frame,
handshake, error) with the fields docs/internals.md lists, and keeps the queue of
completed messages a consumer may take.
"""

from __future__ import annotations

from typing import Any

from websockets.frames import BINARY, CONT, TEXT, Frame
from websockets.http11 import Request

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.protocols.messages import MessageQueue
from inspector.protocols.wireframes import WireFrame, opcode_name, parse_frame
from inspector.protocols.wsfast import FastTake
from inspector.protocols.wsfields import frame_fields


def request_fields(request: Request) -> dict[str, Any]:
    """The fields of an upgrade request's HANDSHAKE record, headers in wire order."""
    return {
        "method": "GET",
        "target": request.path,
        "headers": [[k, v] for k, v in request.headers.raw_items()],
    }


PING_OPCODE, PONG_OPCODE = 0x9, 0xA
#: Pings remembered while waiting for their pongs (the oldest forgotten first).
MAX_PENDING_PINGS = 256
#: Round trips kept for the summary (a day of pings every second is far fewer).
MAX_RTTS = 100_000


class WsRecords:
    """Makes the records of one connection; assembles the inbound messages."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        #: Whether the data frame a continuation continues was compressed (RSV1).
        self._in_compressed = False
        self._parts: list[bytes] = []
        self._part_kind = "binary"
        self.messages = MessageQueue()
        self.messages_in = 0
        #: Queue completed messages for the consumer; off when nobody takes them.
        self.keep_messages = True
        #: Pings sent and not yet answered: payload -> the ping record's time, so the
        #: pong that echoes a payload gets the round trip (``rtt_ns``) as a field.
        self.pings: dict[bytes, int] = {}
        #: Every round trip measured, in order (ns).
        self.rtts: list[int] = []

    # -- handshake and errors ----------------------------------------------------

    def handshake(
        self,
        direction: Direction,
        t_ns: int | None,
        wire: bytes,
        fields: dict[str, Any],
        body: bytes | None = None,
    ) -> int:
        """Record one side of the upgrade (RFC 6455 §4); return the record's time."""
        return self.recorder.record(direction, Kind.HANDSHAKE, t_ns, wire, body, fields).t_ns

    def error(
        self,
        line: str,
        t_ns: int,
        wire: bytes = b"",
        phase: str = "session",
        close_code: int | None = None,
        answered: int | None = None,
    ) -> None:
        """Record an ERROR with the bytes that caused it (inbound), or none (meta);
        ``answered`` is the HTTP status a server sent back for them."""
        fields: dict[str, Any] = {"message": line}
        if close_code is not None:
            fields["close_code"] = close_code
        if answered is not None:
            fields["answered_status"] = answered
        fields["phase"] = phase
        direction = Direction.IN if wire else Direction.META
        self.recorder.record(direction, Kind.ERROR, t_ns, wire, None, fields)

    # -- frames ------------------------------------------------------------------

    def frame(
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
        if opcode == PONG_OPCODE and direction is Direction.IN and payload in self.pings:
            sent = self.pings.pop(payload)
            now = self.recorder.now() if t_ns is None else t_ns
            fields = {**fields, "rtt_ns": now - sent}
            if len(self.rtts) < MAX_RTTS:
                self.rtts.append(now - sent)
        record = self.recorder.record(direction, Kind.FRAME, t_ns, wf.wire, payload, fields)
        if opcode == PING_OPCODE and direction is Direction.OUT and error is None:
            if len(self.pings) >= MAX_PENDING_PINGS:
                self.pings.pop(next(iter(self.pings)))
            self.pings[payload] = record.t_ns

    def inbound(self, wf: WireFrame, frame: Frame, t_ns: int) -> None:
        """Record one accepted inbound frame and collect the messages it completes."""
        data = frame.data
        payload = data if type(data) is bytes else bytes(data)
        opcode = frame.opcode
        if opcode is TEXT or opcode is BINARY:
            self._in_compressed = wf.rsv1
            if frame.fin:
                if self.keep_messages:
                    self.messages.append("text" if opcode is TEXT else "binary", payload)
                self.messages_in += 1
            else:
                self._part_kind = "text" if opcode is TEXT else "binary"
                self._parts = [payload]
        elif opcode is CONT:
            self._parts.append(payload)
            if frame.fin:
                if self.keep_messages:
                    self.messages.append(self._part_kind, b"".join(self._parts))
                self._parts = []
                self.messages_in += 1
        self.frame(Direction.IN, wf, payload, t_ns)

    def plain(self, take: FastTake, t_ns: int) -> None:
        """Record the plain frames the receive fast path took, and their messages."""
        self._in_compressed = take.last_compressed
        self.messages_in += take.count
        if take.messages:
            self.messages.extend(take.messages, take.size)
        if take.run is not None:
            self.recorder.record_run(
                Direction.IN, Kind.FRAME, t_ns, take.run, take.count, take.framing
            )
        else:
            self.recorder.record_many(Direction.IN, Kind.FRAME, t_ns, take.items)

    def untapped(self, frame: Frame, t_ns: int) -> None:
        """Record an event the tap has no bytes for (it lost the stream); never expected."""
        self.recorder.record(
            Direction.IN,
            Kind.FRAME,
            t_ns,
            b"",
            bytes(frame.data),
            {
                "opcode": opcode_name(frame.opcode),
                "opcode_value": int(frame.opcode),
                "fin": frame.fin,
                "error": "the frame's bytes could not be followed on the wire",
            },
        )

    def sent_plain(self, wire: bytes, header_len: int, payload: bytes) -> None:
        """Record a whole unmasked text or binary frame framed without the library (the
        same record :meth:`outbound` makes of it; while the recorder gathers the answers
        to a read, as part of their run)."""
        if header_len <= 4 and self.recorder.gather(wire):
            return
        wf = WireFrame(wire, header_len, len(payload))
        fields = frame_fields(wf, payload, False, False)
        self.recorder.record(Direction.OUT, Kind.FRAME, None, wire, payload, fields)

    def outbound(
        self,
        chunks: list[bytes],
        t_ns: int | None,
        payload: bytes | None,
        user: bool,
        automatic: bool = False,
    ) -> bytes:
        """Record the frames about to be written; return them joined.

        ``user`` False marks them as the library's automatic answers (pong, close echo);
        a user's data or control frame is recorded with ``payload`` (the message before
        compression) when given; ``automatic`` marks such a frame as sent by the engine
        all the same (a protocol client's opening or keep-alive).
        """
        for chunk in chunks:
            wf = parse_frame(chunk)
            if wf is None:
                continue
            body = payload if user and payload is not None and wf.opcode < 8 else None
            self.frame(
                Direction.OUT,
                wf,
                wf.unmasked_payload() if body is None else body,
                t_ns,
                automatic=automatic or not user,
            )
        return b"".join(chunks)
