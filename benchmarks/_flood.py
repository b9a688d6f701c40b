"""Shared parts of the flood benchmarks: servers that are never the bottleneck, and
timing of one client subprocess (wall time and the CPU seconds it used)."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLIENT_TIMEOUT = 120.0  # seconds: every client run is bounded
SERVER_ACCEPT_TIMEOUT = 180.0  # the flood server gives up waiting for clients
CHUNK = 1 << 20  # bytes per write: big writes keep the server far ahead of any client
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


@dataclass(frozen=True, slots=True)
class ClientRun:
    """One client's result: messages it was asked to take, wall and CPU seconds."""

    name: str
    messages: int
    wall: float
    cpu: float
    returncode: int
    #: User CPU seconds alone (``cpu`` adds the kernel's: writing a big file costs much).
    user: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.wall if self.wall else 0.0


def ws_stream(count: int, size: int) -> bytes:
    """``count`` unmasked server text frames of ``size`` ASCII bytes, then a close 1000."""
    if size > 125:
        raise ValueError("frames stay in the 7-bit length form")
    frame = bytes([0x81, size]) + (b"0123456789abcdef" * (size // 16 + 1))[:size]
    return frame * count + b"\x88\x02\x03\xe8"


def socketio_stream(count: int, size: int) -> bytes:
    """Like :func:`ws_stream`, each message a Socket.IO event of ``size`` bytes,
    ``42["tick","0123…"]`` (Engine.IO message, Socket.IO EVENT), as a chatty server sends."""
    head, tail = b'42["tick","', b'"]'
    pad = size - len(head) - len(tail)
    if size > 125 or pad < 0:
        raise ValueError(f"a Socket.IO frame here is {len(head) + len(tail)} to 125 bytes")
    text = head + (b"0123456789abcdef" * (pad // 16 + 1))[:pad] + tail
    return (bytes([0x81, size]) + text) * count + b"\x88\x02\x03\xe8"


def ws_deflated_stream(count: int, size: int) -> bytes:
    """Like :func:`ws_stream`, each message compressed on its own with permessage-deflate
    (RFC 7692 §7.2.1; the server declares server_no_context_takeover), RSV1 set."""
    if size > 125:
        raise ValueError("frames stay in the 7-bit length form")
    text = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    deflater = zlib.compressobj(wbits=-15)
    data = (deflater.compress(text) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return (bytes([0xC1, len(data)]) + data) * count + b"\x88\x02\x03\xe8"


def line_stream(count: int, size: int) -> bytes:
    """``count`` lines of ``size`` bytes each, newline included."""
    return (b"x" * (size - 1) + b"\n") * count


def _recv_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client left during the handshake")
        data += chunk
    return data


def _websocket_accept(request: bytes, deflate: bool = False) -> bytes:
    """The 101 response to an upgrade request: no extension, or permessage-deflate with
    server_no_context_takeover (every message compressed on its own)."""
    key = ""
    for line in request.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n"
        + ("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
           if deflate else "")
        + "\r\n"
    ).encode()  # fmt: skip


def _drain_until_eof(conn: socket.socket, limit: float) -> None:
    conn.settimeout(limit)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def _client_closed(data: bytes) -> bool:
    """True once ``data`` (client frames, masked) holds a close frame (RFC 6455 §5.2)."""
    pos = 0
    while pos + 2 <= len(data):
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        header = 2 + {126: 2, 127: 8}.get(length, 0) + 4
        if pos + header > len(data):
            return False
        if length >= 126:
            length = int.from_bytes(data[pos + 2 : pos + header - 4], "big")
        if opcode == 0x8:
            return True
        pos += header + length
    return False


def _wait_for_client_close(conn: socket.socket, limit: float) -> None:
    """Read until the client's close frame or EOF; the server then closes TCP first
    (RFC 6455 §7.1.1), so no client waits for a close timeout."""
    conn.settimeout(limit)
    data = b""
    try:
        while not _client_closed(data):
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
    except OSError:
        pass


def _serve(kind: str, payload: bytes, clients: int, port_out: multiprocessing.Queue) -> None:
    """Serve ``clients`` connections one after another, then exit."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(SERVER_ACCEPT_TIMEOUT)
        port_out.put(listener.getsockname()[1])
        for _ in range(clients):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(CLIENT_TIMEOUT)
                try:
                    if kind in ("ws", "wsz"):
                        conn.sendall(_websocket_accept(_recv_request(conn), kind == "wsz"))
                    view = memoryview(payload)
                    for start in range(0, len(view), CHUNK):
                        conn.sendall(view[start : start + CHUNK])
                    if kind == "tcp":
                        conn.shutdown(socket.SHUT_WR)
                        _drain_until_eof(conn, CLIENT_TIMEOUT)
                    else:
                        _wait_for_client_close(conn, CLIENT_TIMEOUT)
                except OSError:
                    continue


def start_server(kind: str, payload: bytes, clients: int) -> tuple[multiprocessing.Process, int]:
    """Start a flood server process; return it and its port."""
    ctx = multiprocessing.get_context("spawn")
    port_out: multiprocessing.Queue = ctx.Queue()
    process = ctx.Process(target=_serve, args=(kind, payload, clients, port_out), daemon=True)
    process.start()
    return process, port_out.get(timeout=30)


def _discard(stream: IO[bytes]) -> None:
    """Read a pipe to its end, keeping nothing (the reader a `| cat > /dev/null` is)."""
    while stream.read(1 << 20):
        pass


def time_client(
    name: str, argv: Sequence[str], messages: int, *, stdout_to_null: bool = False
) -> ClientRun:
    """Run one client subprocess to completion; measure its wall and CPU time.

    Its stdout is a pipe drained by a thread of this process (whose CPU is not the
    client's), or /dev/null with ``stdout_to_null``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            list(argv),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL if stdout_to_null else subprocess.PIPE,
            stderr=errors,
        )
        reader = None
        if child.stdout is not None:
            reader = threading.Thread(target=_discard, args=(child.stdout,), daemon=True)
            reader.start()
        try:
            returncode = child.wait(timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            returncode = child.wait()
        wall = time.perf_counter() - start
        if reader is not None:
            reader.join(timeout=10)
            child.stdout.close()  # type: ignore[union-attr]
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if returncode != 0:
        sys.stderr.write(f"{name}: exit {returncode}: {stderr.strip()[-500:]}\n")
    return ClientRun(name, messages, wall, cpu, returncode, after.ru_utime - before.ru_utime)


def report(
    title: str, runs: list[ClientRun], bare: str, also: Sequence[tuple[str, str]] = ()
) -> str:
    """A small Markdown table with the ratios to the bare client, and to each client
    named in ``also`` as (column label, client name)."""
    bases = [("bare", bare), *also]
    by_name = {run.name: run for run in runs}
    lines = [f"### {title}", ""]
    head = "| client | msgs/s | wall s | CPU s |"
    for label, _ in bases:
        head += f" rate vs {label} | CPU vs {label} |"
    lines += [head + " exit |", "|---|" + "---:|" * (4 + 2 * len(bases))]
    for run in runs:
        row = f"| {run.name} | {run.rate:,.0f} | {run.wall:.2f} | {run.cpu:.2f} |"
        for _, name in bases:
            base = by_name[name]
            row += f" {run.rate / base.rate:.2f}x | {run.cpu / base.cpu:.2f}x |"
        lines.append(row + f" {run.returncode} |")
    return "\n".join(lines)


def run_all(
    kind: str,
    payload: bytes,
    clients: list[tuple[str, Callable[[int], list[str]]]],
    messages: int,
) -> list[ClientRun]:
    """Start one server for all clients and time each client in turn."""
    server, port = start_server(kind, payload, len(clients))
    try:
        return [time_client(name, make(port), messages) for name, make in clients]
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
            server.join(timeout=5)
