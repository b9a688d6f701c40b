"""``inspector listen`` in a subprocess, with clients no one here wrote (Python's socket
and ssl, socat, nc): first line, records with conn and peer, stopping, captures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from inspector.capture.store import CaptureStore
from inspector.core.records import Kind

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess and read, never an assertion


class Listening:
    """A running ``inspector listen``: its process, URL and port."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "listen", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        self.first = self.proc.stdout.readline()
        assert self.first, self.proc.stderr.read() if self.proc.stderr else ""
        if self.first.startswith("{"):
            self.url = json.loads(self.first)["url"]
        else:
            assert self.first.startswith("listening on ")
            self.url = self.first.removeprefix("listening on ").strip()
        self.port = int(urlsplit(self.url).port or 0)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the exit; (status, the rest of stdout, stderr).

        Read through the same buffered streams as the first line (communicate() would
        read the descriptors and miss what that read already buffered); the process
        ends by itself in every test, and pytest-timeout bounds a hang."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = self.proc.stdout.read()
        err = self.proc.stderr.read()
        return self.proc.wait(timeout=RUN_TIMEOUT), out, err


@pytest.fixture
def cert_dir(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Keep the made certificate in a private folder, never in the user's."""
    yield {"INSPECTOR_CERT_DIR": str(tmp_path / "certs")}


def exchange(port: int, data: bytes, *, half_close: bool = True) -> bytes:
    """Send ``data`` with a plain socket, half-close, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=RUN_TIMEOUT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def json_records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_echo_json_capture_show_and_export(tmp_path: Path) -> None:
    capture = tmp_path / "server.sockcap"
    server = Listening(
        [
            "tcp://127.0.0.1:0",
            "--echo",
            "--framing",
            "lines",
            "--connections",
            "2",
            "--json",
            "-o",
            str(capture),
        ]
    )
    first = json.loads(server.first)
    assert first["kind"] == "listening" and first["url"] == f"tcp://127.0.0.1:{server.port}"
    assert exchange(server.port, b"hello\nworld\n") == b"hello\nworld\n"
    assert exchange(server.port, b"again\n") == b"again\n"
    status, out, err = server.finish()
    assert status == 0, err
    assert err == ""
    records = json_records(out)
    conn_records = [r for r in records if "conn" in r and r["kind"] != "accepted"]
    assert {r["conn"] for r in conn_records} == {1, 2}
    assert all(r["peer"].startswith("127.0.0.1:") for r in conn_records)
    echoed = [r["text"] for r in conn_records if r["kind"] == "message" and r["dir"] == "out"]
    assert echoed == ["hello", "world", "again"]
    assert [r["kind"] for r in records if "conn" not in r][-1] == "closed"

    with CaptureStore.open(capture) as store:
        sessions = store.sessions()
    assert len(sessions) == 3 and sessions[0].summary["accepted"] == 2
    assert [s.summary.get("conn") for s in sessions[1:]] == [1, 2]
    shown = subprocess.run(
        [sys.executable, "-m", "inspector", "show", str(capture), "--session", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert shown.returncode == 0, shown.stderr
    kinds = [r["kind"] for r in json_records(shown.stdout)]
    assert kinds[0] == "connect" and kinds[-1] == "closed" and kinds.count("message") == 4
    out_file = tmp_path / "conn.jsonl"
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "export",
            str(capture),
            "--session",
            "3",
            "--format",
            "jsonl",
            "-o",
            str(out_file),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert exported.returncode == 0, exported.stderr
    assert b"again" in out_file.read_bytes()


def test_text_output_sigterm_closes_gracefully() -> None:
    server = Listening(["tcp://127.0.0.1:0", "--greet", "hi {{conn}}\\n"])
    assert server.first == f"listening on tcp://127.0.0.1:{server.port}\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=RUN_TIMEOUT) as sock:
        assert sock.recv(100) == b"hi 1\n"
        server.proc.send_signal(signal.SIGTERM)
        assert sock.recv(100) == b""  # the server half-closed: a graceful end
    status, out, err = server.finish()
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert any(line.split()[0] == "#1" and "data" in line and '"hi 1\\n"' in line for line in lines)
    assert "stopped listening: 1 connection accepted" in lines[-1]


def test_duration_and_reply_rules() -> None:
    server = Listening(
        [
            "tcp://127.0.0.1:0",
            "--framing",
            "lines",
            "--duration",
            "3",
            "--reply",
            r"^PING (\d+)=>PONG {{1}}",
            "--reply",
            "(?P<w>x+)=>{{w}}!",
        ]
    )
    assert exchange(server.port, b"PING 42\nxxx\nother\n") == b"PONG 42\nxxx!\n"
    status, _out, err = server.finish()
    assert status == 0 and err == ""


@pytest.mark.parametrize(
    ("argv", "status", "needle"),
    [
        (["tcp://127.0.0.1:0", "--reply", "(=>x"], 2, "bad regular expression"),
        (["tcp://127.0.0.1:0", "--reply", "nothing"], 2, "is not 'REGEX=>TEMPLATE'"),
        (["tcp://127.0.0.1:0", "--broadcast"], 2, "--broadcast goes with --echo"),
        (["tcp://127.0.0.1:0", "--greet", "{{nope}}"], 2, "--greet: unknown placeholder"),
        (["tcp://127.0.0.1"], 2, "needs a port"),
        (["tcp://127.0.0.1:0", "--cert", "x.pem", "--key", "y.pem"], 2, "--cert and --key"),
        (["tcp://127.0.0.1:0", "--rules", "/nonexistent/rules.toml"], 2, "cannot read rules"),
        (["tcp://192.0.2.1:0"], 1, "is not an address of this machine"),
        (
            ["tls://127.0.0.1:0", "--cert", "/nonexistent.pem", "--key", "/k.pem"],
            1,
            "cannot read certificate file /nonexistent.pem",
        ),
        (["udp://127.0.0.1:0", "--framing", "lines"], 2, "--framing is for tcp"),
        (["tcp://127.0.0.1:0", "--subprotocol", "chat"], 2, "are for ws:// and wss://"),
    ],
)
def test_bad_usage_and_faults_are_one_line(argv: list[str], status: int, needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "listen", *argv],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_address_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "inspector", "listen", f"tcp://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"inspector listen: cannot listen on tcp://127.0.0.1:{port}: the address is in use "
        "(another program listens there)\n"
    )


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is installed by .ci/run")
def test_socat_client_tcp() -> None:
    server = Listening(["tcp://127.0.0.1:0", "--echo", "--connections", "1", "--quiet"])
    result = subprocess.run(
        ["socat", "-t", "5", "-", f"TCP:127.0.0.1:{server.port}"],
        input=b"from socat\n",
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.stdout == b"from socat\n"
    status, out, err = server.finish()
    assert status == 0 and out == "" and err == ""


@pytest.mark.skipif(shutil.which("nc") is None, reason="nc is installed by .ci/run")
def test_nc_client_tcp_lines() -> None:
    server = Listening(
        [
            "tcp://127.0.0.1:0",
            "--framing",
            "lines",
            "--reply",
            "(.*)=>got {{1}}",
            "--connections",
            "1",
        ]
    )
    result = subprocess.run(
        ["nc", "-N", "127.0.0.1", str(server.port)],
        input=b"a\nb\n",
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.stdout == b"got a\ngot b\n"
    status, _out, err = server.finish()
    assert status == 0 and err == ""


def test_udp_echo_with_python_and_socat_clients_then_sigint() -> None:
    server = Listening(["udp://127.0.0.1:0", "--echo", "--json"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(RUN_TIMEOUT)
        sock.sendto(b"ping", ("127.0.0.1", server.port))
        assert sock.recvfrom(100) == (b"ping", ("127.0.0.1", server.port))
    if shutil.which("socat") is not None:
        result = subprocess.run(
            ["socat", "-t", "2", "-", f"UDP:127.0.0.1:{server.port}"],
            input=b"from socat",
            capture_output=True,
            timeout=RUN_TIMEOUT,
        )
        assert result.stdout == b"from socat"
    server.proc.send_signal(signal.SIGINT)
    status, out, err = server.finish()
    assert status == 0 and err == ""
    records = json_records(out)
    datagrams = [r for r in records if r["kind"] == "datagram"]
    assert [(r["conn"], r["dir"], r["text"]) for r in datagrams][:2] == [
        (1, "in", "ping"),
        (1, "out", "ping"),
    ]
    assert records[-1]["kind"] == "closed" and "conn" not in records[-1]


def test_udp_idle_ends_a_quiet_client_in_the_output_and_the_capture(tmp_path: Path) -> None:
    capture = tmp_path / "udp.sockcap"
    server = Listening(
        ["udp://127.0.0.1:0", "--echo", "--json", "--udp-idle", "0.2", "--connections", "1",
         "-o", str(capture)]
    )  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(RUN_TIMEOUT)
        sock.sendto(b"hi", ("127.0.0.1", server.port))
        assert sock.recvfrom(100)[0] == b"hi"
    status, out, err = server.finish()  # --connections 1: the idle end stops it
    assert status == 0 and err == ""
    closed = [r for r in json_records(out) if r["kind"] == "closed" and r.get("conn") == 1]
    assert (
        closed and closed[0]["message"] == "idle: nothing from " + closed[0]["peer"] + " for 0.2 s"
    )
    with CaptureStore.open(capture) as store:
        sessions = store.sessions()
        conn = next(s for s in sessions if s.summary.get("conn") == 1)
        assert str(conn.summary["message"]).startswith("idle: ")


def test_tls_with_the_made_certificate_and_python_ssl(cert_dir: dict[str, str]) -> None:
    import ssl

    server = Listening(["tls://127.0.0.1:0", "--echo", "--connections", "1", "--json"], cert_dir)
    first = json.loads(server.first)
    assert first["self_signed"] is True and len(first["cert_sha256"]) == 95
    cert = Path(cert_dir["INSPECTOR_CERT_DIR"]) / "localhost-cert.pem"
    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=RUN_TIMEOUT)
    with context.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(b"over tls")
        assert sock.recv(100) == b"over tls"
    status, out, err = server.finish()
    assert status == 0 and err == ""
    tls = next(r for r in json_records(out) if r["kind"] == "tls")
    assert tls["conn"] == 1 and tls["server_hostname"] == "localhost"
    assert tls["cert"]["sha256"] == first["cert_sha256"].replace(":", "").lower()


def test_tls_bad_key_file_exits_1(tmp_path: Path, cert_dir: dict[str, str]) -> None:
    from inspector.net.certs import ensure_self_signed

    cert, _key = ensure_self_signed(Path(cert_dir["INSPECTOR_CERT_DIR"]))
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "tls://127.0.0.1:0",
            "--cert",
            str(cert),
            "--key",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stderr == f"inspector listen: {bad} is not a PEM private key\n"


def test_an_unwritable_capture_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "x.sockcap"
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "listen", "tcp://127.0.0.1:0", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector listen: cannot create capture")


def test_a_hundred_clients_at_once_all_recorded(tmp_path: Path) -> None:
    import asyncio

    capture = tmp_path / "many.sockcap"
    clients, lines = 100, 10
    server = Listening(
        [
            "tcp://127.0.0.1:0",
            "--echo",
            "--framing",
            "lines",
            "--connections",
            str(clients),
            "--quiet",
            "-o",
            str(capture),
        ]
    )

    async def client(number: int) -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        payload = b"".join(b"%d:%d\n" % (number, i) for i in range(lines))
        writer.write(payload)
        writer.write_eof()
        echoed = await reader.read()
        writer.close()
        return echoed == payload

    async def all_clients() -> list[bool]:
        async with asyncio.timeout(RUN_TIMEOUT):
            return await asyncio.gather(*(client(n) for n in range(clients)))

    assert all(asyncio.run(all_clients()))
    status, out, err = server.finish()
    assert status == 0 and out == "" and err == ""
    with CaptureStore.open(capture) as store:
        sessions = store.sessions()
    assert len(sessions) == clients + 1
    assert sessions[0].summary["accepted"] == clients and sessions[0].summary["ended"] == clients
    for session in sessions[1:]:
        assert session.state == "closed"
        assert session.summary["messages_in"] == session.summary["messages_out"] == lines
        with CaptureStore.open(capture, session_id=session.id) as store:
            records = store.records(0, 1000)
        assert sum(r.kind is Kind.MESSAGE for r in records) == 2 * lines
        assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is True


def test_max_connections_refuses_the_next_client() -> None:
    server = Listening(["tcp://127.0.0.1:0", "--max-connections", "1", "--json"])
    with socket.create_connection(("127.0.0.1", server.port), timeout=RUN_TIMEOUT) as first:
        first.sendall(b"x")
        with socket.create_connection(("127.0.0.1", server.port), timeout=RUN_TIMEOUT) as second:
            assert second.recv(10) == b""  # accepted by the kernel, then closed
        server.proc.send_signal(signal.SIGINT)
        assert first.recv(10) == b""
    status, out, err = server.finish()
    assert status == 0 and err == ""
    refused = [r for r in json_records(out) if r["kind"] == "refused"]
    assert len(refused) == 1 and "(max connections: 1)" in refused[0]["message"]


def test_ws_echo_with_the_websockets_client() -> None:
    from websockets.sync.client import connect

    server = Listening(["ws://127.0.0.1:0/", "--echo", "--connections", "1", "--json"])
    assert server.url == f"ws://127.0.0.1:{server.port}/"
    with connect(server.url, open_timeout=RUN_TIMEOUT) as client:
        client.send("hello")
        assert client.recv(timeout=RUN_TIMEOUT) == "hello"
    status, out, err = server.finish()
    assert status == 0 and err == ""
    records = json_records(out)
    frames = [(r["dir"], r["opcode"]) for r in records if r["kind"] == "frame" and r["conn"] == 1]
    assert ("in", "text") in frames and ("out", "text") in frames
    assert [r for r in records if r["kind"] == "handshake"][1]["status"] == 101


def test_text_output_names_the_certificate(cert_dir: dict[str, str]) -> None:
    server = Listening(["tls://127.0.0.1:0", "--duration", "0.5"], cert_dir)
    assert server.first == f"listening on tls://127.0.0.1:{server.port}\n"
    status, out, err = server.finish()
    assert status == 0 and err == ""
    lines = out.splitlines()
    cert = Path(cert_dir["INSPECTOR_CERT_DIR"]) / "localhost-cert.pem"
    assert lines[0].startswith("certificate SHA-256 ") and lines[0].endswith(
        f"(made for localhost, {cert})"
    )
    assert "stopped listening: 0 connections accepted" in lines[-1]
