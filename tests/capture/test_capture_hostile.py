"""Every file opened is hostile: anything but a good capture gives one CaptureError line."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.capture import SCHEMA_VERSION, CaptureStore
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind


def read_everything(path: Path) -> None:
    """Open a capture and use every read; must succeed or raise CaptureError only."""
    with CaptureStore.open(path) as store:
        store.sessions()
        total = store.count()
        records = store.records(0, total + 10)
        assert [r.seq for r in records] == list(range(len(records)))
        for record in records[:5]:
            assert store.record(record.seq) == record
        store.matching(directions={"in", "out"}, kinds={"frame", "data"}, text="record")
        store.matching(regex="rec(ord)?")


def expect_capture_error(path: Path, match: str | None = None) -> str:
    """Opening and reading ``path`` raises a CaptureError; return its one line."""
    with pytest.raises(CaptureError, match=match) as info:
        read_everything(path)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.fixture
def good_capture(new_store) -> Path:
    """A finished capture of 300 varied records."""
    store, recorder = new_store("good.sockcap")
    for i in range(300):
        body = b"record %d " % i + bytes(range(i % 256)) * 2
        if i % 3 == 0:
            recorder.record(Direction.IN, Kind.DATA, wire=body, payload=body)
        elif i % 3 == 1:
            recorder.record(
                Direction.OUT,
                Kind.FRAME,
                wire=b"\x82\x7e" + body,
                payload=body,
                fields={"opcode": "binary", "fin": True, "ranges": [["header", 0, 4]]},
            )
        else:
            recorder.record(Direction.META, Kind.INFO, fields={"message": f"note {i}"})
    store.finish("closed", {"counts": {"records": 300}})
    store.close()
    read_everything(store.path)  # the unharmed file reads fine
    return store.path


def test_missing_empty_directory_text_and_random_files(tmp_path: Path) -> None:
    expect_capture_error(tmp_path / "absent.sockcap", "No such file")
    empty = tmp_path / "empty.sockcap"
    empty.write_bytes(b"")
    expect_capture_error(empty, "is empty")
    expect_capture_error(tmp_path, "not a regular file")
    text = tmp_path / "notes.sockcap"
    text.write_text("these are my notes\n" * 50)
    expect_capture_error(text, "not a Socket Inspector capture")
    noise = tmp_path / "noise.sockcap"
    noise.write_bytes(os.urandom(64 * 1024))
    expect_capture_error(noise, "not a Socket Inspector capture")
    fake = tmp_path / "fake.sockcap"
    fake.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    expect_capture_error(fake)
    fifo = tmp_path / "pipe.sockcap"
    os.mkfifo(fifo)
    expect_capture_error(fifo, "not a regular file")  # and no hang on open()


def test_other_sqlite_databases_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    conn.close()
    expect_capture_error(other, "not a Socket Inspector capture")
    # The right application id but none of our tables.
    with sqlite3.connect(other) as conn:
        conn.execute("PRAGMA application_id = 0x534B4350")
    conn.close()
    expect_capture_error(other, "not a Socket Inspector capture")


def _edit(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def test_newer_schema_version_is_refused_with_versions(good_capture: Path) -> None:
    _edit(good_capture, "UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    text = expect_capture_error(good_capture, "newer Socket Inspector")
    assert "(schema 7)" in text and f"reads up to {SCHEMA_VERSION}" in text


@pytest.mark.parametrize(
    ("statements", "match"),
    [
        (["DELETE FROM meta WHERE key = 'schema_version'"], "schema version is missing"),
        (["UPDATE meta SET value = 'one' WHERE key = 'schema_version'"], "schema version"),
        (["UPDATE meta SET value = '0' WHERE key = 'schema_version'"], "invalid"),
        (["DROP TABLE records"], "table records is missing"),
        (
            [
                "ALTER TABLE records RENAME TO old",
                "CREATE VIEW records AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
                "SELECT x + 1 FROM n) SELECT x AS session_id FROM n",
            ],
            "table records is missing",
        ),
        (["ALTER TABLE sessions DROP COLUMN summary"], "lacks column summary"),
        (["DELETE FROM sessions"], "holds no session"),
        (["DELETE FROM records WHERE seq = 5"], "record 5 is missing"),
        (["DELETE FROM records WHERE seq = 150"], "record 150 is missing"),
        (["UPDATE records SET seq = seq + 1000"], "not numbered from 0"),
        (["UPDATE records SET seq = 5000000000 WHERE seq = 299"], "claims 5000000001 records"),
        (["UPDATE records SET seq = 'x' WHERE seq = 299"], "not numbered from 0"),
        (["UPDATE records SET wire = 'text' WHERE seq = 3"], "record 3 .* not a blob"),
        (["UPDATE records SET fields = '{\"a\":' WHERE seq = 2"], "record 2 .* not valid JSON"),
        (["UPDATE records SET fields = '[1, 2]' WHERE seq = 2"], "not a JSON object"),
        (
            ["UPDATE records SET fields = '" + "[" * 100_000 + "' WHERE seq = 2"],
            "record 2 .* not valid JSON",
        ),
        (["UPDATE records SET t_ns = 1.5 WHERE seq = 4"], "record 4 .* time"),
        (["UPDATE records SET payload_is_wire = 1000000 WHERE seq = 4"], "record 4 .* offset"),
        (["UPDATE records SET payload_is_wire = -1 WHERE seq = 4"], "record 4 .* offset"),
        (["UPDATE records SET payload_is_wire = 'x' WHERE seq = 4"], "record 4 .* offset"),
        (["UPDATE sessions SET options = 'nope'"], "options of session 1"),
        (["UPDATE sessions SET started_wall_ns = 'soon'"], "session 1 .* times"),
    ],
)
def test_damaged_captures_give_one_line(
    good_capture: Path, statements: list[str], match: str
) -> None:
    _edit(good_capture, *statements)
    expect_capture_error(good_capture, match)


def test_truncated_at_every_offset_of_the_last_page(good_capture: Path, tmp_path: Path) -> None:
    data = good_capture.read_bytes()
    assert len(data) > 4096
    outcomes = {"opened": 0, "refused": 0}
    for cut in range(len(data) - 4096, len(data), 7):
        trial = tmp_path / f"cut-{cut}.sockcap"
        trial.write_bytes(data[:cut])
        try:
            read_everything(trial)
            outcomes["opened"] += 1
        except CaptureError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
        trial.unlink()
    assert outcomes["refused"] > 0
    assert sum(outcomes.values()) == len(range(len(data) - 4096, len(data), 7))


def test_truncated_to_a_page_boundary(good_capture: Path, tmp_path: Path) -> None:
    data = good_capture.read_bytes()
    trial = tmp_path / "half.sockcap"
    trial.write_bytes(data[: (len(data) // 2) // 16384 * 16384])
    expect_capture_error(trial)


_BASE: dict[str, bytes] = {}


def _valid_capture_bytes() -> bytes:
    """Bytes of a small finished capture (made once)."""
    if "bytes" not in _BASE:
        from inspector.core.clock import SessionClock
        from inspector.core.recorder import Recorder

        directory = Path(tempfile.mkdtemp())
        try:
            clock = SessionClock()
            store = CaptureStore.create(
                directory / "base.sockcap",
                endpoint="tcp://127.0.0.1:7",
                scheme="tcp",
                options={"framing": "lines"},
                clock=clock,
            )
            recorder = Recorder(sink=store, clock=clock, consumed=False)
            for i in range(40):
                body = b"record %d\n" % i
                recorder.record(
                    Direction.IN,
                    Kind.MESSAGE,
                    wire=body,
                    payload=body[:-1],
                    fields={"framing": "lines", "ranges": [["body", 0, len(body)]]},
                )
            store.finish("closed", {"records": 40})
            store.close()
            _BASE["bytes"] = (directory / "base.sockcap").read_bytes()
        finally:
            shutil.rmtree(directory)
    return _BASE["bytes"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**9), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=6,
    )
)
def test_fuzzed_captures_open_or_refuse_cleanly(edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(_valid_capture_bytes())
    for position, replacement in edits:
        offset = position % len(data)
        data[offset : offset + len(replacement)] = replacement
    directory = Path(tempfile.mkdtemp())
    try:
        path = directory / "fuzzed.sockcap"
        path.write_bytes(bytes(data[: len(_valid_capture_bytes())]))
        try:
            read_everything(path)
        except CaptureError as exc:
            assert "\n" not in str(exc)
    finally:
        shutil.rmtree(directory)


@pytest.fixture
def crashed_state(new_store) -> tuple[bytes, bytes]:
    """The database file and WAL a crash would leave after five commits of 50 records."""
    store, recorder = new_store("crashed.sockcap", commit_interval=3600)
    for _ in range(5):
        for _ in range(50):
            seq = recorder.next_seq
            data = b"record %d " % seq + b"x" * (seq % 300)
            recorder.record(Direction.IN, Kind.DATA, wire=data, payload=data)
        store.flush()
    state = store.path.read_bytes(), Path(f"{store.path}-wal").read_bytes()
    store.close()
    assert len(state[1]) > 4096
    return state


def _whole_commits_or_refused(path: Path, database: bytes, wal: bytes) -> int | None:
    """Open a database + WAL pair: the count seen (whole commits only), or None if refused."""
    path.write_bytes(database)
    Path(f"{path}-wal").write_bytes(wal)
    try:
        with CaptureStore.open(path) as reader:
            total = reader.count()
            records = reader.records(0, total + 1)
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return None
    assert total % 50 == 0  # only whole commits
    assert [r.seq for r in records] == list(range(total))
    assert all(r.wire.startswith(b"record %d " % r.seq) for r in records)
    return total


def test_wal_torn_at_any_offset_keeps_whole_commits_only(
    crashed_state: tuple[bytes, bytes], tmp_path: Path
) -> None:
    """A crash mid-commit leaves a torn WAL: readers see whole commits, never half of one."""
    database, wal = crashed_state
    counts = {
        _whole_commits_or_refused(tmp_path / f"torn-{cut}.sockcap", database, wal[:cut])
        for cut in [*range(0, len(wal), 997), len(wal)]
    }
    # The whole WAL, and torn states in between (whole commits of 50 records each).
    assert 250 in counts and len(counts - {None}) >= 3, counts


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_wal_with_damaged_bytes_keeps_whole_commits_only(
    crashed_state: tuple[bytes, bytes], tmp_path: Path, data: st.DataObject
) -> None:
    database, wal = crashed_state
    damaged = bytearray(wal)
    for _ in range(data.draw(st.integers(1, 4))):
        offset = data.draw(st.integers(0, len(wal) - 1))
        damaged[offset] ^= data.draw(st.integers(1, 255))
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    _whole_commits_or_refused(directory / "damaged.sockcap", database, bytes(damaged))


@pytest.fixture
def shared_fields_capture(new_store) -> Path:
    """A capture whose 50 frame records share one field set (schema 2)."""
    store, recorder = new_store("shared.sockcap")
    fields = {"opcode": "text", "fin": True, "ranges": [["header", 0, 2], ["payload", 2, 4]]}
    for _ in range(50):
        recorder.record(Direction.IN, Kind.FRAME, wire=b"\x81\x02hi", payload=b"hi", fields=fields)
    store.close()
    return store.path


@pytest.mark.parametrize(
    ("statements", "match"),
    [
        (["DELETE FROM field_sets"], "field set 1 is missing"),
        (["UPDATE field_sets SET fields = '[1, 2]'"], "field set 1 is not a JSON object"),
        (["UPDATE field_sets SET fields = '{broken'"], "field set 1 is not valid JSON"),
        (["UPDATE records SET fields = '=x1' WHERE seq = 7"], "is not a number"),
        (["UPDATE records SET fields = '=²' WHERE seq = 7"], "is not a number"),
        (["UPDATE records SET fields = '=99999999999999999999999'"], "is not a number"),
        (["DROP TABLE field_sets"], "table field_sets is missing"),
    ],
)
def test_damaged_field_sets_are_one_clear_line(
    shared_fields_capture: Path, statements: list[str], match: str
) -> None:
    _edit(shared_fields_capture, *statements)
    expect_capture_error(shared_fields_capture, match)


def test_a_reference_in_a_schema_1_file_is_damage(shared_fields_capture: Path) -> None:
    _edit(
        shared_fields_capture,
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
        "DROP TABLE field_sets",
    )
    expect_capture_error(shared_fields_capture, "refer to a field set this file cannot have")
