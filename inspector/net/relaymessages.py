"""A relay pair, message by message: intercept, rules and injection on tcp/tls and ws/wss.

:class:`PairMessages` is the half of :class:`~inspector.net.relaypair.StreamPair` that
works on whole messages instead of bytes, and the :class:`~inspector.net.intercept.
InterceptPort` the pair gives its relay's :class:`~inspector.net.intercept.Interceptor`.

tcp/tls: a read the interceptor holds is recorded at once (``intercept``: its id,
``forwarded: false``) and sent on when the user forwards or edits it.

ws/wss: a direction stays transparent (bytes forwarded unchanged) until something needs
its messages — rules that cover it, the intercept switch turned on for it, a message
injected into it. At the next message boundary the relay then *terminates* that
direction: it reads whole messages (inflated with the sender's context, fragments
joined) and frames each one anew towards the receiver, as a client towards the
upstream (masked) and as a server towards the client, compressing with its own
permessage-deflate context under the parameters both sides agreed. An edit, a drop or
an injected message so never corrupts a compression context (a fresh compressor's
output is valid in a receiver's ongoing one). Once terminated a direction stays so.
What arrived is recorded as it crossed the wire (``reframed: true``, and
``intercept`` / ``rule`` / ``forwarded: false`` where they apply); what the relay sent
on is a frame record with ``injected: true`` and ``relayed`` (forwarded, edited,
injected, rule). Control frames (ping, pong, close) are framed anew and sent on at
once, except a close frame read while messages its sender sent before it are held: it
waits until they are forwarded or dropped, so the order each side sent in is kept. A
data message after the close of its direction is dropped with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.rules import Step
from inspector.net.intercept import HeldMessage, Interceptor, MessageKind, Way
from inspector.net.relayfaults import Fate, Shaper
from inspector.net.relaylegs import ARROWS, PairCommon, PairState, Side
from inspector.net.relayrules import RelayRules, perform
from inspector.net.relaytap import DeflateAgreement, FrameTap
from inspector.protocols.decoders.registry import DecodeContext
from inspector.protocols.ending import Initiator
from inspector.protocols.wireframes import WireFrame, parse_frame
from inspector.protocols.wsfields import frame_fields

#: Bytes of held messages one direction may keep before its reads pause (bounded memory).
HOLD_LIMIT = 4 << 20
#: The largest WebSocket message the relay joins whole to frame it anew.
MAX_MESSAGE = 64 << 20
#: Seconds the peers have to end their connections after the relay's close frames.
CLOSE_GRACE = 5.0

_WS_KINDS = frozenset({MessageKind.TEXT, MessageKind.BINARY})
_STREAM_KINDS = frozenset({MessageKind.DATA})
_OPCODES = {MessageKind.TEXT: 1, MessageKind.BINARY: 2}


def _checked_control(opcode: int, wf: WireFrame, payload: bytes, sender: str) -> bytes:
    """A control frame's payload once it is one an endpoint accepts (RFC 6455 §5.5)."""
    if opcode > 10:
        raise Violation(1002, f"reserved opcode {opcode} from the {sender} (RFC 6455 §5.2)")
    if not wf.fin or wf.payload_len > 125 or wf.rsv1:
        raise Violation(1002, f"a fragmented, compressed or long control frame from the {sender}")
    if opcode == 8:
        try:
            Close.parse(payload)
        except UnicodeDecodeError:
            raise Violation(1007, f"the {sender}'s close reason is not UTF-8") from None
        except ProtocolError as exc:
            raise Violation(1002, f"the {sender}'s close frame: {exc}") from None
    return payload


def _close_body(code: int, reason: str) -> bytes:
    """A close frame's payload: the code (RFC 6455 §5.5.1) and the UTF-8 reason."""
    cut = reason.encode("utf-8")[:123].decode("utf-8", errors="ignore")  # whole characters
    return code.to_bytes(2, "big") + cut.encode("utf-8")


def way_of(side: Side) -> Way:
    """The way of what leg ``side`` reads: the client's reads go c2s."""
    return Way.C2S if side is Side.CLIENT else Way.S2C


def side_of(way: Way) -> Side:
    """The leg that reads the messages going ``way``."""
    return Side.CLIENT if way is Way.C2S else Side.UPSTREAM


class Violation(ValueError):
    """A frame a WebSocket endpoint must refuse (RFC 6455 §5): the close ``code`` to
    answer with and, as ``str()``, one line saying why."""

    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code


class Reframer:
    """One terminated direction of a relayed WebSocket: frames in, checked as an endpoint
    checks them, whole messages out, and each message sent on framed anew (masked
    towards the server)."""

    def __init__(self, to_server: bool, agreement: DeflateAgreement | None) -> None:
        self.to_server = to_server
        self.encoder = agreement.encoder(to_server) if agreement is not None else None
        self._parts: list[bytes] = []
        self._size = 0
        self._opcode = 0
        self._in_message = False
        #: A close frame went on: no data message may follow it (RFC 6455 §5.5.1).
        self.closed = False
        #: The sender broke the protocol: nothing more of it is sent on.
        self.broken = False

    def take(self, wf: WireFrame, payload: bytes) -> tuple[int, bytes] | None:
        """One arrived frame (payload inflated): a whole message or control frame as
        (opcode, payload), or None while a fragmented message is unfinished; Violation
        for a frame an endpoint must refuse or a message over :data:`MAX_MESSAGE`."""
        opcode = wf.opcode
        sender = "client" if self.to_server else "server"
        if wf.rsv2 or wf.rsv3:
            raise Violation(1002, f"the {sender} set reserved bits RSV2/RSV3 (RFC 6455 §5.2)")
        if wf.masked != self.to_server:
            how = "an unmasked" if self.to_server else "a masked"
            raise Violation(1002, f"{how} frame from the {sender} (RFC 6455 §5.1)")
        if opcode >= 8:
            return opcode, _checked_control(opcode, wf, payload, sender)
        if opcode not in (0, 1, 2):
            raise Violation(1002, f"reserved opcode {opcode} from the {sender} (RFC 6455 §5.2)")
        if wf.rsv1 and (self.encoder is None or opcode == 0):
            where = "on a continuation frame" if opcode == 0 else "without permessage-deflate"
            raise Violation(1002, f"RSV1 {where} from the {sender} (RFC 7692 §6)")
        if opcode == 0 and not self._in_message:
            raise Violation(
                1002, f"a continuation frame from the {sender} with no message under way"
            )
        if opcode != 0 and self._in_message:
            raise Violation(1002, f"a new message from the {sender} before the last one ended")
        if opcode != 0:
            self._opcode = opcode
            self._parts = []
            self._size = 0
            self._in_message = True
        self._size += len(payload)
        if self._size > MAX_MESSAGE:
            raise Violation(1009, f"a message over {MAX_MESSAGE >> 20} MiB cannot be held whole")
        self._parts.append(payload)
        if not wf.fin:
            return None
        whole = b"".join(self._parts)
        self._parts = []
        self._in_message = False
        if self._opcode == 1:
            try:
                whole.decode("utf-8")
            except UnicodeDecodeError:
                raise Violation(1007, f"a text message from the {sender} is not UTF-8") from None
        return self._opcode, whole

    def frame(self, opcode: int, payload: bytes) -> tuple[bytes, WireFrame, bool]:
        """The wire bytes of one message or control frame, its parsed frame, and
        whether it was compressed."""
        extensions = [self.encoder] if self.encoder is not None and opcode < 8 else None
        wire = Frame(Opcode(opcode), payload, True).serialize(
            mask=self.to_server, extensions=extensions
        )
        if opcode == 8:
            self.closed = True
        wf = parse_frame(wire)
        assert wf is not None
        return wire, wf, extensions is not None


class PairMessages(PairCommon):
    """Message-mode relaying and the InterceptPort, over the state a StreamPair keeps."""

    recorder: Recorder
    number: int
    peer: str
    state: PairState
    websocket: bool
    refused: bool
    config: Any
    initiated_by: Initiator
    failure: str | None
    _legs: dict[Side, Any]
    _eof: dict[Side, bool]
    _taps: dict[Side, FrameTap | None]
    _shapers: dict[Side, Shaper | None]
    _interceptor: Interceptor | None
    _reframers: dict[Side, Reframer | None]
    _pending: dict[Side, list[tuple[int, bytes, dict[str, Any]]]]
    _agreement: DeflateAgreement | None
    _context: DecodeContext
    _watch: bool
    _early_messages: bool
    _request_target: str

    def _init_messages(self) -> None:
        self._interceptor = self.config.intercept
        #: Messages may be needed (intercept or rules): the relay then looks at each
        #: read (WebSocket: for message boundaries); without, it stays transparent.
        self._watch = self._interceptor is not None or self.config.rules is not None
        self._reframers = {Side.CLIENT: None, Side.UPSTREAM: None}
        self._pending = {Side.CLIENT: [], Side.UPSTREAM: []}
        self._agreement = None
        self._early_messages = False
        self._held_bytes = {Side.CLIENT: 0, Side.UPSTREAM: 0}
        self._held_sizes: dict[int, tuple[Side, int]] = {}
        #: A close frame read while messages read before it on that side are held: sent
        #: on once they are forwarded or dropped, so the close does not overtake them.
        self._closes: dict[Side, tuple[bytes, dict[str, Any]] | None] = {
            Side.CLIENT: None,
            Side.UPSTREAM: None,
        }
        self._request_target = ""
        up = self.config.upstream
        self._context = DecodeContext(scheme=up.scheme, host=up.host, port=up.port)

    # -- InterceptPort -------------------------------------------------------------

    @property
    def kinds(self) -> frozenset[MessageKind]:
        return _WS_KINDS if self.websocket else _STREAM_KINDS

    @property
    def alive(self) -> bool:
        if self.ended or self.state is not PairState.OPEN or self.refused:
            return False
        return not self.websocket or self._taps[Side.CLIENT] is not None

    def decode_context(self) -> DecodeContext:
        return self._context

    def send_on(
        self, way: Way, payload: bytes, kind: MessageKind, fields: dict[str, Any]
    ) -> str | None:
        """Send a message on (forwarded, edited or injected); None, or why it cannot."""
        if not self.alive:
            return "the connection ended"
        held = fields.get("intercept")
        if isinstance(held, int):
            self._release_held(held)
        side = side_of(way)
        if self._eof[side]:  # that way's leg was half-closed: nothing can be written
            return (
                f"the {side.peer_name} half-closed the connection: nothing more goes "
                f"to the {side.other.peer_name}"
            )
        if not self.websocket:
            self._forward_chunk(side, payload, {"injected": True, **fields})
            self._after_held(side)
            return None
        why = self._send_or_pend(side, _OPCODES[kind], payload, fields)
        self._after_held(side)
        return why

    def _send_or_pend(
        self, side: Side, opcode: int, payload: bytes, fields: dict[str, Any]
    ) -> str | None:
        """Send a message the way ``side`` reads, once that direction is terminated (at
        its next message boundary when a message is under way); None, or why not."""
        reframer = self._reframers[side]
        if reframer is None:
            tap = self._taps[side]
            if tap is None or not tap.at_message_boundary:
                self._pending[side].append((opcode, payload, fields))
                return None
            reframer = self._terminate(side)
        if reframer.closed:
            return f"the {side.peer_name} closed the WebSocket"
        self._send_message(side, opcode, payload, fields)
        return None

    def dropped(self, message: HeldMessage, reason: str) -> None:
        self._release_held(message.id)
        self._note_dropped(message, reason)
        self._after_held(side_of(message.way))

    def _holds(self, side: Side) -> bool:
        """True while a message read on ``side`` is held."""
        return any(s is side for s, _size in self._held_sizes.values())

    def _after_held(self, side: Side) -> None:
        """Once no message read on ``side`` is held any more, send on the close frame
        its peer sent after them (WebSocket)."""
        if not self._holds(side):
            self._send_waiting_close(side)

    def _before_eof(self, side: Side) -> None:
        """``side``'s peer half-closed: a close frame of its that waits for held messages
        goes on now, before the EOF (those messages can no longer follow it)."""
        self._send_waiting_close(side)

    def _send_waiting_close(self, side: Side) -> None:
        waiting = self._closes[side]
        if waiting is None or self.ended:
            return
        self._closes[side] = None
        reframer = self._reframers[side]
        if reframer is not None and not reframer.closed:
            self._send_message(side, 8, *waiting)

    def _lose_pending(self, why: str) -> None:
        """The pair ends with messages still waiting for their direction's message
        boundary: each is one INFO line (``not_sent``) and one line to the observers."""
        for side in (Side.CLIENT, Side.UPSTREAM):
            pending, self._pending[side] = self._pending[side], []
            for opcode, payload, fields in pending:
                if opcode == 8:
                    continue  # a close frame: the connection ends anyway
                held = fields.get("intercept")
                relayed = fields.get("relayed")
                what = (
                    f"held message #{held} ({relayed})"
                    if isinstance(held, int)
                    else "a rule's answer"
                    if relayed == "rule"
                    else "an injected message"
                )
                line = (
                    f"{what} {ARROWS[side]} ({len(payload)} B) was not sent: {why} while "
                    f"a message from the {side.peer_name} was still under way"
                )
                self.recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={
                        "message": line,
                        "not_sent": True,
                        "relayed": relayed,
                        "size": len(payload),
                        "leg": str(side),
                    },
                )
                if self._interceptor is not None:
                    self._interceptor.lost(self.number, way_of(side), line)

    # -- held bytes ----------------------------------------------------------------

    def _note_held(self, side: Side, held: int, size: int) -> None:
        """A message read on ``side`` is held: pause that leg past :data:`HOLD_LIMIT`."""
        self._held_sizes[held] = (side, size)
        before = self._held_bytes[side]
        self._held_bytes[side] = before + size
        if before <= HOLD_LIMIT < before + size:
            self._hold_reads(side, True)

    def _release_held(self, held: int) -> None:
        found = self._held_sizes.pop(held, None)
        if found is None:
            return
        side, size = found
        before = self._held_bytes[side]
        self._held_bytes[side] = before - size
        if before > HOLD_LIMIT >= before - size:
            self._hold_reads(side, False)

    def _hold_reads(self, side: Side, paused: bool) -> None:
        name = side.peer_name
        message = (
            f"held messages from the {name} passed {HOLD_LIMIT >> 20} MiB: pausing its reads"
            if paused
            else f"held messages from the {name} are under {HOLD_LIMIT >> 20} MiB: reading again"
        )
        self._note_backed_up(side, paused, message)
        self._set_reading(side, "intercept", not paused)

    def _set_reading(self, side: Side, reason: str, on: bool) -> None:
        raise NotImplementedError

    # -- tcp/tls -----------------------------------------------------------------------

    def _ruled(self, side: Side, data: bytes, t_ns: int, rules: RelayRules) -> bool:
        """True when a rule took this read (recorded, not forwarded, its steps done)."""
        steps = rules.steps(side is Side.CLIENT, self.number, data)
        if not steps:
            return False
        fields = {"rule": steps[0].rule, "forwarded": False}
        self.recorder.record(side.direction, Kind.DATA, t_ns, data, data, fields)
        self._perform(side, steps, Kind.DATA, self._writer(side))
        return True

    def _perform(
        self,
        side: Side,
        steps: list[Step],
        kind: Kind,
        answer: Callable[[bytes], None],
        answer_step: Callable[[Step], None] | None = None,
        close_step: Callable[[Step], None] | None = None,
    ) -> None:
        """Do the steps of a rule that took a message read on ``side``."""

        def close() -> None:
            self.initiated_by = Initiator.RELAY
            self._close_both()

        perform(
            steps,
            c2s=side is Side.CLIENT,
            recorder=self.recorder,
            kind=kind,
            answer=answer,
            close=close,
            reset=self._rule_reset,
            alive=lambda: not self.ended,
            answer_step=answer_step,
            close_step=close_step,
        )

    def _writer(self, side: Side) -> Callable[[bytes], None]:
        raise NotImplementedError

    def _held_read(self, side: Side, data: bytes, t_ns: int) -> bool:
        """True when the interceptor holds this read (recorded, not forwarded)."""
        assert self._interceptor is not None
        held = self._interceptor.offer(self.number, way_of(side), data, MessageKind.DATA)
        if held is None:
            return False
        self._note_held(side, held, len(data))
        fields = {"intercept": held, "forwarded": False}
        self.recorder.record(side.direction, Kind.DATA, t_ns, data, data, fields)
        return True

    def _forward_chunk(self, side: Side, data: bytes, fields: dict[str, Any]) -> None:
        """Send ``data`` read on ``side`` (or made by the relay) to the other leg and
        record it with ``fields``."""
        more = self._write_on(side, data, False)
        if more:
            fields = {**fields, **more}
        self.recorder.record(side.direction, Kind.DATA, None, data, data, fields)

    def _write_on(self, side: Side, data: bytes, message: bool) -> dict[str, Any] | None:
        """Write to the leg opposite ``side`` through its shaper; the fault fields."""
        shaper = self._shapers[side]
        if shaper is None:
            other = self._legs[side.other]
            if other is not None and not other.is_closing():
                other.write(data)
            return None
        decision = shaper.push(data, message)
        if decision.fate is Fate.CUT:
            self._cut(side, decision)
        return decision.fields()

    def _cut(self, side: Side, decision: Any) -> None:
        raise NotImplementedError

    # -- ws/wss --------------------------------------------------------------------

    def _upgraded(
        self, agreement: DeflateAgreement | None, target: str, subprotocol: str | None
    ) -> None:
        """The upgrade was accepted: note what the re-framing and the filter need."""
        self._agreement = agreement
        up = self.config.upstream
        self._context = DecodeContext(
            scheme=up.scheme, host=up.host, port=up.port, target=target, subprotocol=subprotocol
        )

    def _wants_messages(self, side: Side) -> bool:
        """True when a transparent direction should be terminated at its next boundary:
        rules (which answer either way), a message waiting, or the intercept switch."""
        interceptor = self._interceptor
        return (
            self.config.rules is not None
            or bool(self._pending[side])
            or (interceptor is not None and interceptor.wants(way_of(side)))
        )

    def _terminate(self, side: Side) -> Reframer:
        """Read ``side``'s messages whole from now on and frame them anew."""
        reframer = Reframer(side is Side.CLIENT, self._agreement)
        self._reframers[side] = reframer
        self._note(
            side, "messages are framed anew by the relay from here", reframed=True, leg=str(side)
        )
        pending, self._pending[side] = self._pending[side], []
        for opcode, payload, fields in pending:
            if reframer.closed:
                self._drop_after_close(side)
                continue
            self._send_message(side, opcode, payload, fields)
        return reframer

    def _after_transparent_read(self, side: Side) -> None:
        """A transparent read was forwarded: terminate now if it ended on a boundary
        and something waits for this direction's messages."""
        tap = self._taps[side]
        if tap is not None and tap.at_message_boundary and self._wants_messages(side):
            self._terminate(side)

    def _terminated_read(self, side: Side, data: bytes, t_ns: int) -> None:
        """One read of a terminated direction: record what arrived, then act per message."""
        tap = self._taps[side]
        reframer = self._reframers[side]
        assert tap is not None and reframer is not None
        frames = tap.frames(data)
        decoded = tap.decode(frames)
        extras: list[dict[str, Any] | None] = []
        actions: list[tuple[int, bytes, Any]] = []
        violation: Violation | None = None
        if tap.parser.error is not None and not reframer.broken:
            violation = Violation(1002, f"the {side.peer_name}'s {tap.parser.error}")
        for wf, (payload, _compressed, error) in zip(frames, decoded, strict=True):
            extra: dict[str, Any] = {"reframed": True}
            extras.append(extra)
            if violation is not None or reframer.broken:
                continue
            try:
                if error is not None:
                    raise Violation(1007, f"the {side.peer_name}'s message: {error}")
                message = reframer.take(wf, payload)
            except Violation as exc:
                violation = exc
                continue
            if message is None:
                continue
            opcode, body = message
            if opcode in (1, 2):
                action = self._decide(side, opcode, body, extra)
                if action is not None:
                    actions.append((opcode, body, action))
            else:
                actions.append((opcode, body, {"relayed": "forwarded"}))
        tap.record(frames, t_ns, extras, decoded)
        for opcode, body, action in actions:
            if isinstance(action, list):
                self._perform_rule(side, action)
            elif reframer.closed or self._closes[side] is not None:
                if opcode < 8:  # nothing follows a close (RFC 6455 §5.5.1)
                    self._drop_after_close(side)
            elif opcode == 8 and self._holds(side):
                self._closes[side] = (body, action)  # after the held messages
                self._note_close_waits(side)
            else:
                self._send_message(side, opcode, body, action)
        if violation is not None:
            self._violated(side, violation, t_ns)

    def _decide(self, side: Side, opcode: int, body: bytes, extra: dict[str, Any]) -> Any:
        """A whole data message: rule steps (a list), fields to send it on with, or None
        when it is held."""
        rules: RelayRules | None = self.config.rules
        c2s = side is Side.CLIENT
        if rules is not None:
            steps = rules.steps(c2s, self.number, body, opcode == 1)
            if steps:
                extra.update(rule=steps[0].rule, forwarded=False)
                return steps
        if self._interceptor is not None:
            kind = MessageKind.TEXT if opcode == 1 else MessageKind.BINARY
            held = self._interceptor.offer(self.number, way_of(side), body, kind)
            if held is not None:
                self._note_held(side, held, len(body))
                extra.update(intercept=held, forwarded=False)
                return None
        return {"relayed": "forwarded"}

    def _send_message(
        self, side: Side, opcode: int, payload: bytes, fields: dict[str, Any]
    ) -> None:
        """Frame a message anew and send it to the leg opposite ``side``; record it."""
        reframer = self._reframers[side]
        assert reframer is not None
        wire, wf, compressed = reframer.frame(opcode, payload)
        more = self._write_on(side, wire, opcode < 8)
        record = {**frame_fields(wf, payload, compressed, False), "injected": True, **fields}
        if more:
            record.update(more)
        self.recorder.record(side.direction, Kind.FRAME, None, wire, payload, record)

    def _note(self, side: Side, what: str, **fields: Any) -> None:
        """An INFO line about the way ``side`` reads: "client → server: ``what``"."""
        message = f"{ARROWS[side]}: {what}"
        self.recorder.record(Direction.META, Kind.INFO, fields={"message": message, **fields})

    def _note_close_waits(self, side: Side) -> None:
        what = f"the {side.peer_name}'s close waits for the messages held before it"
        self._note(side, what, leg=str(side))

    def _drop_after_close(self, side: Side) -> None:
        what = f"a message after the {side.peer_name}'s close is not sent on"
        self._note(side, what, dropped=True)

    def _perform_rule(self, side: Side, steps: list[Step]) -> None:
        """A rule took a WebSocket message: answer the sender, or close or reset."""
        back = side.other  # the leg whose reads go towards the sender

        def answer(step: Step) -> None:
            fields = {"relayed": "rule", "rule": step.rule}
            if self._send_or_pend(back, 1 if step.text else 2, step.data, fields) is not None:
                self._drop_after_close(back)

        def close_step(step: Step) -> None:
            """Close both WebSockets with the rule's code and reason; each peer then
            ends its TCP connection as the closing handshake says."""
            self.initiated_by = Initiator.RELAY
            body = _close_body(step.close_code or 1000, step.close_reason)
            for leg in (Side.CLIENT, Side.UPSTREAM):
                if self._send_or_pend(leg, 8, body, {"relayed": "rule", "rule": step.rule}):
                    self._close_both()

        self._perform(side, steps, Kind.FRAME, lambda _data: None, answer, close_step)

    def _rule_reset(self) -> None:
        raise NotImplementedError

    def _close_both(self) -> None:
        raise NotImplementedError

    def _violated(self, side: Side, violation: Violation, t_ns: int) -> None:
        """The peer of ``side`` broke the protocol: recorded, both sides get a close frame
        with the code an endpoint answers (the rest of that peer's frames are not sent
        on), and the legs close once the peers end them (or after a grace period)."""
        reframer = self._reframers[side]
        assert reframer is not None
        reframer.broken = True
        line = str(violation)
        self.recorder.record(
            Direction.META,
            Kind.ERROR,
            t_ns,
            fields={"message": line, "phase": "session", "close_code": violation.code},
        )
        self.failure = self.failure or line
        self.initiated_by = side.peer_name
        body = _close_body(violation.code, line)
        fields = {"relayed": "violation"}
        if not reframer.closed:
            self._send_message(side, 8, body, fields)
        back = self._reframers[side.other]
        if back is None or not back.closed:
            self._send_or_pend(side.other, 8, body, fields)
        loop = asyncio.get_running_loop()
        loop.call_later(CLOSE_GRACE, lambda: None if self.ended else self._close_both())
