"""``inspector show`` and ``inspector export`` on sessions recorded by ``inspector probe -o``
against the fixture servers, on the HAR fixtures, and on hostile files."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import servers

from inspector.capture.formats import import_har, read_jsonl
from inspector.capture.store import CaptureStore
from inspector.cli import run_command
from inspector.cli.export import REDACTED_NOTE, ProgressLine
from inspector.core.render import record_line

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess, never an assertion
HAR_DATA = Path(__file__).parent.parent / "capture" / "formats" / "data"
HAR_FIXTURES = sorted(HAR_DATA.glob("*.har"))
TOKEN = "Bearer sekrit-token-42"
TSHARK = shutil.which("tshark")


def inspector(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m inspector ARGV`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", *argv],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        **kwargs,
    )


@dataclass(frozen=True, slots=True)
class Ran:
    """The result of one in-process command."""

    status: int
    out: str
    err: str


def run(*argv: str) -> Ran:
    """Run one headless command in this process, capturing its output."""
    out, err = io.StringIO(), io.StringIO()
    status = run_command(list(argv), stdout=out, stderr=err)
    return Ran(status, out.getvalue(), err.getvalue())


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("inspector")
    return lines[0]


def tshark(path: Path, display_filter: str, *fields: str) -> list[list[str]]:
    """Rows of the fields tshark dissects from the packets passing ``display_filter``."""
    assert TSHARK is not None
    argv = [TSHARK, "-r", str(path), "-Y", display_filter, "-T", "fields"]
    for name in fields:
        argv += ["-e", name]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


# -- recorded sessions ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """A capture written by ``inspector probe -o`` and what probe printed."""

    path: Path
    probe_json: str


@pytest.fixture(scope="module")
def ws_capture(
    ws_server: servers.RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Recorded:
    path = tmp_path_factory.mktemp("ws") / "ws.sockcap"
    result = inspector(
        "probe", ws_server.url, "--send", "hello", "--send-hex", "00 ff 10", "--send", "ping-me",
        "--header", f"Authorization: {TOKEN}", "--count", "3", "--json", "-o", str(path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Recorded(path, result.stdout)


@pytest.fixture(scope="module")
def tcp_capture(
    tcp_echo_server: servers.RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("tcp") / "tcp.sockcap"
    result = inspector("probe", tcp_echo_server.url, "--send", r"abc\n", "--framing", "lines",
                       "--count", "1", "--quiet", "-o", str(path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def udp_capture(
    udp_echo_server: servers.RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("udp") / "udp.sockcap"
    result = inspector("probe", udp_echo_server.url, "--send-hex", "01 02 03", "--send", "x",
                       "--count", "2", "--quiet", "-o", str(path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


def stored(path: Path) -> list[Any]:
    with CaptureStore.open(path) as store:
        return store.records(0, store.count())


# -- show ---------------------------------------------------------------------------


def test_show_json_is_exactly_what_probe_printed(ws_capture: Recorded) -> None:
    result = inspector("show", str(ws_capture.path), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == ws_capture.probe_json
    assert len(result.stdout.splitlines()) > 10


def test_show_text_uses_probe_line_format(ws_capture: Recorded) -> None:
    shown = run("show", str(ws_capture.path))
    assert shown.status == 0, shown.err
    records = stored(ws_capture.path)
    assert shown.out == "".join(record_line(r) + "\n" for r in records)
    assert any("← text" in line and '"hello"' in line for line in shown.out.splitlines())
    assert any("00 ff 10" in line for line in shown.out.splitlines())


def test_show_filters(ws_capture: Recorded) -> None:
    path = str(ws_capture.path)
    inbound = json_lines(run("show", path, "--json", "--filter-dir", "in").out)
    assert inbound and {r["dir"] for r in inbound} == {"in"}
    frames = json_lines(run("show", path, "--json", "--kind", "frame").out)
    assert frames and {r["kind"] for r in frames} == {"frame"}
    both = json_lines(run("show", path, "--json", "--kind", "frame", "--kind", "handshake").out)
    assert {r["kind"] for r in both} == {"frame", "handshake"}
    hello = json_lines(run("show", path, "--json", "--grep", "hello").out)
    assert [(r["dir"], r["text"]) for r in hello] == [("out", "hello"), ("in", "hello")]
    assert run("show", path, "--grep", "HELLO").out == ""
    upper = json_lines(run("show", path, "--json", "--grep", "HELLO", "-i").out)
    assert [r["seq"] for r in upper] == [r["seq"] for r in hello]
    regex = json_lines(
        run("show", path, "--json", "--regex", "^p[a-z]+-me$", "--filter-dir", "in").out
    )
    assert regex and all(r["dir"] == "in" and r["text"] == "ping-me" for r in regex)
    assert {r.get("opcode") for r in regex} == {"ping", "text"}


def test_show_reads_a_json_lines_export_back(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.jsonl"
    exported = run("export", str(ws_capture.path), "--include-secrets", "-o", str(out))
    assert exported.status == 0, exported.err
    assert exported.err == ""  # secrets kept: no redaction note
    assert run("show", str(out), "--json").out == ws_capture.probe_json
    text = run("show", str(out), "--kind", "frame", "--filter-dir", "out").out
    assert '"hello"' in text and "00 ff 10" in text


@pytest.mark.parametrize("har", HAR_FIXTURES, ids=lambda p: p.stem)
def test_show_opens_browser_har_exports(har: Path) -> None:
    (_, records), *_ = import_har(har)
    result = inspector("show", str(har), "--json")
    assert result.returncode == 0, result.stderr
    shown = json_lines(result.stdout)
    assert [r["seq"] for r in shown] == [r.seq for r in records]
    assert [r["kind"] for r in shown[:2]] == ["handshake", "handshake"]
    assert sum(r["kind"] == "frame" for r in shown) >= 2
    text = inspector("show", str(har), "--kind", "frame")
    assert text.returncode == 0 and len(text.stdout.splitlines()) == len(shown) - 2


def test_har_detected_by_content_not_extension(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    shutil.copy(HAR_DATA / "chrome_websocket.har", renamed)
    assert run("show", str(renamed)).out == run("show", str(HAR_DATA / "chrome_websocket.har")).out


def _merged_har(tmp_path: Path) -> Path:
    logs = [json.loads(p.read_text("utf-8"))["log"] for p in HAR_FIXTURES]
    merged = {"log": {**logs[0], "entries": [e for log in logs for e in log["entries"]]}}
    path = tmp_path / "merged.har"
    path.write_text(json.dumps(merged), "utf-8")
    return path


def test_har_with_several_sessions_has_header_lines(tmp_path: Path) -> None:
    path = _merged_har(tmp_path)
    shown = run("show", str(path))
    assert shown.status == 0, shown.err
    headers = [line for line in shown.out.splitlines() if line.startswith("# session ")]
    assert [h.split()[2:4] for h in headers] == [["1", "of"], ["2", "of"], ["3", "of"]]
    as_json = json_lines(run("show", str(path), "--json").out)
    assert [r["session"] for r in as_json if "session" in r] == [1, 2, 3]
    second = run("show", str(path), "--session", "2")
    assert second.out == run("show", str(HAR_FIXTURES[1])).out
    refused = run("export", str(path), "-o", str(tmp_path / "x.pcapng"))
    assert refused.status == 2 and "--session" in refused.err
    assert not (tmp_path / "x.pcapng").exists()


def test_capture_with_several_sessions(ws_capture: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "two.sockcap"
    shutil.copy(ws_capture.path, path)
    with sqlite3.connect(path) as conn:  # a second session, as a merged import would add
        conn.execute(
            "INSERT INTO sessions (id, endpoint, scheme, started_wall_ns, ended_wall_ns, state,"
            " options, summary) SELECT 2, endpoint, scheme, started_wall_ns, ended_wall_ns,"
            " state, options, summary FROM sessions WHERE id = 1"
        )
        columns = ", ".join(row[1] for row in conn.execute("PRAGMA table_info(records)"))
        conn.execute(
            f"INSERT INTO records ({columns}) SELECT {columns.replace('session_id', '2')}"
            " FROM records WHERE session_id = 1 AND seq < 5"
        )
    shown = run("show", str(path))
    assert shown.status == 0, shown.err
    assert sum(line.startswith("# session ") for line in shown.out.splitlines()) == 2
    assert "· 5 records" in shown.out
    only = json_lines(run("show", str(path), "--json", "--session", "2").out)
    assert [r["seq"] for r in only] == [0, 1, 2, 3, 4]
    out = tmp_path / "s2.jsonl"
    assert run("export", str(path), "--session", "2", "-o", str(out)).status == 0
    assert len(read_jsonl(out)) == 5


def test_show_piped_into_head_does_not_traceback(
    ws_server: servers.RunningServer, tmp_path: Path
) -> None:
    path = tmp_path / "many.sockcap"
    sends = [arg for i in range(800) for arg in ("--send", f"message {i}")]
    result = inspector("probe", ws_server.url, *sends, "--count", "800", "--quiet",
                       "-o", str(path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with subprocess.Popen(
        [sys.executable, "-m", "inspector", "show", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as show:
        assert show.stdout is not None and show.stderr is not None
        first = show.stdout.readline()
        show.stdout.close()  # as `head -1` does
        err = show.stderr.read()
        status = show.wait(timeout=RUN_TIMEOUT)
    assert b"resolve" in first
    assert err == b"", err
    assert status == 0


# -- export --------------------------------------------------------------------------


@needs_tshark
def test_export_pcapng_dissected_by_tshark(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.pcapng"
    result = inspector("export", str(ws_capture.path), "--format", "pcapng", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == REDACTED_NOTE + "\n"
    frames = [r for r in stored(ws_capture.path) if r.kind == "frame"]
    rows = tshark(out, "websocket", "websocket.opcode", "websocket.payload.text")
    assert [int(row[0]) for row in rows] == [r.fields["opcode_value"] for r in frames]
    texts = [row[1] for row in rows if row[1]]
    assert texts == ["hello", "ping-me", "hello", "ping-me"]
    binary = tshark(out, "websocket.opcode == 2", "data.data")
    assert [row[0].replace(":", "") for row in binary] == ["00ff10", "00ff10"]
    auth = tshark(out, "http.request", "http.authorization")
    assert auth == [["[redacted]"]]
    with_secrets = tmp_path / "secrets.pcapng"
    kept = run("export", str(ws_capture.path), "--include-secrets", "-o", str(with_secrets))
    assert kept.status == 0 and kept.err == ""
    assert tshark(with_secrets, "http.request", "http.authorization") == [[TOKEN]]
    assert os.stat(with_secrets).st_mode & 0o077 == 0  # secrets inside: owner only


@needs_tshark
def test_export_tcp_and_udp_pcapng(tcp_capture: Path, udp_capture: Path, tmp_path: Path) -> None:
    tcp_out, udp_out = tmp_path / "tcp.pcapng", tmp_path / "udp.pcapng"
    assert run("export", str(tcp_capture), "-o", str(tcp_out)).status == 0
    stream = tshark(tcp_out, "tcp.len > 0", "tcp.payload")
    assert [row[0].replace(":", "") for row in stream] == ["6162630a", "6162630a"]
    assert run("export", str(udp_capture), "--format", "pcapng", "-o", str(udp_out)).status == 0
    datagrams = tshark(udp_out, "udp", "udp.length")
    assert [int(row[0]) - 8 for row in datagrams] == [3, 1, 3, 1]


@needs_tshark
def test_export_har_input_to_pcapng(tmp_path: Path) -> None:
    har = HAR_DATA / "chrome_websocket.har"
    (_, records), *_ = import_har(har)
    out = tmp_path / "chrome.pcapng"
    result = run("export", str(har), "--format", "pcapng", "-o", str(out))
    assert result.status == 0, result.err
    rows = tshark(out, "websocket", "websocket.opcode")
    assert len(rows) == sum(r.kind == "frame" for r in records)


def test_export_har_round_trips_through_show(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.har"
    result = run("export", str(ws_capture.path), "-o", str(out))
    assert result.status == 0 and result.err == REDACTED_NOTE + "\n"
    log = json.loads(out.read_text("utf-8"))["log"]
    (entry,) = log["entries"]
    messages = [(m["type"], m["opcode"]) for m in entry["_webSocketMessages"]]
    assert ("send", 1) in messages and ("receive", 2) in messages
    headers = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert headers["Authorization"] == "[redacted]"
    shown = json_lines(run("show", str(out), "--json", "--kind", "frame").out)
    texts = [r.get("text") for r in shown if r["opcode"] == "text"]
    assert texts == ["hello", "ping-me", "hello", "ping-me"]


def test_export_jsonl_lines_and_redaction(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.jsonl"
    result = run("export", str(ws_capture.path), "--format", "jsonl", "-o", str(out))
    assert result.status == 0 and result.err == REDACTED_NOTE + "\n"
    lines = json_lines(out.read_text("utf-8"))
    assert len(lines) == len(stored(ws_capture.path))
    request = next(r for r in lines if r["kind"] == "handshake" and r["dir"] == "out")
    assert ["Authorization", "[redacted]"] in request["headers"]
    assert request["_redacted"] is True
    assert TOKEN not in out.read_text("utf-8")


def test_har_export_of_a_tcp_session_is_refused(tcp_capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "tcp.har"
    out.write_text("keep me")
    result = inspector("export", str(tcp_capture), "--format", "har", "-o", str(out))
    assert result.returncode == 1
    assert "HAR holds only WebSocket sessions" in one_error_line(result.stderr)
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tcp.har"]


def test_export_replaces_an_existing_file(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.jsonl"
    out.write_text("old")
    assert run("export", str(ws_capture.path), "-o", str(out)).status == 0
    assert out.read_text("utf-8").startswith('{"seq": 0')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.jsonl"]


# -- bad input and output ------------------------------------------------------------


def _hostile(tmp_path: Path, ws_path: Path, name: str) -> Path:
    """Make one kind of bad input file; return its path."""
    path = tmp_path / name
    if name == "empty.sockcap":
        path.write_bytes(b"")
    elif name == "random.bin":
        path.write_bytes(bytes(range(256)) * 40)
    elif name == "truncated.sockcap":
        data = ws_path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif name == "newer.sockcap":
        shutil.copy(ws_path, path)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    elif name == "a-directory":
        path.mkdir()
    elif name == "truncated.har":
        data = (HAR_DATA / "firefox_websocket.har").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif name == "truncated.jsonl":
        path.write_bytes(b'{"seq": 0, "t": 0.5, "dir": "in", "kind": "fr')
    elif name == "plain.sqlite":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t (x)")
    elif name == "spaces.har":
        path.write_bytes(b"\n   \n")
    return path  # "missing.sockcap" is never created


HOSTILE = [
    ("empty.sockcap", "is empty"),
    ("random.bin", "not a capture, HAR or JSON Lines file"),
    ("truncated.sockcap", "damaged"),
    ("newer.sockcap", "newer Socket Inspector"),
    ("a-directory", "is a directory"),
    ("missing.sockcap", "No such file"),
    ("truncated.har", "not valid JSON"),
    ("truncated.jsonl", "not valid JSON"),
    ("plain.sqlite", "not a Socket Inspector capture"),
    ("spaces.har", "white space"),
]


@pytest.mark.parametrize(("name", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_bad_files_are_one_line_and_exit_1(
    name: str, words: str, ws_capture: Recorded, tmp_path: Path
) -> None:
    path = _hostile(tmp_path, ws_capture.path, name)
    shown = inspector("show", str(path))
    assert shown.returncode == 1
    assert words in one_error_line(shown.stderr)
    out = tmp_path / "out.pcapng"
    exported = run("export", str(path), "-o", str(out))
    assert exported.status == 1
    assert words in one_error_line(exported.err)
    assert not out.exists()


def test_output_in_a_missing_directory(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "x.pcapng"
    result = inspector("export", str(ws_capture.path), "-o", str(out))
    assert result.returncode == 1
    assert "No such file or directory" in one_error_line(result.stderr)


@pytest.mark.parametrize("where", ["a-directory", "under-a-file", "the-input"])
def test_output_that_cannot_be_a_file(where: str, ws_capture: Recorded, tmp_path: Path) -> None:
    source = tmp_path / "in.sockcap"
    shutil.copy(ws_capture.path, source)
    before = source.read_bytes()
    out = {
        "a-directory": tmp_path,
        "under-a-file": source / "x.jsonl",
        "the-input": source,
    }[where]
    result = run("export", str(source), "--format", "jsonl", "-o", str(out))
    assert result.status == 1
    one_error_line(result.err)
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.sockcap"]


def _limit_file_size() -> None:
    """In the child: files may not grow past 1 KiB (writes then fail like a full disk)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))


@pytest.mark.parametrize("fmt", ["pcapng", "har", "jsonl"])
def test_full_disk_leaves_no_partial_file(fmt: str, ws_capture: Recorded, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"ws.{fmt}"
    result = inspector(
        "export", str(ws_capture.path), "-o", str(out), "--include-secrets",
        preexec_fn=_limit_file_size,
    )  # fmt: skip
    assert result.returncode == 1
    assert "File too large" in one_error_line(result.stderr)
    assert list(out_dir.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_export_to_a_full_device_is_one_line_and_leaves_the_device(ws_capture: Recorded) -> None:
    before = os.stat("/dev/full")
    result = inspector(
        "export", str(ws_capture.path), "--format", "jsonl", "-o", "/dev/full", "--include-secrets"
    )
    assert result.returncode == 1
    assert "No space left on device" in one_error_line(result.stderr)
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="needs /dev/stdout")
def test_export_into_a_pipe_is_written_in_place(ws_capture: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "ws.jsonl"
    assert run("export", str(ws_capture.path), "-o", str(out)).status == 0
    result = inspector("export", str(ws_capture.path), "--format", "jsonl", "-o", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout == out.read_text("utf-8")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["show"], "FILE"),
        (["show", "f", "--filter-dir", "up"], "--filter-dir"),
        (["show", "f", "--kind", "packet"], "--kind"),
        (["show", "f", "--grep", "a", "--regex", "b"], "not allowed with"),
        (["show", "f", "--session", "0"], "--session"),
        (["export", "f"], "-o/--output"),
        (["export", "f", "-o", "x.pcapng", "--format", "csv"], "--format"),
        (["export", "f", "-o", "x.bin"], "--format is needed"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], words: str) -> None:
    result = run(*argv)
    assert result.status == 2
    assert words in one_error_line(result.err)


def test_bad_regex_and_session_are_usage_errors(ws_capture: Recorded) -> None:
    bad = run("show", str(ws_capture.path), "--regex", "(unclosed")
    assert bad.status == 2 and "invalid regular expression" in one_error_line(bad.err)
    missing = run("show", str(ws_capture.path), "--session", "7")
    assert missing.status == 2 and "no session 7" in one_error_line(missing.err)


# -- progress --------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal_after_a_second() -> None:
    now = [0.0]
    terminal = Terminal()
    progress = ProgressLine(terminal, 10_000, clock=lambda: now[0])
    assert progress(1024) is True
    assert terminal.getvalue() == ""  # under a second: nothing
    now[0] = 1.5
    assert progress(5000) is True
    assert terminal.getvalue() == "\rinspector export: 5,000 of 10,000 records (50%)"
    now[0] = 1.55
    progress(6000)  # within 0.1 s of the last redraw: skipped
    assert "6,000" not in terminal.getvalue()
    progress.finish()
    assert terminal.getvalue().endswith("\r\x1b[K")
    piped = io.StringIO()
    silent = ProgressLine(piped, 10_000, clock=lambda: now[0] + 5)
    silent(9000)
    silent.finish()
    assert piped.getvalue() == ""


def test_json_lines_input_streams_subsets_and_reports_bad_lines(
    ws_capture: Recorded, tmp_path: Path
) -> None:
    full = tmp_path / "full.jsonl"
    assert run("export", str(ws_capture.path), "-o", str(full)).status == 0
    lines = full.read_text("utf-8").splitlines()
    subset = tmp_path / "frames.jsonl"  # what `jq -c 'select(.kind == "frame")'` leaves
    subset.write_text("\n".join(line for line in lines if '"kind": "frame"' in line) + "\n")
    shown = json_lines(run("show", str(subset), "--json").out)
    assert [r["seq"] for r in shown] == [json.loads(x)["seq"] for x in lines if "frame" in x]
    assert len(shown) >= 8 and {r["kind"] for r in shown} == {"frame"}
    out = tmp_path / "frames.pcapng"
    assert run("export", str(subset), "-o", str(out)).status == 0
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join([*lines[:3], '{"seq": 3, "dir": "sideways"}', *lines[4:]]))
    result = run("show", str(damaged))
    assert result.status == 1
    assert "line 4" in one_error_line(result.err)
