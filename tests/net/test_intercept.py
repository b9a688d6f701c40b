"""The intercept queue on its own: switch, filter, hold, forward, edit, drop, inject, end."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.net.intercept import (
    HeldMessage,
    InterceptError,
    InterceptMode,
    InterceptObserver,
    Interceptor,
    MessageFilterError,
    MessageKind,
    Outcome,
    Resolution,
    Way,
)
from inspector.protocols.decoders.registry import DecodeContext


class Pipe:
    """An in-memory connection end: keeps what the interceptor sends on and drops."""

    def __init__(self, kinds: frozenset[MessageKind] = frozenset({MessageKind.DATA})) -> None:
        self.kinds = kinds
        self.peer = "127.0.0.1:5000"
        self.alive = True
        self.sent: list[tuple[Way, bytes, MessageKind, dict[str, Any]]] = []
        self.drops: list[tuple[int, str]] = []

    def send_on(
        self, way: Way, payload: bytes, kind: MessageKind, fields: dict[str, Any]
    ) -> str | None:
        if payload == b"refuse me":
            return "the client closed the WebSocket"
        self.sent.append((way, payload, kind, fields))
        return None

    def dropped(self, message: HeldMessage, reason: str) -> None:
        self.drops.append((message.id, reason))

    def decode_context(self) -> DecodeContext:
        return DecodeContext(scheme="ws")


class Seen(InterceptObserver):
    """Every event an observer gets, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def held(self, message: HeldMessage) -> None:
        self.events.append(("held", message.id))

    def resolved(self, resolution: Resolution) -> None:
        self.events.append(("resolved", (resolution.message.id, resolution.outcome)))

    def injected(self, conn: int, way: Way, payload: bytes, kind: MessageKind) -> None:
        self.events.append(("injected", (conn, way, payload)))

    def switched(self, mode: InterceptMode, expression: str) -> None:
        self.events.append(("switched", (mode, expression)))


def make(mode: str = "both", expression: str = "") -> tuple[Interceptor, Pipe, Seen]:
    interceptor = Interceptor(InterceptMode(mode), expression, clock=lambda: 42)
    pipe = Pipe()
    interceptor.attach(1, pipe)
    seen = Seen()
    interceptor.subscribe(seen)
    return interceptor, pipe, seen


def test_held_forwarded_edited_dropped_in_any_order() -> None:
    interceptor, pipe, seen = make()
    ids = [interceptor.offer(1, Way.C2S, f"m{i}".encode(), MessageKind.DATA) for i in range(3)]
    assert ids == [1, 2, 3]
    assert [m.payload for m in interceptor.queue] == [b"m0", b"m1", b"m2"]
    assert interceptor.queue[0].held_ns == 42 and interceptor.queue[0].conn == 1
    assert interceptor.edit(2, b"changed").outcome is Outcome.EDITED
    assert interceptor.forward(1).sent == b"m0"
    assert interceptor.drop(3).sent is None
    assert [(w, p, f["relayed"], f["intercept"]) for w, p, _, f in pipe.sent] == [
        (Way.C2S, b"changed", "edited", 2),
        (Way.C2S, b"m0", "forwarded", 1),
    ]
    assert pipe.drops == [(3, "dropped by the user")]
    assert interceptor.queue == []
    assert seen.events == [
        ("held", 1), ("held", 2), ("held", 3),
        ("resolved", (2, Outcome.EDITED)),
        ("resolved", (1, Outcome.FORWARDED)),
        ("resolved", (3, Outcome.DROPPED)),
    ]  # fmt: skip


def test_switch_covers_its_ways_only_and_off_passes_everything() -> None:
    interceptor, _, _ = make("s2c")
    assert interceptor.offer(1, Way.C2S, b"x", MessageKind.DATA) is None
    assert interceptor.offer(1, Way.S2C, b"x", MessageKind.DATA) == 1
    interceptor.set_mode("off")
    assert interceptor.offer(1, Way.S2C, b"y", MessageKind.DATA) is None
    assert len(interceptor.queue) == 1  # turning it off keeps what is held
    assert not interceptor.wants(Way.S2C)


def test_filter_text_regex_and_decoded_fields() -> None:
    interceptor, _, _ = make(expression="HELLO")
    assert interceptor.offer(1, Way.C2S, b"say hello", MessageKind.DATA) == 1
    assert interceptor.offer(1, Way.C2S, b"bye", MessageKind.DATA) is None
    interceptor.set_filter(r"^\d+$", regex=True)
    assert interceptor.offer(1, Way.C2S, b"123", MessageKind.DATA) == 2
    assert interceptor.offer(1, Way.C2S, b"12a", MessageKind.DATA) is None
    interceptor.set_filter('method == "sum"')
    call = b'{"jsonrpc": "2.0", "method": "sum", "id": 1}'
    other = b'{"jsonrpc": "2.0", "method": "sub", "id": 2}'
    assert interceptor.offer(1, Way.C2S, call, MessageKind.DATA) == 3
    assert interceptor.offer(1, Way.C2S, other, MessageKind.DATA) is None
    with pytest.raises(MessageFilterError, match="regular expression"):
        interceptor.set_filter("(", regex=True)
    with pytest.raises(MessageFilterError, match="field test"):
        interceptor.set_filter("id ~ (")


def test_ending_connection_drops_its_held_messages_with_the_reason() -> None:
    interceptor, _, _ = make()
    other = Pipe()
    interceptor.attach(2, other)
    interceptor.offer(1, Way.C2S, b"a", MessageKind.DATA)
    interceptor.offer(2, Way.S2C, b"b", MessageKind.DATA)
    gone = interceptor.detach(1, "the client reset the connection")
    assert [(r.message.id, r.outcome, r.reason) for r in gone] == [
        (1, Outcome.DROPPED, "dropped: the client reset the connection")
    ]
    assert [m.conn for m in interceptor.queue] == [2]
    other.alive = False
    late = interceptor.forward_all()
    assert [(r.outcome, r.reason) for r in late] == [
        (Outcome.DROPPED, "dropped: the connection ended")
    ]
    assert other.sent == []


def test_inject_any_time_and_bad_operations_are_one_line() -> None:
    interceptor, pipe, seen = make("off")
    interceptor.inject(1, "s2c", b"surprise")
    assert pipe.sent == [(Way.S2C, b"surprise", MessageKind.DATA, {"relayed": "injected"})]
    assert seen.events[-1] == ("injected", (1, Way.S2C, b"surprise"))
    with pytest.raises(InterceptError, match="cannot inject into connection 1: the client"):
        interceptor.inject(1, "c2s", b"refuse me")
    interceptor.set_mode("both")
    held = interceptor.offer(1, Way.C2S, b"x", MessageKind.DATA)
    assert held is not None
    late = interceptor.edit(held, b"refuse me")
    assert (late.outcome, late.reason) == (
        Outcome.DROPPED,
        "dropped: the client closed the WebSocket",
    )
    with pytest.raises(InterceptError, match="no held message #9"):
        interceptor.forward(9)
    with pytest.raises(InterceptError, match="no open connection 7"):
        interceptor.inject(7, "c2s", b"x")
    with pytest.raises(InterceptError, match="carries data, not text"):
        interceptor.inject(1, "c2s", b"x", "text")
    assert interceptor.connections() == [1]


def test_forward_all_and_drop_all_and_unsubscribe() -> None:
    interceptor, pipe, seen = make()
    for i in range(4):
        interceptor.offer(1, Way.S2C if i % 2 else Way.C2S, bytes([65 + i]), MessageKind.DATA)
    interceptor.drop(2)
    assert [r.message.id for r in interceptor.forward_all()] == [1, 3, 4]
    assert [p for _, p, _, _ in pipe.sent] == [b"A", b"C", b"D"]
    for _ in range(2):
        interceptor.offer(1, Way.C2S, b"x", MessageKind.DATA)
    assert [r.outcome for r in interceptor.drop_all()] == [Outcome.DROPPED] * 2
    before = len(seen.events)
    other = Seen()
    unsubscribe = interceptor.subscribe(other)
    unsubscribe()
    unsubscribe()  # twice is harmless
    interceptor.offer(1, Way.C2S, b"y", MessageKind.DATA)
    assert len(seen.events) == before + 1 and other.events == []


def test_text_must_stay_utf8_and_a_refused_edit_keeps_the_message_held() -> None:
    interceptor = Interceptor(InterceptMode.BOTH)
    pipe = Pipe(frozenset({MessageKind.TEXT, MessageKind.BINARY}))
    interceptor.attach(1, pipe)
    held = interceptor.offer(1, Way.C2S, b"hello", MessageKind.TEXT)
    assert held is not None
    with pytest.raises(InterceptError, match="must be UTF-8 \\(byte 1 is not\\)"):
        interceptor.edit(held, b"h\xff")
    assert [m.id for m in interceptor.queue] == [held]
    assert interceptor.edit(held, b"h\xff", MessageKind.BINARY).outcome is Outcome.EDITED
    with pytest.raises(InterceptError, match="must be UTF-8"):
        interceptor.inject(1, "s2c", b"\xc3")
    assert [(k, p) for _, p, k, _ in pipe.sent] == [(MessageKind.BINARY, b"h\xff")]


def test_preview_is_one_line_text_or_hex() -> None:
    text = HeldMessage(1, 1, Way.C2S, b"hello\nworld", MessageKind.TEXT, 0)
    assert text.preview() == "hello\\nworld"
    assert HeldMessage(1, 1, Way.C2S, b"\x00\xff", MessageKind.DATA, 0).preview() == "00 ff"
    assert HeldMessage(1, 1, Way.C2S, b"x" * 100, MessageKind.DATA, 0).preview(10) == "x" * 9 + "…"
    assert HeldMessage(1, 1, Way.C2S, b"ok", MessageKind.TEXT, 0).preview() == "ok"
