"""``inspector probe`` against the real fixture servers, in a subprocess and in-process."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import servers
from servers import Close, HostileScript, ServerLoop, Stall, Upgrade, Write
from websockets.asyncio.server import ServerConnection, serve

from inspector.__main__ import main
from inspector.capture.store import CaptureStore

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess, never an assertion


def probe(*argv: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``inspector probe`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", "probe", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The --json output, one dict per record."""
    return [json.loads(line) for line in result.stdout.splitlines()]


def frames(recs: list[dict[str, Any]], direction: str, opcode: str) -> list[dict[str, Any]]:
    return [
        r for r in recs if r["kind"] == "frame" and r["dir"] == direction and r["opcode"] == opcode
    ]


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("inspector: ")
    assert "Traceback" not in result.stderr
    return lines[0]


# -- WebSocket ---------------------------------------------------------------------


def test_ws_echo_with_compression_json(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url, "--send", "hello", "--send-hex", "00 ff 10", "--json",
                   "--count", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    recs = records(result)
    assert [r["seq"] for r in recs] == list(range(len(recs)))
    assert all({"seq", "t", "dir", "kind", "size", "wire"} <= r.keys() for r in recs)
    request, response = (r for r in recs if r["kind"] == "handshake")
    assert request["dir"] == "out" and request["method"] == "GET"
    assert response["dir"] == "in" and response["status"] == 101
    assert "permessage-deflate" in response["extensions"]
    out_text, in_text = frames(recs, "out", "text"), frames(recs, "in", "text")
    assert out_text[0]["text"] == "hello" and in_text[0]["text"] == "hello"
    assert out_text[0]["masked"] is True and in_text[0]["masked"] is False
    assert in_text[0]["rsv1"] is True and in_text[0]["compressed"] is True
    assert in_text[0]["fin"] is True and in_text[0]["opcode_value"] == 1
    assert frames(recs, "in", "binary")[0]["hex"] == "00ff10"
    wire = bytes.fromhex(in_text[0]["wire"])
    assert wire[0] == 0xC1  # FIN + RSV1 + text, exactly as on the wire
    assert frames(recs, "out", "close")[0]["close_code"] == 1000
    assert recs[-1]["kind"] == "closed" and recs[-1]["clean"] is True


def test_ws_echo_without_compression(ws_server_nocompress: servers.RunningServer) -> None:
    result = probe(ws_server_nocompress.url, "--send", r"tab\there", "--json", "--count", "1")
    assert result.returncode == 0, result.stderr
    recs = records(result)
    response = next(r for r in recs if r["kind"] == "handshake" and r["dir"] == "in")
    assert not response["extensions"]
    echoed = frames(recs, "in", "text")[0]
    assert echoed["text"] == "tab\there" and echoed["rsv1"] is False
    assert bytes.fromhex(echoed["wire"]) == b"\x81\x08tab\there"


def test_ws_no_compress_option_offers_nothing(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url, "--no-compress", "--send", "x", "--count", "1", "--json")
    assert result.returncode == 0, result.stderr
    request = records(result)[2]
    assert request["kind"] == "handshake"
    assert "Sec-WebSocket-Extensions" not in {name for name, _ in request["headers"]}
    assert frames(records(result), "in", "text")[0]["rsv1"] is False


def test_ws_readable_lines_in_process(
    ws_server: servers.RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["probe", ws_server.url, "--send", "ping-me", "--count", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert any("→ text" in line and '"ping-me"' in line for line in lines)
    assert any("← ping" in line for line in lines)
    assert any("→ pong auto" in line for line in lines)  # the automatic answer is marked
    assert any("· closed" in line for line in lines)
    assert lines[0].split()[0].replace(".", "").isdigit()  # relative time first


def test_count_closes_after_n_messages(ws_server: servers.RunningServer) -> None:
    # --wait 600 would outlive the subprocess bound: only --count can end this run.
    result = probe(ws_server.url, "--send", "a", "--send", "b", "--count", "2",
                   "--wait", "600", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [f["text"] for f in frames(records(result), "in", "text")] == ["a", "b"]


def test_peer_close_ends_the_wait(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url, "--send", "close-me", "--wait", "600", "--json")
    assert result.returncode == 0, result.stderr
    close = frames(records(result), "in", "close")[0]
    assert (close["close_code"], close["close_reason"]) == (4000, "bye")
    assert frames(records(result), "out", "close")[0]["automatic"] is True


@pytest.fixture
def talker(server_loop: ServerLoop) -> Iterator[tuple[str, list[Any]]]:
    """A server that sends three messages, reads the three echoes, then closes 1000."""
    echoes: list[Any] = []

    async def handler(conn: ServerConnection) -> None:
        for message in ("one", b"\xfftwo", "three ✓"):
            await conn.send(message)
        echoes.extend([await conn.recv() for _ in range(3)])
        await conn.close(1000, "done")

    async def start() -> Any:
        return await serve(handler, "127.0.0.1", 0, compression=None)

    server = server_loop.call(start())
    port = server.sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}/", echoes

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    server_loop.call(stop())


def test_echo_sends_messages_back_until_peer_closes(talker: tuple[str, list[Any]]) -> None:
    url, echoes = talker
    result = probe(url, "--echo", "--json")
    assert result.returncode == 0, result.stderr
    assert echoes == ["one", b"\xfftwo", "three ✓"]
    recs = records(result)
    assert [f["text"] for f in frames(recs, "out", "text")] == ["one", "three ✓"]
    assert frames(recs, "out", "binary")[0]["hex"] == "ff74776f"
    assert frames(recs, "in", "close")[0]["close_reason"] == "done"


def test_wss_with_cafile_header_subprotocol_origin(
    wss_server: servers.RunningServer, tls_ca_file: str
) -> None:
    result = probe(
        wss_server.url, "--cafile", tls_ca_file, "--header", "X-Probe: yes",
        "--subprotocol", "chat.v1", "--origin", "https://app.test", "--send", "secure",
        "--count", "1", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    recs = records(result)
    tls = next(r for r in recs if r["kind"] == "tls")
    assert tls["verified"] is True and tls["version"].startswith("TLS")
    headers = {name.lower(): value for name, value in recs[[r["kind"] for r in recs].index(
        "handshake")]["headers"]}  # fmt: skip
    assert headers["x-probe"] == "yes"
    assert headers["sec-websocket-protocol"] == "chat.v1"
    assert headers["origin"] == "https://app.test"
    assert frames(recs, "in", "text")[0]["text"] == "secure"


def test_wss_without_trust_fails_with_one_line(wss_server: servers.RunningServer) -> None:
    result = probe(wss_server.url, "--send", "x")
    assert result.returncode == 1
    assert "certificate" in _one_error_line(result).lower()


def test_forbidden_upgrade_exits_1(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url_for("/forbidden"), "--json")
    assert result.returncode == 1
    assert "403" in _one_error_line(result)
    response = next(r for r in records(result) if r["kind"] == "handshake" and r["dir"] == "in")
    assert response["status"] == 403 and response["text"] == servers.FORBIDDEN_BODY


def test_masked_frame_from_server_exits_1_and_is_recorded(hostile_server_factory: Any) -> None:
    masked = b"\x81\x85\x01\x02\x03\x04" + bytes(
        b ^ k for b, k in zip(b"hello", b"\x01\x02\x03\x04\x01", strict=True)
    )
    server = hostile_server_factory(HostileScript((Upgrade(), Write(masked))))
    result = probe(server.ws_url, "--json", "--wait", "30")
    assert result.returncode == 1
    assert "mask" in _one_error_line(result).lower()
    recs = records(result)
    bad = next(
        r for r in recs if r["dir"] == "in" and r["kind"] in ("frame", "error") and r["wire"]
    )
    assert bytes.fromhex(bad["wire"]).startswith(masked[:6])


def test_peer_closing_before_the_sends_exits_1(hostile_server_factory: Any) -> None:
    # The 101 and a close frame in one write, so the close is there before any send:
    # the head's final CRLF, then close 1000 whose 2-byte reason is Upgrade's closing CRLF.
    in_one_write = Upgrade(extra_headers=b"\r\n\x88\x04\x03\xe8")
    server = hostile_server_factory(HostileScript((in_one_write, Close())))
    result = probe(server.ws_url, "--send", "x", "--send", "y", "--json", "--wait", "30")
    assert result.returncode == 1
    assert "not sent" in _one_error_line(result)
    assert records(result)[-1]["kind"] == "closed"


def test_close_without_handshake_exits_1(hostile_server_factory: Any) -> None:
    server = hostile_server_factory(HostileScript((Upgrade(), Write(b"\x81\x02hi"), Close())))
    result = probe(server.ws_url, "--wait", "30")
    assert result.returncode == 1
    _one_error_line(result)
    assert '"hi"' in result.stdout


# -- TCP, UDP, errors ------------------------------------------------------------------


def test_tcp_lines_framing(tcp_echo_server: servers.RunningServer) -> None:
    url = f"tcp://127.0.0.1:{tcp_echo_server.port}"
    result = probe(url, "--framing", "lines", "--send", r"one\r\ntwo\n", "--count", "2", "--json")
    assert result.returncode == 0, result.stderr
    inbound = [r for r in records(result) if r["dir"] == "in" and r["kind"] == "message"]
    assert [bytes.fromhex(r["wire"]) for r in inbound] == [b"one\r\n", b"two\n"]
    assert inbound[0]["text"].rstrip("\r\n") == "one"


def test_an_empty_send_on_a_raw_stream_sends_and_records_nothing(
    tcp_echo_server: servers.RunningServer,
) -> None:
    url = f"tcp://127.0.0.1:{tcp_echo_server.port}"
    result = probe(url, "--send", "", "--send", "x", "--count", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "inspector: send 1 of 2 is empty: nothing to send on a raw tcp:// stream\n"
    )
    sent = [r for r in records(result) if r["dir"] == "out"]
    assert [bytes.fromhex(r["wire"]) for r in sent] == [b"x"]


def _printed_and_quiet(
    hostile_server_factory: Any, tmp_path: Path, framing: str, pieces: list[bytes]
) -> tuple[list[bytes], int]:
    """Probe a server writing ``pieces`` twice, printing (--json: records made per
    message) and quietly (messages stored as runs, no record made), both with -o; check
    that both captures read back as what the printing probe showed. Returns the wire
    bytes of the messages shown and the number of run rows in the quiet capture."""
    server = hostile_server_factory(HostileScript((*map(Write, pieces), Close())))
    url = f"tcp://127.0.0.1:{server.port}"
    printed_path, quiet_path = tmp_path / "printed.sockcap", tmp_path / "quiet.sockcap"
    printed = probe(url, "--framing", framing, "--json", "-o", str(printed_path))
    quiet = probe(url, "--framing", framing, "--quiet", "-o", str(quiet_path))
    assert printed.returncode == 0 and quiet.returncode == 0, printed.stderr + quiet.stderr
    shown = records(printed)
    with CaptureStore.open(printed_path) as store:
        kept = store.records(0, store.count())
    assert [(r.seq, r.kind.value, r.wire.hex()) for r in kept] == [
        (r["seq"], r["kind"], r["wire"]) for r in shown
    ]
    with CaptureStore.open(quiet_path) as store:
        kept_quietly = store.records(0, store.count())
    assert [(r.seq, r.kind) for r in kept_quietly] == [(r.seq, r.kind) for r in kept]
    traffic = [(r.kind, r.wire, r.payload, r.fields) for r in kept if r.direction.value != "meta"]
    assert traffic == [
        (r.kind, r.wire, r.payload, r.fields) for r in kept_quietly if r.direction.value != "meta"
    ]
    with sqlite3.connect(quiet_path) as conn:
        (runs,) = conn.execute("SELECT count(*) FROM records WHERE payload_is_wire < 0").fetchone()
    conn.close()
    return [bytes.fromhex(r["wire"]) for r in shown if r["kind"] == "message"], runs


def test_tcp_lines_capture_holds_every_line_printed_or_quiet(
    hostile_server_factory: Any, tmp_path: Path
) -> None:
    """Lines cut across reads, empty lines, CRLF and an unfinished tail."""
    pieces = [b"one\r\ntw", b"o\n\n", b"x" * 5000 + b"\n" + b"y\n" * 3000, b"three\r", b"\ntail"]
    lines, runs = _printed_and_quiet(hostile_server_factory, tmp_path, "lines", pieces)
    assert lines == [b"one\r\n", b"two\n", b"\n", b"x" * 5000 + b"\n", *[b"y\n"] * 3000,
                     b"three\r\n"]  # fmt: skip
    assert 1 <= runs < len(lines) / 100  # a row per read, not per line


def test_tcp_len32_capture_holds_every_message_printed_or_quiet(
    hostile_server_factory: Any, tmp_path: Path
) -> None:
    """Length-prefixed messages cut across reads, one empty, many small ones."""
    small = b"\x00\x00\x00\x02hi" * 2000
    pieces = [b"\x00\x00", b"\x00\x03ab", b"c\x00\x00\x00\x00" + small, b"\x00\x00\x00\x05tail"]
    messages, runs = _printed_and_quiet(hostile_server_factory, tmp_path, "len32", pieces)
    assert messages == [
        b"\x00\x00\x00\x03abc",
        b"\x00\x00\x00\x00",
        *[b"\x00\x00\x00\x02hi"] * 2000,
    ]
    assert 1 <= runs < len(messages) / 100


def test_udp_send_hex(udp_echo_server: servers.RunningServer) -> None:
    url = f"udp://127.0.0.1:{udp_echo_server.port}"
    result = probe(url, "--send-hex", "de ad be ef", "--send", "two", "--count", "2", "--json")
    assert result.returncode == 0, result.stderr
    inbound = [r for r in records(result) if r["dir"] == "in" and r["kind"] == "datagram"]
    assert [r["wire"] for r in inbound] == ["deadbeef", b"two".hex()]


def test_tls_insecure_send_file(tls_echo_server: servers.RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "payload.bin"
    source.write_bytes(b"\xffbc")  # not UTF-8; probe adds the len16 prefix
    url = f"tls://127.0.0.1:{tls_echo_server.port}"
    result = probe(
        url, "--insecure", "--send-file", str(source), "--framing", "len16",
        "--send-hex", "68 69", "--count", "2", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    recs = records(result)
    assert any(r["kind"] == "info" and "not verified" in r["message"] for r in recs)
    inbound = [r for r in recs if r["dir"] == "in" and r["kind"] == "message"]
    assert [r.get("text", r.get("hex")) for r in inbound] == ["ff6263", "hi"]
    assert [bytes.fromhex(r["wire"]) for r in inbound] == [b"\x00\x03\xffbc", b"\x00\x02hi"]


def test_capture_file_is_written(ws_server: servers.RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "session.sqlite"
    result = probe(ws_server.url, "--send", "kept", "--count", "1", "--json", "-o", str(path))
    assert result.returncode == 0, result.stderr
    printed = records(result)
    store = CaptureStore.open(path)
    try:
        assert store.count() == len(printed)
        kept = store.records(0, store.count())
        assert [r.seq for r in kept] == [r["seq"] for r in printed]
        assert [r.wire.hex() for r in kept] == [r["wire"] for r in printed]
        assert store.session.state == "closed"
        assert store.session.summary["ok"] is True
    finally:
        store.close()


def test_refused_connection_exits_1_with_one_line() -> None:
    result = probe(f"tcp://127.0.0.1:{servers.free_port()}", "--send", "x")
    assert result.returncode == 1
    assert "refused" in _one_error_line(result).lower()


def test_refused_websocket_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["probe", f"ws://127.0.0.1:{servers.free_port()}/", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("inspector: ")


def test_bad_url_exits_2() -> None:
    result = probe("ws://[::1/")
    assert result.returncode == 2
    assert result.stderr.startswith("inspector probe: ") and result.stderr.count("\n") == 1


def test_ctrl_c_closes_gracefully_and_exits_130(ws_server: servers.RunningServer) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "probe", ws_server.url, "--send", "hi",
         "--wait", "600", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        seen: list[dict[str, Any]] = []
        for line in process.stdout:  # wait for the echo: the session is open
            seen.append(json.loads(line))
            if seen[-1]["kind"] == "frame" and seen[-1]["dir"] == "in":
                break
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    after = [json.loads(line) for line in rest.splitlines()]
    assert any(r["kind"] == "frame" and r["opcode"] == "close" and r["dir"] == "out" for r in after)
    assert after[-1]["kind"] == "closed"
    assert "Traceback" not in err


def test_ctrl_c_during_the_handshake_exits_130(hostile_server_factory: Any) -> None:
    server = hostile_server_factory(HostileScript((Stall(),)))  # never answers the upgrade
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "probe", server.ws_url, "--timeout", "600", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:  # wait until the upgrade request is out
            if json.loads(line)["kind"] == "handshake":
                break
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert json.loads(rest.splitlines()[-1])["kind"] == "closed"
    assert "Traceback" not in err
