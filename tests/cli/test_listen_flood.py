"""``inspector listen ws://… --echo -o FILE`` under 100 clients sending 1,000 messages
each at once (raw pipelined clients): every message echoed and every frame recorded."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.capture.store import CaptureStore
from inspector.core.records import Direction, Kind

CLIENTS, MESSAGES, SIZE = 100, 1000, 64
TIMEOUT = 300.0  # seconds: a bound on the whole exchange, never asserted


def masked(index: int, seq: int) -> bytes:
    """A masked client text frame of SIZE bytes naming its client and number."""
    text = f"{index:03d}:{seq:04d}:".encode().ljust(SIZE, b".")
    key = os.urandom(4)
    return bytes([0x81, 0x80 | SIZE]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(text))


async def client(port: int, index: int) -> bytes:
    """Upgrade by hand, send every message pipelined, read the echoes, close with 1000."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    writer.write(b"".join(masked(index, seq) for seq in range(MESSAGES)))
    echoes = await reader.readexactly(MESSAGES * (SIZE + 2))
    writer.write(b"\x88\x82\x00\x00\x00\x00\x03\xe8")
    await reader.read()  # the close frame, then the server's EOF
    writer.close()
    return echoes


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_hundred_clients_of_a_thousand_messages_are_all_echoed_and_recorded(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "flood.sockcap"
    listen = subprocess.Popen(
        [sys.executable, "-m", "inspector", "listen", "ws://127.0.0.1:0/", "--echo",
         "--no-compress", "--quiet", "-o", str(capture)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert listen.stdout is not None
        port = int(listen.stdout.readline().split()[-1].rstrip("/").rsplit(":", 1)[1])

        async def everyone() -> list[bytes]:
            jobs = (client(port, index) for index in range(CLIENTS))
            return await asyncio.wait_for(asyncio.gather(*jobs), TIMEOUT)

        echoes = asyncio.run(everyone())
    finally:
        listen.send_signal(signal.SIGTERM)
        _out, err = listen.communicate(timeout=TIMEOUT)
    assert listen.returncode == 0 and err == "", err
    for index, got in enumerate(echoes):
        expected = b"".join(
            bytes([0x81, SIZE]) + f"{index:03d}:{seq:04d}:".encode().ljust(SIZE, b".")
            for seq in range(MESSAGES)
        )
        assert got == expected, index
    with CaptureStore.open(capture) as store:
        sessions = store.sessions()
    assert len(sessions) == CLIENTS + 1  # the listener's session, then one per client
    for session in sessions[1:]:
        assert session.state == "closed", session
        with CaptureStore.open(capture, session_id=session.id) as store:
            records = store.records(0, store.count())
        texts = [r for r in records if r.kind is Kind.FRAME and r.fields["opcode"] == "text"]
        ins = [r.payload for r in texts if r.direction is Direction.IN]
        outs = [r.payload for r in texts if r.direction is Direction.OUT]
        assert len(ins) == len(outs) == MESSAGES, session
        assert ins == outs
