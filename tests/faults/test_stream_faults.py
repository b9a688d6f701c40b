"""Streams under stress: a half-close while the client sends, a trickling peer (the
partial frame or line visible while it grows), a flood with bounded memory, and a
capture limit that says exactly what it did not keep."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fault_matrix import close_payload, server_frame
from servers import (
    Close,
    HalfClose,
    HostileScript,
    HostileServer,
    ReadUntil,
    Trickle,
    Upgrade,
    Write,
)
from session_helpers import make_session, run, wait_until

from inspector.core.options import Framing
from inspector.core.recorder import CaptureLimit, Recorder
from inspector.core.records import Direction, Kind
from inspector.net.session import SessionNotOpenError, SessionState

FLOOD = 1 << 30  # the 1 GiB at full speed: ~7 s over TCP, ~10 s as frames
#: How much the process may grow while a whole FLOOD passes through it.
MEMORY_BOUND = 64 << 20
CLOSE_ECHO = server_frame(0x88, close_payload(1000))
CHILD = Path(__file__).with_name("flood_child.py")


def test_half_close_while_the_client_sends(hostile_server_factory: object) -> None:
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Write(b"last words\n"), ReadUntil(b"first"), HalfClose()))
    )
    session, sink = make_session(f"tcp://127.0.0.1:{server.port}")
    refused: list[str] = []

    async def scenario() -> None:
        assert await session.open()
        session.send(b"first")
        for index in range(200):  # bounded: the FIN ends the session long before
            try:
                session.send(b"more %d;" % index)
            except SessionNotOpenError as exc:
                refused.append(str(exc))
                break
            await asyncio.sleep(0.002)
        await session.wait_closed()
        written = b"".join(r.wire for r in sink.records if r.direction is Direction.OUT)
        await wait_until(lambda: server.received and server.received[0] == written)

    run(scenario())
    assert refused == ["cannot send: the session is closed"]
    inbound = [r for r in sink.records if r.direction is Direction.IN]
    assert [r.wire for r in inbound] == [b"last words\n"]
    closed = sink.records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["message"] == "connection closed by peer"
    assert closed.fields["initiated_by"] == "server" and closed.fields["clean"] is True
    assert session.state is SessionState.CLOSED and session.ok
    # Every write the client recorded before the FIN reached the server, nothing after.
    outbound = [r for r in sink.records if r.direction is Direction.OUT]
    assert outbound and all(r.seq < closed.seq for r in outbound)


def test_a_trickled_frame_is_visible_while_it_grows(hostile_server_factory: object) -> None:
    frame = server_frame(0x81, b"a slow frame, one byte at a time...!!")
    assert len(frame) == 39
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript(
            (Upgrade(), Trickle(frame, 0.05), ReadUntil(b"\x88"), Write(CLOSE_ECHO), Close())
        )
    )
    session, sink = make_session(server.ws_url, compression=False)
    seen: dict[bytes, int | None] = {}

    async def scenario() -> None:
        assert await session.open()
        while session.messages_in == 0 and not session.ended:
            partial = session.partial_inbound()
            if partial and partial not in seen:
                seen[partial] = session.partial_inbound_size()
            await asyncio.sleep(0.01)
        assert session.partial_inbound() == b""
        assert session.partial_inbound_size() is None
        await session.close()

    run(scenario())
    assert len(seen) >= 10  # one new byte every 50 ms, polled every 10 ms
    for partial, size in seen.items():
        assert frame.startswith(partial) and len(partial) < len(frame)
        assert size == (None if len(partial) < 2 else len(frame))
    received, closing = [r for r in sink.of(Kind.FRAME) if r.direction is Direction.IN]
    assert closing.fields["close_code"] == 1000
    assert received.wire == frame
    assert session.ok


def test_a_trickled_line_is_visible_while_it_grows(hostile_server_factory: object) -> None:
    line = b"partial line\n"
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Trickle(line, 0.03), ReadUntil(b"bye"), Close()))
    )
    session, sink = make_session(f"tcp://127.0.0.1:{server.port}", framing=Framing.LINES)
    seen: list[bytes] = []

    async def scenario() -> None:
        assert await session.open()
        while session.messages_in == 0:
            partial = session.partial_inbound()
            if partial and (not seen or seen[-1] != partial):
                seen.append(partial)
            await asyncio.sleep(0.005)
        assert session.partial_inbound() == b""
        session.send(b"bye")
        await session.wait_closed()

    run(scenario())
    assert len(seen) >= 5 and all(line.startswith(p) and p != line for p in seen)
    assert [len(p) for p in seen] == sorted(len(p) for p in seen)
    (message,) = [r for r in sink.of(Kind.MESSAGE) if r.direction is Direction.IN]
    assert message.payload == b"partial line" and session.ok


def test_raw_tcp_shows_every_trickled_byte_as_a_record(hostile_server_factory: object) -> None:
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Trickle(b"drip", 0.02), Close()))
    )
    session, sink = make_session(f"tcp://127.0.0.1:{server.port}")

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert [r.wire for r in sink.of(Kind.DATA)] == [b"d", b"r", b"i", b"p"]
    assert session.partial_inbound() == b"" and session.ok


@pytest.mark.parametrize("scheme", ["tcp", "ws"])
def test_a_flood_loses_nothing_and_memory_stays_bounded(scheme: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(CHILD), scheme, str(FLOOD), str(tmp_path / "flood.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "closed" and report["failure"] is None
    assert report["bytes"] == report["kept_bytes"] == FLOOD
    assert report["records"] == report["kept_records"] > 0
    assert report["mismatch"] == 0  # every byte arrived, in order
    if scheme == "ws":
        assert report["records"] == FLOOD // 65536  # one record per frame
    growth = (report["maxrss_after_kib"] - report["maxrss_before_kib"]) * 1024
    assert growth < MEMORY_BOUND, f"peak memory grew by {growth >> 20} MiB for a 1 GiB flood"
    (tmp_path / "flood.sqlite").unlink()  # 1 GiB: not left for pytest's kept temp dirs


def test_a_capture_limit_says_what_it_did_not_keep(hostile_server_factory: object) -> None:
    lines = b"".join(b"line %02d\n" % n for n in range(50))
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Write(lines), Close()))
    )
    recorder = Recorder(consumed=False, capture_limit=CaptureLimit(records=10))
    session, sink = make_session(f"tcp://127.0.0.1:{server.port}", recorder, framing=Framing.LINES)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    kept = sink.of(Kind.MESSAGE)
    assert [r.payload for r in kept] == [b"line %02d" % n for n in range(10)]
    reached, told = sink.of(Kind.INFO)
    assert reached.fields["message"] == (
        "capture limit of 10 records reached: later traffic is counted, not kept"
    )
    assert told.fields["message"] == (
        "40 records (320 bytes) were not kept: capture limit of 10 records"
    )
    assert told.fields["not_kept"] == 40 and told.fields["not_kept_bytes"] == 320
    assert sink.records[-1].kind is Kind.CLOSED and told.seq == sink.records[-1].seq - 1
    assert [r.seq for r in sink.records] == list(range(len(sink.records)))  # no holes
    summary = session.summary()
    assert summary["not_kept"] == {"records": 40, "bytes": 320}
    assert summary["counts"]["records_in"] == 50 and summary["counts"]["bytes_in"] == len(lines)
    assert session.messages_in == 50 and session.ok


def test_a_byte_limit_keeps_whole_records_only(hostile_server_factory: object) -> None:
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Write(b"0123456789\n" * 5), Close()))
    )
    recorder = Recorder(consumed=False, capture_limit=CaptureLimit(bytes=25))
    session, sink = make_session(f"tcp://127.0.0.1:{server.port}", recorder, framing=Framing.LINES)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert len(sink.of(Kind.MESSAGE)) == 2  # 22 bytes kept; a third line would pass 25
    assert recorder.not_kept == 3 and recorder.not_kept_bytes == 33
    assert "3 records (33 bytes) were not kept: capture limit of 25 bytes" in [
        r.fields["message"] for r in sink.of(Kind.INFO)
    ]
