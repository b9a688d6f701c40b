"""tshark as a test oracle: run it on an exported file and read fields back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from format_samples import SessionInfo

from inspector.capture.formats import export_pcapng
from inspector.core.records import Direction, Kind, Record

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
AGG = "^"  # separates several values of one field in a packet; no test payload has it


def tshark(path: Path, *args: str) -> list[list[str]]:
    """Rows of tab-separated fields printed by tshark for the packets of ``path``."""
    assert TSHARK is not None
    result = subprocess.run(
        [TSHARK, "-n", "-r", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def fields(path: Path, display_filter: str, *names: str) -> list[list[str]]:
    args = ["-Y", display_filter, "-T", "fields", "-E", f"aggregator={AGG}"]
    for name in names:
        args += ["-e", name]
    return tshark(path, *args)


def problems(path: Path) -> list[list[str]]:
    """Packets that tshark finds malformed, with bad checksums or with warnings/errors."""
    return tshark(
        path,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "_ws.malformed || _ws.expert.severity >= 0x00600000 || tcp.checksum.status == 0 "
        "|| udp.checksum.status == 0 || ip.checksum.status == 0",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.expert.message",
    )


def export(tmp_path: Path, session: SessionInfo, records: list[Record], **kwargs) -> Path:
    path = tmp_path / "out.pcapng"
    with path.open("wb") as out:
        export_pcapng(out, session, records, **kwargs)
    return path


def expected_ws_frames(records: list[Record]) -> list[tuple[str, ...]]:
    """What tshark should print for each frame: opcode, mask, fin and the payload, which
    tshark shows reassembled on a message's last fragment and empty on the others."""
    out: list[tuple[str, ...]] = []
    partial: dict[Direction, tuple[int, bytes]] = {}
    for record in records:
        if record.kind is not Kind.FRAME:
            continue
        f = record.fields
        opcode, fin, payload = f["opcode_value"], f["fin"], record.payload or b""
        mask = "1" if f["masked"] else "0"
        head = (str(opcode), mask, "1" if fin else "0")
        if opcode in (1, 2) and not fin:
            partial[record.direction] = (opcode, payload)
            out.append((*head, "", "", "", "", "", ""))
            continue
        if opcode == 0:
            first, before = partial.pop(record.direction)
            if not fin:
                partial[record.direction] = (first, before + payload)
                out.append((*head, "", "", "", "", "", ""))
                continue
            opcode, payload = first, before + payload
        text = payload.decode() if opcode == 1 else ""
        data = payload.hex() if opcode == 2 else ""
        ping = payload.hex() if opcode == 9 else ""
        pong = payload.hex() if opcode == 10 else ""
        code = str(f["close_code"]) if opcode == 8 else ""
        reason = f["close_reason"] if opcode == 8 else ""
        out.append((*head, text, data, ping, pong, code, reason))
    return out


WS_FIELDS = (
    "websocket.opcode",
    "websocket.mask",
    "websocket.fin",
    "websocket.payload.text",
    "data.data",
    "websocket.payload.ping",
    "websocket.payload.pong",
    "websocket.payload.close.status_code",
    "websocket.payload.close.reason",
)


def tshark_ws_frames(path: Path) -> list[tuple[str, ...]]:
    """One tuple per WebSocket frame tshark dissected (several per packet are split)."""
    frames: list[tuple[str, ...]] = []
    for row in fields(path, "websocket", *WS_FIELDS):
        columns = [column.split(AGG) for column in row]
        count = len(columns[0])
        for index in range(count):
            frames.append(
                tuple(column[index] if len(column) == count else column[0] for column in columns)
            )
    return frames


def stream_bytes(records: list[Record], direction: Direction) -> bytes:
    kinds = (Kind.HANDSHAKE, Kind.FRAME, Kind.DATA, Kind.MESSAGE)
    return b"".join(r.wire for r in records if r.direction is direction and r.kind in kinds)


def tcp_streams(path: Path, client_port: str) -> dict[Direction, bytes]:
    """Both TCP byte streams as tshark reads them, by direction."""
    out = {Direction.OUT: b"", Direction.IN: b""}
    for srcport, payload in fields(path, "tcp.len > 0", "tcp.srcport", "tcp.payload"):
        direction = Direction.OUT if srcport == client_port else Direction.IN
        out[direction] += bytes.fromhex(payload)
    return out
