"""HAR 1.2 export and import: round trips, browser and mitmproxy files, hostile input."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from format_samples import START_NS, SessionInfo, WsSession, standard_ws_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapng import FileScanner, blocks

from inspector.capture.formats import (
    ExportCancelled,
    export_har,
    export_jsonl,
    export_pcapng,
    import_har,
    load_har,
)
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wireframes import parse_frame

DATA = Path(__file__).parent / "data"
WS_URL = "ws://127.0.0.1:8765/chat?access_token=abc123&room=1"


def har_of(records: list[Record], url: str = WS_URL, **kwargs: Any) -> dict[str, Any]:
    out = io.BytesIO()
    export_har(out, SessionInfo(url, url.split(":", 1)[0]), records, **kwargs)
    return json.loads(out.getvalue())


def frames(records: list[Record]) -> list[Record]:
    return [r for r in records if r.kind is Kind.FRAME]


def test_export_writes_whole_messages_as_chrome_does() -> None:
    records = standard_ws_records()
    entry = har_of(records)["log"]["entries"][0]
    messages = entry["_webSocketMessages"]
    summary = [(m["type"], m["opcode"], m["data"]) for m in messages]
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    assert summary == [
        ("send", 1, "hello ✓"),
        ("receive", 1, "hello ✓"),
        ("send", 2, b64(bytes(range(256)))),
        ("send", 1, "frag-mented"),
        ("receive", 2, b64(b"\x00\x01\x02\x03")),
        ("send", 9, b64(b"are you there")),
        ("receive", 10, b64(b"are you there")),
        ("receive", 9, b64(b"ping-me")),
        ("send", 10, b64(b"ping-me")),
        ("receive", 2, b64(bytes(range(256)) * 400)),
        ("send", 8, b64(b"\x03\xe8bye")),
        ("receive", 8, b64(b"\x03\xe8bye")),
    ]
    # The time of a reassembled message is that of its last fragment, in epoch seconds.
    last_fragment = frames(records)[5]
    assert messages[3]["time"] == pytest.approx((START_NS + last_fragment.t_ns) / 1e9, abs=1e-6)
    assert entry["request"]["method"] == "GET"
    assert entry["request"]["httpVersion"] == "HTTP/1.1"
    assert entry["response"]["status"] == 101
    assert entry["response"]["statusText"] == "Switching Protocols"
    assert entry["startedDateTime"] == "2025-11-21T04:40:00.126Z"
    assert entry["timings"]["dns"] == 0.01 and entry["timings"]["connect"] == 0.2
    assert entry["timings"]["wait"] == 0.5
    assert entry["serverIPAddress"] == "127.0.0.1"
    names = [h["name"] for h in entry["response"]["headers"]]
    assert "Sec-WebSocket-Accept" in names


def test_round_trip_through_har_keeps_messages_and_handshake() -> None:
    records = standard_ws_records(compress=True)
    out = io.BytesIO()
    count = export_har(out, SessionInfo(WS_URL, "ws"), records, include_secrets=True)
    ((session, imported),) = load_har(out.getvalue())
    assert count == 12
    assert session.endpoint == WS_URL and session.scheme == "ws"
    assert abs(session.started_wall_ns - (START_NS + records[2].t_ns)) < 1_000_000
    request, response = imported[0], imported[1]
    assert request.kind is Kind.HANDSHAKE and request.direction is Direction.OUT
    assert request.wire.startswith(b"GET /chat?access_token=abc123&room=1 HTTP/1.1\r\n")
    assert request.wire.endswith(b"\r\n\r\n")
    assert request.fields["headers"] == records[2].fields["headers"]
    assert response.fields["status"] == 101 and response.fields["accepted"] is True
    assert response.fields["extensions"] == records[3].fields["extensions"]

    exported = har_of(records, include_secrets=True)["log"]["entries"][0]["_webSocketMessages"]
    got = frames(imported)
    assert len(got) == len(exported)
    for message, record in zip(exported, got, strict=True):
        assert record.fields["opcode_value"] == message["opcode"]
        assert record.direction is (Direction.OUT if message["type"] == "send" else Direction.IN)
        expected = (
            message["data"].encode()
            if message["opcode"] == 1
            else base64.b64decode(message["data"])
        )
        assert record.payload == expected
        assert record.fields["synthesised"] is True
        assert record.fields["masked"] is (record.direction is Direction.OUT)
        wire_frame = parse_frame(record.wire)  # the wire is a real frame
        assert wire_frame is not None and wire_frame.unmasked_payload() == expected
        assert abs(session.started_wall_ns + record.t_ns - message["time"] * 1e9) < 2_000
    assert got[-2].fields["close_code"] == 1000 and got[-2].fields["close_reason"] == "bye"


def test_secrets_are_redacted_unless_asked() -> None:
    records = standard_ws_records(headers={"Authorization": "Bearer s3cret", "Cookie": "sid=1"})
    text = json.dumps(har_of(records))
    assert "s3cret" not in text and "abc123" not in text and "sid=1" not in text
    log = json.loads(text)["log"]
    assert "redacted" in log["comment"]
    request = log["entries"][0]["request"]
    assert request["url"] == "ws://127.0.0.1:8765/chat?access_token=[redacted]&room=1"
    headers = {h["name"]: h["value"] for h in request["headers"]}
    assert headers["Authorization"] == "[redacted]" and headers["Cookie"] == "[redacted]"
    assert {"name": "access_token", "value": "[redacted]"} in request["queryString"]

    kept = har_of(records, include_secrets=True)
    request = kept["log"]["entries"][0]["request"]
    assert {h["name"]: h["value"] for h in request["headers"]}["Authorization"] == "Bearer s3cret"
    assert request["cookies"] == [{"name": "sid", "value": "1"}]
    assert "access_token=abc123" in request["url"]


def test_export_of_a_non_websocket_session_says_why_not() -> None:
    with pytest.raises(CaptureError, match="HAR holds only WebSocket sessions"):
        export_har(io.BytesIO(), SessionInfo("tcp://127.0.0.1:9", "tcp"), [])


def test_export_progress_can_cancel() -> None:
    records = standard_ws_records() * 100
    with pytest.raises(ExportCancelled):
        export_har(io.BytesIO(), SessionInfo(WS_URL, "ws"), records, progress=lambda n: n < 1024)


def test_session_without_frames_is_still_a_valid_har() -> None:
    session = WsSession()
    entry = har_of(session.finish())["log"]["entries"][0]
    assert entry["_webSocketMessages"] == []
    assert entry["response"]["status"] == 101


def test_import_chrome_export() -> None:
    ((session, records),) = import_har(DATA / "chrome_websocket.har")
    assert session.endpoint == "wss://echo.example.com/socket?token=abc"
    assert session.scheme == "wss"
    assert session.started_wall_ns == 1715677924101000000
    assert session.summary["creator"] == "WebInspector 537.36"
    request, response, *messages = records
    assert request.wire.startswith(b"GET /socket?token=abc HTTP/1.1\r\nAccept-Encoding: gzip")
    assert b"\r\nCookie: session=xyz\r\n" in request.wire
    assert response.wire.startswith(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade")
    assert response.fields["extensions"] == "permessage-deflate"
    assert response.t_ns == 712_000
    assert [(r.direction, r.fields["opcode"], r.payload) for r in messages] == [
        (Direction.OUT, "text", b'{"op":"subscribe","channel":"ticker"}'),
        (Direction.IN, "text", b'{"event":"subscribed"}'),
        (Direction.IN, "binary", b"\x00\x01\x02\x03\x04\xff"),
        (Direction.OUT, "text", "ünïcödé ✓".encode()),
    ]
    assert messages[0].t_ns == pytest.approx(113_871_000, abs=1_000)
    assert [r.seq for r in records] == list(range(len(records)))
    assert all(r.fields["synthesised"] for r in records)
    sent = messages[0]
    assert sent.fields["masked"] and sent.wire[1] & 0x80 and len(sent.fields["mask_key"]) == 8
    assert not messages[1].fields["masked"]
    assert messages[1].wire == b"\x81\x16" + messages[1].payload


def test_import_firefox_export() -> None:
    ((session, records),) = import_har(DATA / "firefox_websocket.har")
    assert session.endpoint == "wss://chat.example.org:8443/live"
    # 11:20:02.250+02:00 is 09:20:02.250 UTC.
    assert session.started_wall_ns == 1715678402250000000
    response = records[1]
    assert response.fields["subprotocol"] == "chat.v2"
    assert response.t_ns == 21_000_000
    messages = records[2:]
    assert [r.fields["opcode"] for r in messages] == ["text", "text", "ping", "pong", "close"]
    assert messages[1].payload == b"welcome"  # opcode missing: text
    assert messages[2].payload == b""
    assert messages[4].fields["close_code"] == 1000
    assert messages[4].fields["close_reason"] == "bye"


def test_import_mitmproxy_export_skips_plain_http() -> None:
    ((session, records),) = import_har(DATA / "mitmproxy_websocket.har")
    assert session.endpoint == "ws://127.0.0.1:9000/feed?api_key=k1&x=2"
    assert [(r.direction, r.payload) for r in records[2:]] == [
        (Direction.OUT, b"\xde\xad\xbe\xef"),
        (Direction.IN, b"ack"),
    ]


def test_imported_session_exports_again(tmp_path: Path) -> None:
    ((session, records),) = import_har(DATA / "chrome_websocket.har")
    out = io.BytesIO()
    export_har(out, session, records, include_secrets=True)
    ((again, records_again),) = load_har(out.getvalue())
    assert again.endpoint == session.endpoint
    assert [r.payload for r in records_again[2:]] == [r.payload for r in records[2:]]


def test_har_without_websocket_entries_gives_no_sessions(tmp_path: Path) -> None:
    path = tmp_path / "plain.har"
    path.write_text('{"log": {"version": "1.2", "entries": [{"request": {"url": "http://x/"}}]}}')
    assert import_har(path) == []


def ws_entry(extra: str, url: str = "ws://h/") -> bytes:
    """A HAR document with one WebSocket entry; ``extra`` is raw JSON text of more keys."""
    return f'{{"log": {{"entries": [{{"request": {{"url": "{url}"}}, {extra}}}]}}}}'.encode()


def message(text: str) -> bytes:
    return ws_entry(f'"_webSocketMessages": [{{"type": "send", {text}}}]')


HOSTILE = [
    (b"", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "JSON"),
    (b"{", "not valid JSON"),
    (b"[]", "not a HAR file"),
    (b'{"log": 1}', "not a HAR file"),
    (b'{"log": {"entries": {}}}', "not a list"),
    (b'{"log": {"entries": [1]}}', "entry 1 is not an object"),
    (b'{"log": {"entries": [{"_webSocketMessages": []}]}}', "not a WebSocket URL"),
    (b'{"log": {"entries": [{"_resourceType": "websocket", "request": {"url": 5}}]}}', "url"),
    (ws_entry('"_webSocketMessages": "x"'), "not a list"),
    (ws_entry('"_webSocketMessages": [{"type": "x"}]'), "send"),
    (message('"opcode": 3'), "opcode"),
    (message('"opcode": "1"'), "not a number"),
    (message('"time": 1e400'), "out of range"),
    (message('"time": NaN'), "not valid JSON"),
    (message('"data": 7'), "not a string"),
    (message('"opcode": 9, "data": "' + "A" * 300 + '"'), "longer than 125"),
    (ws_entry('"startedDateTime": "yesterday"'), "ISO 8601"),
    (ws_entry('"_webSocketMessages": []', url="ws://h:99999/"), "not a valid URL"),
    (ws_entry('"response": {"headers": [["a", "b"]]}'), "not an object"),
    (ws_entry('"response": {"status": ' + "9" * 5000 + "}"), "JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_har_is_one_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.har"
    path.write_bytes(data)
    with pytest.raises(CaptureError, match=message) as caught:
        import_har(path)
    assert "\n" not in str(caught.value)


def test_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read"):
        import_har(tmp_path / "missing.har")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["send", "receive", "x"]) | json_values,
        "time": st.floats(allow_nan=False) | st.integers() | json_values,
        "opcode": st.sampled_from([1, 2, 8, 9, 10, 0, 3]) | json_values,
        "data": st.text(max_size=200) | json_values,
    },
)
entry_like = st.fixed_dictionaries(
    {},
    optional={
        "_webSocketMessages": st.lists(message_like, max_size=4) | json_values,
        "_resourceType": st.just("websocket") | json_values,
        "startedDateTime": st.sampled_from(["2024-05-14T09:12:04.101Z", "x", "2024-05-14"])
        | json_values,
        "request": st.fixed_dictionaries(
            {},
            optional={
                "url": st.sampled_from(["ws://h/", "wss://h:1/p?q", "http://h/", "ws://"])
                | json_values,
                "method": json_values,
                "headers": st.lists(
                    st.fixed_dictionaries({"name": json_values, "value": json_values}), max_size=3
                )
                | json_values,
            },
        )
        | json_values,
        "response": st.fixed_dictionaries(
            {}, optional={"status": json_values, "statusText": json_values, "headers": json_values}
        )
        | json_values,
        "timings": st.fixed_dictionaries({}, optional={"wait": json_values}) | json_values,
    },
)
har_like = st.fixed_dictionaries(
    {"log": st.fixed_dictionaries({"entries": st.lists(entry_like, max_size=3)}) | json_values}
)


def _load_or_capture_error(data: bytes) -> None:
    try:
        sessions = load_har(data)
    except CaptureError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for session, records in sessions:
        assert isinstance(session.started_wall_ns, int)
        assert all(isinstance(r, Record) for r in records)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(har_like | json_values)
def test_fuzz_har_structures(document: Any) -> None:
    _load_or_capture_error(json.dumps(document).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_har_bytes(data: bytes) -> None:
    _load_or_capture_error(data)


def test_rebuilt_frames_are_the_same_on_every_read_and_say_so(tmp_path: Path) -> None:
    first = import_har(DATA / "chrome_websocket.har")[0][1]
    second = import_har(DATA / "chrome_websocket.har")[0][1]
    assert [r.wire for r in first] == [r.wire for r in second]
    sent = next(r for r in first if r.kind is Kind.FRAME and r.direction is Direction.OUT)
    # No key was captured: the placeholder key is all zeros, so the payload reads as is.
    assert sent.fields["mask_key"] == "00000000"
    assert sent.wire.endswith(sent.payload)
    assert all(r.fields["rebuilt_from"] == "HAR" for r in first)

    lines = io.BytesIO()
    export_jsonl(lines, first_session(), first, include_secrets=True)
    rows = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert all(row["synthesised"] is True and row["rebuilt_from"] == "HAR" for row in rows)
    assert {row["wire"] for row in rows} == {r.wire.hex() for r in second}


@pytest.mark.filterwarnings("ignore:Field type should not be:DeprecationWarning")
def test_pcapng_export_comments_every_rebuilt_packet(tmp_path: Path) -> None:
    ((session, records),) = import_har(DATA / "chrome_websocket.har")
    out = io.BytesIO()
    export_pcapng(out, session, records, include_secrets=True)
    out.seek(0)
    packets = [b for b in FileScanner(out) if isinstance(b, blocks.EnhancedPacket)]
    rebuilt = [
        p for p in packets if "rebuilt from HAR, not captured" in p.options.get("opt_comment", "")
    ]
    assert len(rebuilt) == len(records)  # each record's bytes are one packet


def first_session() -> Any:
    return import_har(DATA / "chrome_websocket.har")[0][0]
