"""``inspector compare``: the table, --json, the report file and its captures."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from servers import RunningServer

from inspector.capture.store import CaptureStore
from inspector.cli import run_command


class _Report(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.charts: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figure":
            self.charts.append(dict(attrs)["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _compare(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(["compare", "-n", "3", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_html_report_holds_every_table_row_and_chart(tmp_path: Path) -> None:
    report = tmp_path / "cmp.html"
    code, out, _ = _compare("--transports", "tcp-lines,ws", "--report", str(report),
                            "--capture-dir", str(tmp_path / "caps"))  # fmt: skip
    assert code == 0
    assert "tcp-lines" in out and "ws" in out
    parsed = _Report()
    parsed.feed(report.read_text(encoding="utf-8"))
    assert parsed.rows[0][0] == "transport"
    assert [row[0] for row in parsed.rows[1:]] == ["tcp-lines", "ws"]
    assert parsed.charts == ["chart-latency", "chart-overhead", "chart-setup"]
    assert report.read_text().count("<svg") == 3
    store = CaptureStore.open(tmp_path / "caps" / "compare-ws.sockcap")
    try:
        assert store.count() > 0
    finally:
        store.close()


def test_json_and_markdown_and_a_failing_row(tmp_path: Path) -> None:
    report = tmp_path / "cmp.md"
    code, out, _ = _compare("--transports", "tcp-len32,udp", "--json", "--report", str(report),
                            "--url", "tcp-len32=tcp://127.0.0.1:1")  # fmt: skip
    assert code == 1  # one transport failed
    data = json.loads(out)
    rows = {r["transport"]: r for r in data["results"]}
    assert rows["tcp-len32"]["ok"] is False and rows["tcp-len32"]["error"]
    assert rows["udp"]["ok"] is True and rows["udp"]["messages"] == 3
    text = report.read_text(encoding="utf-8")
    assert "| tcp-len32 | FAILED" in text and "| udp |" in text
    for chart in ("latency", "overhead", "setup"):
        assert f"cmp-{chart}.png" in text
        assert (tmp_path / f"cmp-{chart}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_wrong_usage_is_one_line() -> None:
    code, _, err = _compare("--transports", "carrier-pigeon")
    assert code == 2 and err.count("\n") == 1 and "carrier-pigeon" in err


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_stops_cleanly_and_prints_what_ran(
    tmp_path: Path, signame: str, code: int
) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "compare", "-n", "20000",
         "--transports", "tcp-lines,http-polling", "--capture-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the first transport finished
        assert "tcp-lines ok" in line
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code
    assert "Traceback" not in err
    assert "tcp-lines" in out and "(cancelled" in out
    for capture in tmp_path.glob("*.sockcap"):  # each one closed and readable
        store = CaptureStore.open(capture)
        store.close()
    assert (tmp_path / "compare-tcp-lines.sockcap").exists()
    assert not list(tmp_path.glob("*-wal"))  # every capture finished


def test_a_url_must_suit_its_transport() -> None:
    for bad in ("ws=tcp://127.0.0.1:9", "http-polling=ws://127.0.0.1:9/", "udp=udp://nohost"):
        code, _, err = _compare("--url", bad)
        assert code == 2 and err.count("\n") == 1 and bad.split("=")[0] in err


def test_an_http_server_that_is_not_the_built_in_one_fails_its_row_only(tmp_path: Path) -> None:
    import asyncio
    import threading

    from inspector.net.compare import Transport
    from inspector.net.compare_run import CompareConfig, run_compare

    async def scenario() -> dict:
        async def not_found(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(not_found, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = CompareConfig(
            count=2,
            transports=(Transport.HTTP_KEEPALIVE, Transport.WS),
            urls={Transport.HTTP_KEEPALIVE: f"http://127.0.0.1:{port}/api"},
        )
        async with server:
            report = await run_compare(config)
        return {r.transport: r for r in report.results}

    rows = asyncio.run(scenario())
    assert rows["http-keepalive"].error == (
        "POST /api/echo answered 404 (see docs/sockets-vs-websockets.md for what the server "
        "must do)"
    )
    assert rows["ws"].ok
    assert not any(t.name == "compare-servers" for t in threading.enumerate())


def test_the_table_says_what_deflate_saves_and_counts_clients_in_words() -> None:
    code, out, _ = _compare("--transports", "ws-deflate")
    assert code == 0
    title, _, row = out.splitlines()[:3]
    assert title == "rr: 3 messages of 64 B, 1 client, loopback"
    cells = row.split()
    assert cells[0] == "ws-deflate" and "+-" not in row
    assert cells[4].startswith("(-") and cells[6].startswith("(-"), row  # compressed


def test_help_keeps_its_examples_one_a_line() -> None:
    from inspector.cli.compare import build_compare_parser

    text = build_compare_parser().format_help()
    assert "\n  inspector compare --delay-ms 20 --report compare.html --capture-dir runs/\n" in text
    assert "exit status: 0 every transport ran" in text
    assert "--transports NAME,…" in text


def test_own_urls_say_that_conditions_do_not_reach_them(ws_server: RunningServer) -> None:
    code, out, _ = _compare("--transports", "ws,udp", "--url", f"ws={ws_server.url}",
                            "--delay-ms", "1")  # fmt: skip
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith(("ws:", "udp:"))]
    assert notes == [
        "ws: your own URL: no added delay, jitter or loss (they shape the built-in servers)"
    ]


def test_output_that_cannot_be_written_is_one_line() -> None:
    import errno

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    err = io.StringIO()
    code = run_command(["compare", "-n", "3", "--transports", "udp"], FullDisk(), err)
    assert code == 1
    assert err.getvalue().splitlines() == [
        "inspector compare: udp ok",
        "inspector compare: cannot write the output: No space left on device",
    ]


def test_a_capture_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = _compare("--transports", "udp", "--capture-dir", str(blocker / "runs"))
    assert (code, out) == (1, "")
    assert err == (
        f"inspector compare: cannot create the capture folder {blocker / 'runs'}: Not a directory\n"
    )


def test_a_report_in_a_missing_folder_is_wrong_usage_before_the_run(tmp_path: Path) -> None:
    report = tmp_path / "missing" / "r.html"
    code, out, err = _compare("--transports", "udp", "--report", str(report))
    assert (code, out) == (2, "")
    assert err == (
        f"inspector compare: --report {report}: the folder {report.parent} does not exist\n"
    )
