"""Replay a recorded session: send its outgoing user messages again on a new session.

What is sent again: WebSocket text, binary, ping, pong and close frames as recorded;
TCP/TLS data and framed messages; UDP datagrams. Frames the engine sent by itself
(automatic pongs and close echoes), handshakes and meta records are skipped: the new
session makes its own. Messages go out with their original spacing or back to back.

The target may speak another protocol than the recording. What it can send is decided
before anything is sent (:func:`plan_replay`): text and binary messages go to tcp://,
tls:// and udp:// as the session's plain messages (framed as its options say, or one
datagram each); WebSocket control frames (ping, pong, close) have nothing to stand for
them there and are skipped, counted and named once in an INFO record. A send the session
refuses half-way (a message too long for a length prefix, say) stops the replay with
an INFO record that says why; it never escapes as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import Framing, SessionOptions
from inspector.core.records import Direction, Kind, Record
from inspector.net.factory import CONTROL_ACTIONS, Action, can_send, send_message
from inspector.net.session import Session, SessionState

#: WebSocket opcodes a replay sends again (continuations are part of a message).
_WS_OPCODES = frozenset({"text", "binary", "ping", "pong", "close"})
#: Longest pause kept from the recording, so a session idle for hours replays sensibly.
MAX_GAP_S = 60.0


class Timing(StrEnum):
    """How the replay spaces its messages."""

    ORIGINAL = "original"  # the gaps between the recorded messages
    FAST = "fast"  # as fast as possible


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One message to send again: when (ns after the first one) and how."""

    offset_ns: int
    action: str  # text, binary, ping, pong, close, data or datagram
    payload: bytes
    code: int | None = None
    reason: str = ""


def replay_steps(records: Iterable[Record]) -> list[ReplayStep]:
    """The outgoing user messages of a recorded session, in order."""
    steps: list[ReplayStep] = []
    first: int | None = None
    for record in records:
        if record.direction is not Direction.OUT or record.automatic:
            continue
        step = _step(record)
        if step is None:
            continue
        if first is None:
            first = record.t_ns
        steps.append(ReplayStep(record.t_ns - first, step[0], step[1], step[2], step[3]))
    return steps


def _step(record: Record) -> tuple[str, bytes, int | None, str] | None:
    payload = record.payload if record.payload is not None else record.wire
    if record.kind is Kind.FRAME:
        opcode = str(record.fields.get("opcode", ""))
        if opcode not in _WS_OPCODES or record.fields.get("error"):
            return None
        if opcode == "close":
            code = record.fields.get("close_code")
            reason = record.fields.get("close_reason") or ""
            return "close", b"", code if isinstance(code, int) else 1000, str(reason)
        return opcode, payload, None, ""
    if record.kind is Kind.DATA:
        # An empty DATA record never went on the wire (older versions recorded empty
        # sends on a stream): there is nothing to send again.
        data = record.wire or payload
        return ("data", data, None, "") if data else None
    if record.kind is Kind.MESSAGE:
        # A line goes out exactly as recorded (its terminator, "\n" or "\r\n", is kept
        # by the framer); a length-prefixed message gets its prefix again from the body.
        lines = record.fields.get("framing") == "lines"
        return "data", record.wire if lines and record.wire else payload, None, ""
    if record.kind is Kind.DATAGRAM:
        return "datagram", payload, None, ""
    return None


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What a replay to one target will send, decided before anything is sent."""

    steps: tuple[ReplayStep, ...]
    skipped: int  # WebSocket control frames the target has nothing for
    note: str | None  # one line naming what is skipped and why, or None


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """How a replay went: ``sent`` of ``total`` steps, what was skipped, why it stopped."""

    sent: int
    total: int
    skipped: int = 0
    note: str | None = None
    stopped: str | None = None  # why a send was refused half-way, if one was

    def summary(self, url: str) -> str:
        """One line for a person: how many messages went, and the notes."""
        parts = [f"Replayed {self.sent} of {self.total} message(s) to {url}"]
        parts += [text for text in (self.note, self.stopped) if text]
        return "; ".join(parts)


def plan_replay(steps: Iterable[ReplayStep], endpoint: Endpoint) -> ReplayPlan:
    """The steps a session to ``endpoint`` can send, and a note on the ones it cannot."""
    kept: list[ReplayStep] = []
    skipped: dict[Action, int] = {}
    for step in steps:
        if can_send(endpoint, step.action):
            kept.append(step)
        else:
            action = Action(step.action)
            skipped[action] = skipped.get(action, 0) + 1
    count = sum(skipped.values())
    if not count:
        return ReplayPlan(tuple(kept), 0, None)
    names = [f"{action}s" for action in Action if action in CONTROL_ACTIONS and action in skipped]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    frames = "control frame" if count == 1 else "control frames"
    note = f"{count} {frames} skipped: {endpoint.scheme}:// has no {listed}"
    return ReplayPlan(tuple(kept), count, note)


def send_step(session: Session, step: ReplayStep) -> None:
    """Send one step on ``session`` (raises what the session's send raises)."""
    send_message(session, step.action, step.payload, step.code, step.reason)


async def run_replay(
    session: Session,
    steps: list[ReplayStep],
    timing: Timing = Timing.ORIGINAL,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send what ``session`` can of ``steps`` (:func:`plan_replay`); never raises for a
    send the session refuses: the replay stops and an INFO record says why."""
    plan = plan_replay(steps, session.endpoint)
    if plan.note is not None:
        _note(session, f"replay: {plan.note}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    stopped: str | None = None
    for step in plan.steps:
        if timing is Timing.ORIGINAL:
            due = started + min(step.offset_ns / 1e9, MAX_GAP_S * (sent + 1))
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)
        if session.state is not SessionState.OPEN:
            break
        try:
            send_step(session, step)
        except (InspectorError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            stopped = f"stopped at message {sent + 1}: {reason}"
            _note(session, f"replay {stopped}")
            break
        sent += 1
        if progress is not None:
            progress(sent)
    return ReplayResult(sent, len(steps), plan.skipped, plan.note, stopped)


def _note(session: Session, message: str) -> None:
    """An INFO record in the replaying session, unless it has already ended."""
    if not session.ended:
        session.recorder.record(Direction.META, Kind.INFO, fields={"message": message})


def options_from_mapping(stored: Mapping[str, Any] | None) -> SessionOptions:
    """Session options as a capture stores them (JSON), back as SessionOptions.

    Unknown or ill-typed values keep their defaults: the file may be old or hostile.
    """
    defaults = SessionOptions()
    if not isinstance(stored, Mapping):
        return defaults
    values: dict[str, Any] = {}
    for item in fields(SessionOptions):
        if item.name not in stored:
            continue
        value = stored[item.name]
        default = getattr(defaults, item.name)
        if item.name in ("headers", "speak_options") and isinstance(value, list | tuple):
            pairs = [
                (str(pair[0]), str(pair[1]))
                for pair in value
                if isinstance(pair, list | tuple) and len(pair) == 2
            ]
            values[item.name] = tuple(pairs)
        elif item.name == "subprotocols" and isinstance(value, list | tuple):
            values[item.name] = tuple(str(v) for v in value)
        elif item.name == "framing":
            try:
                values[item.name] = Framing(str(value))
            except ValueError:
                continue
        elif isinstance(default, bool):
            if isinstance(value, bool):
                values[item.name] = value
        elif isinstance(default, int | float) or default is None:
            if value is None or (
                isinstance(value, int | float | str) and not isinstance(value, bool)
            ):
                values[item.name] = value
        elif isinstance(default, str) and isinstance(value, str):
            values[item.name] = value
    try:
        return SessionOptions(**values)
    except (TypeError, ValueError):
        return defaults
