"""Records written through Recorder -> CaptureStore read back equal, live and reopened."""

from __future__ import annotations

import json
import math
import sqlite3
import stat
from pathlib import Path

import pytest

from inspector.capture import SCHEMA_VERSION, CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.options import Framing, SessionOptions
from inspector.core.records import Direction, Kind, Record


def test_every_kind_round_trips_live_and_reopened(new_store, every_kind) -> None:
    store, recorder = new_store(commit_interval=3600)
    written = every_kind(recorder)
    assert {r.kind for r in written} == set(Kind)
    assert store.count() == len(written)
    assert store.records(0, 100) == written  # all still buffered
    store.flush()
    assert store.committed == len(written) and store.unsaved == 0
    assert store.records(0, 100) == written  # now read from SQLite
    store.finish("closed", {"counts": {"in": 7}, "failure": None})
    store.close()

    reopened = CaptureStore.open(store.path)
    try:
        assert reopened.count() == len(written)
        read = reopened.records(0, 1000)
        assert read == written
        assert [reopened.record(r.seq) for r in written] == written
        for original, back in zip(written, read, strict=True):
            assert type(back.direction) is Direction and type(back.kind) is Kind
            assert type(back.fields) is dict
            assert (back.payload is None) == (original.payload is None)
        session = reopened.session
        assert session.endpoint == "ws://127.0.0.1:9000/chat" and session.scheme == "ws"
        assert session.state == "closed"
        assert session.summary == {"counts": {"in": 7}, "failure": None}
        assert session.options == {"compression": True}
        assert session.ended_wall_ns is not None
        assert session.ended_wall_ns >= session.started_wall_ns
        assert reopened.sessions() == [session]
    finally:
        reopened.close()


def test_reads_while_writing_include_buffered_records(new_store) -> None:
    store, recorder = new_store(commit_interval=3600)
    for i in range(10):
        recorder.record(Direction.IN, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
    store.flush()
    for i in range(10, 25):
        recorder.record(Direction.OUT, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
    assert (store.committed, store.unsaved, store.count()) == (10, 15, 25)
    page = store.records(5, 10)  # spans the file and the buffer
    assert [r.seq for r in page] == list(range(5, 15))
    assert [r.wire for r in page] == [b"%d" % i for i in range(5, 15)]
    assert [r.seq for r in store.records(20, 100)] == [20, 21, 22, 23, 24]
    assert store.records(25, 10) == [] and store.records(0, 0) == []
    assert store.record(3).wire == b"3" and store.record(17).wire == b"17"
    with pytest.raises(CaptureError, match="no record 25"):
        store.record(25)
    assert store.matching(directions={"out"}) == list(range(10, 25))
    assert store.matching(directions={"in"}, text="7") == [7]
    assert store.matching(text="1") == [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21]


def test_commits_when_interval_passes_or_batch_fills(new_store) -> None:
    store, recorder = new_store(commit_interval=0)
    recorder.record(Direction.IN, Kind.DATA, wire=b"x", payload=b"x")
    assert store.committed == 1  # interval 0: every write is due
    big, big_recorder = new_store("big.sockcap", commit_interval=3600)
    for _ in range(5000):
        big_recorder.record(Direction.IN, Kind.DATA, wire=b"y", payload=b"y")
    assert big.committed >= 4096 and big.count() == 5000


def test_payload_inside_the_wire_bytes_is_stored_once(new_store) -> None:
    store, recorder = new_store()
    recorder.record(Direction.IN, Kind.DATA, wire=b"same", payload=b"same")
    recorder.record(Direction.IN, Kind.FRAME, wire=b"\x82\x04data", payload=b"data")
    recorder.record(Direction.META, Kind.INFO, wire=b"", payload=None)
    store.close()
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT payload, payload_is_wire FROM records ORDER BY seq").fetchall()
    conn.close()
    assert rows == [(None, 1), (None, 2 + 2), (None, 0)]  # the frame's payload: wire[2:]
    with CaptureStore.open(store.path) as reopened:
        assert [r.payload for r in reopened.records(0, 3)] == [b"same", b"data", None]
        # Search reads the payload, not the frame header before it.
        assert reopened.matching(regex="^data$", case_sensitive=True) == [1]


def test_matching_filters_and_search(new_store, every_kind) -> None:
    store, recorder = new_store()
    written = every_kind(recorder)
    store.close()
    seq_of = {(r.direction, r.kind): r.seq for r in written}
    with CaptureStore.open(store.path) as reopened:
        frames = reopened.matching(kinds={"frame"})
        assert frames == [r.seq for r in written if r.kind is Kind.FRAME]
        assert reopened.matching(directions={"meta"}, kinds={"error"}) == [
            seq_of[(Direction.META, Kind.ERROR)]
        ]
        assert reopened.matching(kinds={Kind.HANDSHAKE}, directions={Direction.IN}) == [
            seq_of[(Direction.IN, Kind.HANDSHAKE)]
        ]
        # Text: payload when there is one, else the wire bytes; UTF-8, case folded.
        assert reopened.matching(text="HELLO") == [
            r.seq for r in written if r.kind is Kind.FRAME and r.payload == b"hello"
        ]
        assert reopened.matching(text="HÉLLO") == [seq_of[(Direction.IN, Kind.DATAGRAM)]]
        assert reopened.matching(text="HÉLLO", case_sensitive=True) == []
        assert reopened.matching(text="switching protocols") == [
            seq_of[(Direction.IN, Kind.HANDSHAKE)]
        ]
        assert reopened.matching(text="raw bytes", kinds={"data"}) == [
            seq_of[(Direction.IN, Kind.DATA)]
        ]
        # Bytes that are not UTF-8 decode to U+FFFD, which can be searched for.
        assert reopened.matching(text="\ufffd") == [
            seq_of[(Direction.IN, Kind.DATA)],
            seq_of[(Direction.IN, Kind.ERROR)],
        ]
        assert reopened.matching(regex=r"^GET /\w+ HTTP") == [
            seq_of[(Direction.OUT, Kind.HANDSHAKE)]
        ]
        assert reopened.matching(regex="upgrade: WEBSOCKET") == [
            seq_of[(Direction.OUT, Kind.HANDSHAKE)],
            seq_of[(Direction.IN, Kind.HANDSHAKE)],
        ]
        assert reopened.matching(regex="upgrade: WEBSOCKET", case_sensitive=True) == []
        assert reopened.matching(text="GET", regex="Host") == [
            seq_of[(Direction.OUT, Kind.HANDSHAKE)]
        ]
        assert reopened.matching(kinds=set()) == []
        assert reopened.matching() == list(range(len(written)))
        with pytest.raises(CaptureError, match="invalid regular expression") as info:
            reopened.matching(regex="(unclosed")
        assert "\n" not in str(info.value)


def test_odd_field_values_never_raise_into_the_session(new_store) -> None:
    store, recorder = new_store(commit_interval=0)
    cyclic: list[object] = []
    cyclic.append(cyclic)
    recorder.record(Direction.META, Kind.INFO, fields={"nan": math.nan, "raw": b"\x01\x02"})
    recorder.record(Direction.META, Kind.INFO, fields={"cycle": cyclic, "kind": Kind.DATA})
    recorder.record(Direction.META, Kind.INFO, fields={"tuple": (1, 2), "set": {3}})
    assert store.error is None and store.committed == 3
    got = store.records(0, 3)
    assert got[0].fields == {"nan": "nan", "raw": "0102"}
    assert got[1].fields["kind"] == "data"
    assert got[2].fields == {"tuple": [1, 2], "set": [3]}


def test_unknown_kind_and_direction_are_shown_as_info_meta(new_store) -> None:
    store, recorder = new_store()
    recorder.record(Direction.IN, Kind.DATA, wire=b"a", payload=b"a")
    store.close()
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "INSERT INTO records VALUES (1, 1, 5, 'sideways', 'telepathy', x'00', NULL, 0, NULL)"
        )
    conn.close()
    with CaptureStore.open(store.path) as reopened:
        odd = reopened.record(1)
    assert (odd.direction, odd.kind) == (Direction.META, Kind.INFO)
    assert odd.fields == {"stored_direction": "sideways", "stored_kind": "telepathy"}


def test_file_is_private_and_carries_schema_metadata(new_store) -> None:
    store, _ = new_store()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.close()
    assert not Path(f"{store.path}-wal").exists()  # closed captures are one file
    with sqlite3.connect(store.path) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    conn.close()
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["application"] == "socket-inspector"
    assert {"app_version", "created"} <= meta.keys()
    assert app_id == 0x534B4350


def test_session_options_dataclass_is_stored_as_json(new_store) -> None:
    options = SessionOptions(headers=(("X-A", "1"),), framing=Framing.LINES)
    store, _ = new_store(options=options, scheme="tcp", endpoint="tcp://127.0.0.1:7")
    store.close()
    with CaptureStore.open(store.path) as reopened:
        stored = reopened.session.options
    assert stored["headers"] == [["X-A", "1"]] and stored["framing"] == "lines"
    assert reopened.session.state == "running"  # never finished


def test_create_refuses_existing_file_and_unusable_paths(tmp_path: Path, new_store) -> None:
    store, _ = new_store("taken.sockcap")
    store.close()
    clock = SessionClock()
    with pytest.raises(CaptureError, match="already exists"):
        CaptureStore.create(store.path, endpoint="tcp://h:1", scheme="tcp", options={}, clock=clock)
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("x")
    with pytest.raises(CaptureError, match="cannot create capture file") as info:
        CaptureStore.create(
            not_a_dir / "x.sockcap", endpoint="tcp://h:1", scheme="tcp", options={}, clock=clock
        )
    assert "Not a directory" in str(info.value)
    again = CaptureStore.create(
        store.path, endpoint="tcp://h:2", scheme="tcp", options={}, clock=clock, overwrite=True
    )
    assert again.count() == 0
    again.close()


def test_several_sessions_in_one_file(new_store) -> None:
    store, recorder = new_store()
    recorder.record(Direction.IN, Kind.DATA, wire=b"first", payload=b"first")
    store.close()
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "INSERT INTO sessions VALUES (2, 'udp://h:5', 'udp', 7, 9, 'closed', '{}', '{}')"
        )
        conn.execute("INSERT INTO records VALUES (2, 0, 1, 'in', 'datagram', x'41', NULL, 1, NULL)")
    conn.close()
    with CaptureStore.open(store.path) as first:
        assert [s.id for s in first.sessions()] == [1, 2]
        assert first.session.id == 1 and first.records(0, 5)[0].wire == b"first"
    with CaptureStore.open(store.path, session_id=2) as second:
        assert second.session.endpoint == "udp://h:5" and second.count() == 1
        assert second.records(0, 5)[0].payload == b"A"
    with pytest.raises(CaptureError, match="no session 3"):
        CaptureStore.open(store.path, session_id=3)


def test_closed_store_reads_give_capture_error(new_store) -> None:
    store, _ = new_store()
    store.close()
    store.close()  # idempotent
    with pytest.raises(CaptureError, match="closed"):
        store.records(0, 1)


def test_paths_with_uri_characters(tmp_path: Path) -> None:
    odd = tmp_path / "dir with space" / "a?b#c%20d é.sockcap"
    odd.parent.mkdir()
    clock = SessionClock()
    store = CaptureStore.create(odd, endpoint="tcp://h:1", scheme="tcp", options={}, clock=clock)
    store.write(Record(0, 1, Direction.IN, Kind.DATA, b"x", b"x"))
    store.close()
    with CaptureStore.open(odd) as reopened:
        assert reopened.records(0, 5) == [Record(0, 1, Direction.IN, Kind.DATA, b"x", b"x")]
    assert sorted(p.name for p in odd.parent.iterdir()) == [odd.name]


def test_live_session_matches_what_reopening_shows(new_store) -> None:
    options = SessionOptions(subprotocols=("chat",))
    store, _ = new_store(options=options)
    store.finish("failed", {"phases": (1, 2), "failure": "refused"})
    live = store.session
    store.close()
    with CaptureStore.open(store.path) as reopened:
        assert reopened.session == live
    assert live.summary == {"phases": [1, 2], "failure": "refused"}


def test_repeated_fields_are_stored_once(new_store) -> None:
    """A flood of same-shaped frames keeps one copy of their fields in the file."""
    store, recorder = new_store()
    fields = {"opcode": "binary", "fin": True, "ranges": [["header", 0, 2], ["payload", 2, 5]]}
    for i in range(1000):
        body = bytes([i % 256]) * 3
        recorder.record(Direction.IN, Kind.FRAME, wire=b"\x82\x03" + body, payload=body,
                        fields=fields)  # fmt: skip
    recorder.record(Direction.META, Kind.INFO, fields={"message": "short"})
    store.close()
    with sqlite3.connect(store.path) as conn:
        sets = conn.execute("SELECT id, fields FROM field_sets").fetchall()
        stored = [row[0] for row in conn.execute("SELECT fields FROM records ORDER BY seq")]
    conn.close()
    assert len(sets) == 1 and json.loads(sets[0][1]) == fields
    assert stored[0].startswith("{") and set(stored[1:1000]) == {"=1"}
    assert stored[1000] == '{"message":"short"}'  # short texts stay inline
    with CaptureStore.open(store.path) as reopened:
        records = reopened.records(0, 1001)
    assert [r.fields for r in records[:1000]] == [fields] * 1000
    assert records[999].payload == bytes([999 % 256]) * 3


def test_schema_1_files_still_open(new_store) -> None:
    """Files written before field sets (schema 1: fields always inline) read as before."""
    store, recorder = new_store()
    recorder.record(Direction.IN, Kind.DATA, wire=b"old", payload=b"old", fields={"n": 1})
    store.close()
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP TABLE field_sets")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    with CaptureStore.open(store.path) as reopened:
        (record,) = reopened.records(0, 10)
    assert (record.wire, dict(record.fields)) == (b"old", {"n": 1})
