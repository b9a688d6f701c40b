"""Exports of real sessions: the engine talks to the real servers of tests/conftest.py,
records into a real capture file, and the file's session is exported and read back."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from format_samples import raw_frame
from servers import Close, HostileScript, ReadUntil, Upgrade, Write
from tshark_tools import (
    expected_ws_frames,
    fields,
    needs_tshark,
    problems,
    stream_bytes,
    tcp_streams,
    tshark_ws_frames,
)
from websockets.frames import Opcode

from inspector.capture.formats import (
    export_har,
    export_jsonl,
    export_pcapng,
    load_har,
    records_of,
)
from inspector.capture.formats.jsonl import iter_jsonl
from inspector.capture.store import CaptureStore
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.factory import create_session
from inspector.net.session import Session

pytestmark = pytest.mark.filterwarnings("ignore:Field type should not be:DeprecationWarning")


async def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


def record_session(
    tmp_path: Path,
    url: str,
    scenario: Callable[[Session], Coroutine[Any, Any, None]],
    **options: Any,
) -> CaptureStore:
    """Run ``scenario`` on a real session recorded to a capture file; reopen the file."""
    endpoint = parse_endpoint(url)
    session_options = SessionOptions(**options)
    path = tmp_path / "session.capture"
    recorder = Recorder(consumed=False)
    store = CaptureStore.create(
        path,
        endpoint=endpoint.url,
        scheme=str(endpoint.scheme),
        options={},
        clock=recorder.clock,
    )
    recorder.sink = store
    session = create_session(endpoint, session_options, recorder)

    async def bounded() -> None:
        async with asyncio.timeout(30):
            assert await session.open()
            await scenario(session)
            await session.close()

    asyncio.run(bounded())
    store.finish(session.state.value, session.summary())
    store.close()
    return CaptureStore.open(path)


def all_records(store: CaptureStore) -> list[Record]:
    records = list(records_of(store, page=7))  # several pages even for a short session
    assert records == store.records(0, store.count())
    assert [r.seq for r in records] == list(range(store.count()))
    return records


def pcapng_of(tmp_path: Path, store: CaptureStore, **kwargs: Any) -> Path:
    path = tmp_path / "session.pcapng"
    with path.open("wb") as out:
        export_pcapng(out, store.session, all_records(store), **kwargs)
    return path


def client_port(records: list[Record]) -> str:
    connect = next(r for r in records if r.kind is Kind.CONNECT)
    return connect.fields["local"].rpartition(":")[2]


@needs_tshark
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "deflate"])
def test_real_websocket_session(
    tmp_path: Path, ws_server: Any, ws_server_nocompress: Any, compressed: bool
) -> None:
    server = ws_server if compressed else ws_server_nocompress

    async def scenario(session: Session) -> None:
        session.send_text("héllo")
        session.send_binary(bytes(range(256)) * 300)
        session.send_text("ping-me")  # the server pings; the engine answers by itself
        session.send_ping(b"are you there")
        await _wait_until(lambda: session.messages_in >= 3)

    store = record_session(tmp_path, server.url, scenario)
    records = all_records(store)
    frames = [r for r in records if r.kind is Kind.FRAME]
    assert any(r.automatic and r.fields["opcode"] == "pong" for r in frames)
    assert any(r.fields["compressed"] for r in frames) is compressed
    path = pcapng_of(tmp_path, store, include_secrets=True)

    assert tshark_ws_frames(path) == expected_ws_frames(records)
    streams = tcp_streams(path, client_port(records))
    assert streams[Direction.OUT] == stream_bytes(records, Direction.OUT)
    assert streams[Direction.IN] == stream_bytes(records, Direction.IN)
    assert problems(path) == []


@needs_tshark
def test_real_secure_websocket_is_exported_as_plaintext(
    tmp_path: Path, wss_server: Any, tls_ca_file: str
) -> None:
    async def scenario(session: Session) -> None:
        session.send_text("secure")
        await _wait_until(lambda: session.messages_in >= 1)

    store = record_session(tmp_path, wss_server.url, scenario, cafile=tls_ca_file)
    records = all_records(store)
    path = pcapng_of(tmp_path, store)
    assert tshark_ws_frames(path) == expected_ws_frames(records)
    texts = [row[0] for row in fields(path, "websocket.payload.text", "websocket.payload.text")]
    assert texts == ["secure", "secure"]
    assert problems(path) == []


@needs_tshark
def test_real_tcp_session_with_line_framing(tmp_path: Path, tcp_echo_server: Any) -> None:
    async def scenario(session: Session) -> None:
        session.send(b"one")
        session.send_raw(b"two\r\nthr")
        session.send_raw(b"ee\n")
        await _wait_until(lambda: session.messages_in >= 3)
        session.send_raw(b"tail")

    store = record_session(tmp_path, tcp_echo_server.url, scenario, framing=Framing.LINES)
    records = all_records(store)
    path = pcapng_of(tmp_path, store)
    streams = tcp_streams(path, client_port(records))
    sent = streams[Direction.OUT]
    assert sent.startswith(b"one") and sent.endswith(b"two\r\nthree\ntail")
    assert streams[Direction.IN] == sent[: len(streams[Direction.IN])]  # an echo
    assert len(streams[Direction.IN]) >= len(sent) - len(b"tail")
    assert problems(path) == []


@needs_tshark
def test_real_udp_session(tmp_path: Path, udp_echo_server: Any) -> None:
    async def scenario(session: Session) -> None:
        session.send(b"first")
        session.send(b"second")
        session.send(b"\x00" * 3000)
        await _wait_until(lambda: session.messages_in >= 3)

    store = record_session(tmp_path, udp_echo_server.url, scenario)
    records = all_records(store)
    path = pcapng_of(tmp_path, store)
    rows = fields(path, "udp", "udp.srcport", "udp.payload")
    expected = [r.wire for r in records if r.kind is Kind.DATAGRAM]
    assert [bytes.fromhex(row[1]) for row in rows] == expected
    assert len(expected) == 6
    assert problems(path) == []


def test_real_session_through_har_and_jsonl(tmp_path: Path, ws_server: Any) -> None:
    async def scenario(session: Session) -> None:
        session.send_text("one")
        session.send_binary(b"\x00two")
        await _wait_until(lambda: session.messages_in >= 2)

    store = record_session(tmp_path, ws_server.url + "?token=t0p", scenario)
    records = all_records(store)

    har = io.BytesIO()
    export_har(har, store.session, records)
    assert b"t0p" not in har.getvalue()
    ((session, imported),) = load_har(har.getvalue())
    assert session.endpoint == ws_server.url + "?token=[redacted]"
    got = [(r.direction, r.fields["opcode"], r.payload) for r in imported if r.kind is Kind.FRAME]
    for direction in (Direction.OUT, Direction.IN):
        assert [item[1:] for item in got if item[0] is direction] == [
            ("text", b"one"),
            ("binary", b"\x00two"),
            ("close", b"\x03\xe8"),
        ]

    lines = io.BytesIO()
    export_jsonl(lines, store.session, records, include_secrets=True)
    assert list(iter_jsonl(lines.getvalue())) == [
        Record(
            r.seq,
            r.t_ns,
            r.direction,
            r.kind,
            r.wire,
            r.payload,
            json.loads(json.dumps(dict(r.fields))),
        )
        for r in records
    ]


@needs_tshark
def test_bytes_of_a_protocol_violation_stay_in_the_stream(
    tmp_path: Path, hostile_server_factory: Any
) -> None:
    masked_from_server = raw_frame(Opcode.TEXT, b"not allowed", mask=True)
    server = hostile_server_factory(
        HostileScript((Upgrade(), Write(masked_from_server), ReadUntil(b"\x88"), Close()))
    )

    async def scenario(session: Session) -> None:
        await session.wait_closed()

    store = record_session(tmp_path, server.ws_url, scenario)
    records = all_records(store)
    violation = next(r for r in records if r.kind is Kind.ERROR and r.direction is Direction.IN)
    assert violation.wire == masked_from_server
    path = pcapng_of(tmp_path, store)
    streams = tcp_streams(path, client_port(records))
    response = next(r for r in records if r.kind is Kind.HANDSHAKE and r.direction is Direction.IN)
    assert streams[Direction.IN] == response.wire + masked_from_server
    assert streams[Direction.OUT] == b"".join(server.received)
    comments = [row[0] for row in fields(path, "frame.comment", "frame.comment")]
    assert any(violation.fields["message"] in comment for comment in comments)
