"""``inspector relay`` in a subprocess with programs no one here wrote (socat, Python's
socket): the first line, records both ways, stopping, the capture with show and export."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import RunningServer

from inspector.capture.store import CaptureStore

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess and read, never an assertion


class Relaying:
    """A running ``inspector relay``: its process and the port clients use."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "relay", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert self.proc.stdout is not None
        self.first = self.proc.stdout.readline()
        assert self.first, self.proc.stderr.read() if self.proc.stderr else ""
        if self.first.startswith("{"):
            url = json.loads(self.first)["url"]
        else:
            assert self.first.startswith("relaying "), self.first
            url = self.first.split()[1]
        self.port = int(url.rsplit(":", 1)[1].rstrip("/"))

    def finish(self) -> tuple[int, str, str]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = self.proc.stdout.read()
        err = self.proc.stderr.read()
        return self.proc.wait(timeout=RUN_TIMEOUT), out, err


def inspector(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *argv],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_socat_through_the_relay_json_capture_show_and_exports(
    tcp_echo_server: RunningServer, tmp_path: Path
) -> None:
    capture = tmp_path / "relay.sockcap"
    relay = Relaying(
        [
            "tcp://127.0.0.1:0",
            tcp_echo_server.url,
            "--connections",
            "1",
            "--json",
            "-o",
            str(capture),
        ]
    )
    first = json.loads(relay.first)
    assert first["kind"] == "listening" and first["upstream"] == tcp_echo_server.url
    sent = b"hello through socat\n" * 100
    done = subprocess.run(
        ["socat", "-t", "5", "-", f"TCP:127.0.0.1:{relay.port}"],
        input=sent,
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.stdout == sent
    status, out, err = relay.finish()
    assert status == 0, err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    data = [r for r in records if r.get("conn") == 1 and r["kind"] == "data"]
    assert b"".join(bytes.fromhex(r["wire"]) for r in data if r["dir"] == "out") == sent
    assert b"".join(bytes.fromhex(r["wire"]) for r in data if r["dir"] == "in") == sent

    with CaptureStore.open(capture) as store:
        sessions = store.sessions()
    assert len(sessions) == 2
    assert sessions[1].summary["bytes_c2s"] == len(sent)
    shown = inspector("show", str(capture), "--session", "2")
    assert shown.returncode == 0, shown.stderr
    assert "→ data" in shown.stdout and "← data" in shown.stdout
    for fmt in ("jsonl", "pcapng"):
        target = tmp_path / f"relay.{fmt}"
        exported = inspector(
            "export", str(capture), "--session", "2", "--format", fmt, "-o", str(target)
        )
        assert exported.returncode == 0, exported.stderr
        assert target.stat().st_size > 0
    if shutil.which("tshark") is not None:
        # Two legs, two TCP conversations Wireshark follows, each carrying every byte.
        pcap = str(tmp_path / "relay.pcapng")
        conv = subprocess.run(["tshark", "-r", pcap, "-q", "-z", "conv,tcp"],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)  # fmt: skip
        rows = [line for line in conv.stdout.splitlines() if "<->" in line]
        assert len(rows) == 2, conv.stdout
        for stream in (0, 1):
            follow = subprocess.run(
                ["tshark", "-r", pcap, "-q", "-z", f"follow,tcp,raw,{stream}"],
                capture_output=True, text=True, timeout=RUN_TIMEOUT,
            )  # fmt: skip
            body = "".join(
                line.strip() for line in follow.stdout.splitlines()
                if line.strip() and all(c in "0123456789abcdef" for c in line.strip())
            )  # fmt: skip
            assert bytes.fromhex(body) == sent + sent  # both directions: echoed
    lines = (tmp_path / "relay.jsonl").read_text().splitlines()
    assert any('"dir": "out"' in line or '"dir":"out"' in line for line in lines)


def test_websocket_relay_capture_exports_har(ws_server: RunningServer, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    capture = tmp_path / "ws.sockcap"
    relay = Relaying(["ws://127.0.0.1:0/", ws_server.url, "--connections", "1", "-o", str(capture)])
    with connect(f"ws://127.0.0.1:{relay.port}/", open_timeout=RUN_TIMEOUT) as ws:
        ws.send("through the relay")
        assert ws.recv(timeout=RUN_TIMEOUT) == "through the relay"
    status, out, err = relay.finish()
    assert status == 0, err
    assert "→ handshake" in out and "← handshake" in out
    target = tmp_path / "ws.har"
    exported = inspector(
        "export", str(capture), "--session", "2", "--format", "har", "-o", str(target)
    )
    assert exported.returncode == 0, exported.stderr
    har = json.loads(target.read_text())
    entry = har["log"]["entries"][0]
    texts = [m["data"] for m in entry["_webSocketMessages"]]
    assert texts.count("through the relay") == 2
    sides = {m["type"] for m in entry["_webSocketMessages"] if m["data"] == "through the relay"}
    assert sides == {"send", "receive"}


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_udp_relay_with_socat(udp_echo_server: RunningServer) -> None:
    relay = Relaying(
        ["udp://127.0.0.1:0", udp_echo_server.url, "--connections", "1", "--udp-idle", "0.5"]
    )
    done = subprocess.run(
        ["socat", "-t", "2", "-", f"UDP:127.0.0.1:{relay.port}"],
        input=b"datagram",
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.stdout == b"datagram"
    status, out, err = relay.finish()
    assert status == 0, err
    assert "→ datagram" in out and "← datagram" in out and "idle for 0.5 s" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ws://127.0.0.1:0/", "tcp://127.0.0.1:9"], "cannot relay ws:// to tcp://"),
        (["tcp://127.0.0.1:0", "tcp://127.0.0.1:9", "--loss", "5"], "--loss counts messages"),
        (["udp://127.0.0.1:0", "udp://127.0.0.1:9", "--cut-after-bytes", "5"], "for streams"),
        (["tcp://127.0.0.1:0", "tcp://127.0.0.1:9", "--delay-ms", "x2s:5"], "is not a number"),
        (["tcp://127.0.0.1:0", "nope://x"], "inspector relay:"),
        (["tcp://127.0.0.1:0", "tcp://127.0.0.1:9", "--origin", "x"], "--origin is for ws"),
        (["ws://127.0.0.1:0/", "ws://127.0.0.1:9/", "--rules", "/no/such.toml"], "--rules:"),
        (["udp://127.0.0.1:0", "udp://127.0.0.1:9", "--intercept", "up"], "invalid choice"),
        (["tcp://127.0.0.1:0", "tcp://127.0.0.1:9", "--intercept-filter", "x"], "need --intercept"),
        (
            [
                "tcp://127.0.0.1:0",
                "tcp://127.0.0.1:9",
                "--intercept",
                "both",
                "--intercept-regex",
                "--intercept-filter",
                "(",
            ],
            "--intercept-filter: invalid regular expression",
        ),
        (["tcp://127.0.0.1:0", "tcp://127.0.0.1:9", "--rules", "/no/such.toml"], "--rules:"),
    ],
)
def test_bad_usage_is_one_line_and_status_2(argv: list[str], needle: str) -> None:
    done = inspector("relay", *argv)
    assert done.returncode == 2
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_address_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = inspector("relay", f"tcp://127.0.0.1:{port}", "tcp://127.0.0.1:9")
    assert done.returncode == 1
    assert "address is in use" in done.stderr


def test_per_direction_faults_are_parsed() -> None:
    from inspector.cli.relay import build_relay_parser, faults_from_args

    args = build_relay_parser().parse_args(
        ["ws://127.0.0.1:0/", "ws://x/", "--delay-ms", "s2c:200", "--loss", "c2s:5", "--rate", "64"]
    )
    faults: dict[str, Any] = faults_from_args(args, datagram=False, websocket=True)
    assert faults["c2s"].delay_ms == 0 and faults["s2c"].delay_ms == 200
    assert faults["c2s"].loss == 5 and faults["s2c"].loss == 0
    assert faults["c2s"].rate_kbps == faults["s2c"].rate_kbps == 64


def test_sigint_closes_websocket_pairs_with_1001(ws_server: RunningServer) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    relay = Relaying(["ws://127.0.0.1:0/", ws_server.url])
    with connect(f"ws://127.0.0.1:{relay.port}/", open_timeout=RUN_TIMEOUT) as ws:
        ws.send("before the stop")
        assert ws.recv(timeout=RUN_TIMEOUT) == "before the stop"
        relay.proc.send_signal(signal.SIGINT)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=RUN_TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    status, _out, err = relay.finish()
    assert status == 0, err
