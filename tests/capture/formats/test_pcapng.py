"""pcapng export, checked by reading it back with tshark and with python-pcapng."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from format_samples import SessionInfo, WsSession, standard_ws_records
from pcapng import FileScanner, blocks
from tshark_tools import (
    expected_ws_frames,
    export,
    fields,
    needs_tshark,
    problems,
    stream_bytes,
    tcp_streams,
    tshark_ws_frames,
)

from inspector.capture.formats import ExportCancelled, export_pcapng
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record

# python-pcapng's scanner warns about its own untyped if_tsresol option.
pytestmark = pytest.mark.filterwarnings("ignore:Field type should not be:DeprecationWarning")
WS_URL = "ws://127.0.0.1:8765/chat?access_token=abc123&room=1"


@needs_tshark
def test_websocket_session_dissects_frame_by_frame(tmp_path: Path) -> None:
    records = standard_ws_records()
    path = export(tmp_path, SessionInfo(WS_URL, "ws"), records, include_secrets=True)

    assert tshark_ws_frames(path) == expected_ws_frames(records)
    assert len(expected_ws_frames(records)) == 15
    streams = tcp_streams(path, "50123")
    assert streams[Direction.OUT] == stream_bytes(records, Direction.OUT)
    assert streams[Direction.IN] == stream_bytes(records, Direction.IN)
    assert problems(path) == []
    upgrade = fields(path, "http", "http.request.uri", "http.response.code")
    assert upgrade == [["/chat?access_token=abc123&room=1", ""], ["", "101"]]


@needs_tshark
def test_tcp_handshake_segments_and_close(tmp_path: Path) -> None:
    records = standard_ws_records()
    path = export(tmp_path, SessionInfo(WS_URL, "ws"), records)
    rows = fields(path, "tcp", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.flags.str", "tcp.len")
    flags = [row[3].replace("\u00b7", "") for row in rows]
    assert flags[:3] == ["S", "AS", "A"]
    assert flags[-3:] == ["AF", "AF", "A"]
    assert {row[0] for row in rows} == {"127.0.0.1"}
    assert {(row[1], row[2]) for row in rows} == {("50123", "8765"), ("8765", "50123")}
    # The 102 400-byte message does not fit one segment.
    assert max(int(row[4]) for row in rows) <= 65000
    assert sum(1 for row in rows if int(row[4]) == 65000) == 1


@needs_tshark
def test_compressed_session_is_decompressed_by_tshark(tmp_path: Path) -> None:
    session = WsSession(compress=True)
    for index in range(3):  # context takeover: later messages refer to earlier ones
        session.client_send("text", f"repeat repeat repeat {index}")
        session.server_send("text", f"repeat repeat repeat {index}")
    session.server_send("binary", bytes(range(200)) * 3)
    session.client_send("ping", b"x")
    session.client_send("close")
    records = session.finish()
    assert any(r.fields.get("rsv1") for r in records if r.kind is Kind.FRAME)
    path = export(tmp_path, SessionInfo(WS_URL, "ws"), records)

    assert tshark_ws_frames(path) == expected_ws_frames(records)
    compressed = [row[0] for row in fields(path, "websocket", "websocket.pmc")]
    assert compressed.count("1") == sum(1 for r in records if r.fields.get("rsv1"))
    assert problems(path) == []


@needs_tshark
def test_websocket_over_ipv6_with_a_host_name(tmp_path: Path) -> None:
    session = WsSession(url="ws://localhost:8765/", local="[::1]:50999", peer="[::1]:8765")
    session.client_send("text", "over v6")
    session.server_send("binary", b"\x00" * 70000)
    records = session.finish()
    path = export(tmp_path, SessionInfo("ws://localhost:8765/", "ws"), records)
    assert tshark_ws_frames(path) == expected_ws_frames(records)
    rows = fields(path, "tcp", "ipv6.src", "ipv6.dst", "tcp.srcport")
    assert rows[0] == ["::1", "::1", "50999"]
    assert problems(path) == []


@needs_tshark
def test_plain_tcp_session_round_trips_its_bytes(tmp_path: Path) -> None:
    big = bytes(range(256)) * 1000
    records = [
        Record(
            0,
            0,
            Direction.META,
            Kind.RESOLVE,
            fields={"host": "example.test", "addresses": ["10.1.2.3"], "duration_ns": 5},
        ),
        Record(
            1,
            1_000,
            Direction.META,
            Kind.CONNECT,
            fields={"local": "10.9.9.9:41000", "peer": "10.1.2.3:45678", "duration_ns": 900},
        ),
        Record(2, 2_000, Direction.OUT, Kind.DATA, b"hello\n", b"hello\n"),
        Record(3, 3_000, Direction.IN, Kind.DATA, big, big),
        Record(4, 4_000, Direction.IN, Kind.MESSAGE, b"\x00\x03abc", b"abc"),
        Record(5, 5_000, Direction.OUT, Kind.DATA, b"", b""),
        Record(
            6,
            6_000,
            Direction.META,
            Kind.CLOSED,
            fields={"message": "peer closed", "initiated_by": "server"},
        ),
    ]
    path = export(tmp_path, SessionInfo("tcp://example.test:45678", "tcp"), records)
    streams = tcp_streams(path, "41000")
    assert streams[Direction.OUT] == b"hello\n"
    assert streams[Direction.IN] == big + b"\x00\x03abc"
    rows = fields(path, "tcp", "ip.src", "ip.dst", "tcp.flags.fin")
    assert rows[0][:2] == ["10.9.9.9", "10.1.2.3"]
    first_fin = next(row for row in rows if row[2] == "1")
    assert first_fin[0] == "10.1.2.3"  # the server closed first
    assert problems(path) == []


@needs_tshark
def test_udp_session_over_ipv6_round_trips_datagrams(tmp_path: Path) -> None:
    datagrams = [b"one", b"", bytes(range(256)) * 4, b"\xff" * 1001]
    records = [
        Record(
            0,
            0,
            Direction.META,
            Kind.CONNECT,
            fields={"local": "[::1]:40000", "peer": "[::1]:9999"},
        ),
    ]
    for index, data in enumerate(datagrams):
        direction = Direction.OUT if index % 2 == 0 else Direction.IN
        records.append(Record(index + 1, 1000 * (index + 1), direction, Kind.DATAGRAM, data, data))
    path = export(tmp_path, SessionInfo("udp://[::1]:9999", "udp"), records)
    rows = fields(path, "udp", "ipv6.src", "udp.srcport", "udp.dstport", "udp.length")
    assert [row[1:3] for row in rows] == [["40000", "9999"], ["9999", "40000"]] * 2
    assert [int(row[3]) - 8 for row in rows] == [len(d) for d in datagrams]
    payloads = [row[0] for row in fields(path, "udp", "udp.payload")]
    assert [bytes.fromhex(p) for p in payloads] == datagrams
    assert problems(path) == []


@needs_tshark
def test_secrets_are_redacted_in_the_stream_unless_asked(tmp_path: Path) -> None:
    headers = {"Authorization": "Bearer s3cret", "Cookie": "sid=abc"}
    records = standard_ws_records(headers=headers)
    path = export(tmp_path, SessionInfo(WS_URL, "ws"), records)
    http = fields(path, "http.request", "http.request.uri", "http.authorization", "http.cookie")
    assert http == [["/chat?access_token=[redacted]&room=1", "[redacted]", "[redacted]"]]
    assert b"s3cret" not in path.read_bytes() and b"abc123" not in path.read_bytes()
    assert tshark_ws_frames(path) == expected_ws_frames(records)  # later seqs still right
    assert problems(path) == []

    kept = export(tmp_path, SessionInfo(WS_URL, "ws"), records, include_secrets=True)
    http = fields(kept, "http.request", "http.authorization", "http.cookie")
    assert http == [["Bearer s3cret", "sid=abc"]]


def test_comments_describe_the_session(tmp_path: Path) -> None:
    records = standard_ws_records()
    path = export(
        tmp_path, SessionInfo("wss://127.0.0.1:8765/", "wss", summary={"frames": 15}), records
    )
    with path.open("rb") as handle:
        scanned = list(FileScanner(handle))
    shb, idb = scanned[0], scanned[1]
    assert isinstance(shb, blocks.SectionHeader)
    assert isinstance(idb, blocks.InterfaceDescription)
    section = shb.options["opt_comment"]
    assert "wss://127.0.0.1:8765/" in section and "TLS" in section
    assert "redacted" in section and "frames=15" in section
    interface = idb.options["opt_comment"]
    assert "connect 127.0.0.1:50123 → 127.0.0.1:8765" in interface
    packets = [b for b in scanned if isinstance(b, blocks.EnhancedPacket)]
    assert len(packets) == 24
    assert all(p.captured_len == p.packet_len == len(p.packet_data) for p in packets)
    stamps = [p.timestamp_high << 32 | p.timestamp_low for p in packets]
    assert stamps == sorted(stamps)
    handshake_ts = 1_763_700_000_123_456_789 + records[2].t_ns
    assert handshake_ts in stamps
    comments = [p.options.get("opt_comment") for p in packets if "opt_comment" in p.options]
    assert any("101 Switching Protocols" in c for c in comments)


def test_session_that_never_connected_gives_an_empty_valid_file(tmp_path: Path) -> None:
    records = [
        Record(
            0,
            0,
            Direction.META,
            Kind.ERROR,
            fields={"message": "connection refused", "phase": "connect"},
        ),
        Record(1, 10, Direction.META, Kind.CLOSED, fields={"message": "failed"}),
    ]
    path = export(tmp_path, SessionInfo("tcp://127.0.0.1:9", "tcp"), records)
    with path.open("rb") as handle:
        scanned = list(FileScanner(handle))
    assert len(scanned) == 2
    assert "connection refused" in scanned[1].options["opt_comment"]


def test_progress_is_reported_and_can_cancel() -> None:
    records = standard_ws_records() * 200
    seen: list[int] = []
    export_pcapng(
        io.BytesIO(), SessionInfo(WS_URL, "ws"), records, progress=lambda n: seen.append(n) is None
    )
    assert seen[-1] == len(records) and seen == sorted(seen) and len(seen) > 2
    with pytest.raises(ExportCancelled, match="cancelled after 1024"):
        export_pcapng(io.BytesIO(), SessionInfo(WS_URL, "ws"), records, progress=lambda n: False)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_full_disk_is_a_capture_error() -> None:
    with open("/dev/full", "wb", buffering=0) as out, pytest.raises(CaptureError, match="No space"):
        export_pcapng(out, SessionInfo(WS_URL, "ws"), standard_ws_records())
