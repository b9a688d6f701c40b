"""``inspector relay --intercept`` in a subprocess, driven through a stdin pipe."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
from typing import IO

from servers import RunningServer
from websockets.sync.client import connect

RUN_TIMEOUT = 60  # seconds: a bound on every wait, never an assertion


class Console:
    """A running relay with --intercept: commands in, printed lines out (read on a thread)."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "relay", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=_pump, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors))
        ]
        for reader in self.readers:
            reader.start()
        first = self.lines.get(timeout=RUN_TIMEOUT)
        if first.startswith("{"):
            url = json.loads(first)["url"]
        else:
            assert first.startswith("relaying "), first
            url = first.split()[1]
        self.port = int(url.rsplit(":", 1)[1].rstrip("/"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_line(self, prefix: str, source: queue.Queue[str] | None = None) -> str:
        """The next printed line starting with ``prefix`` (others are skipped)."""
        source = source or self.lines
        for _ in range(10_000):
            line = source.get(timeout=RUN_TIMEOUT)
            if line.startswith(prefix):
                return line.rstrip("\n")
        raise AssertionError(f"no line starting with {prefix!r}")

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def finish(self) -> tuple[int, str]:
        code = self.proc.wait(timeout=RUN_TIMEOUT)
        for reader in self.readers:  # both pipes read to their end
            reader.join(timeout=RUN_TIMEOUT)
        rest: list[str] = []
        while not self.errors.empty():
            rest.append(self.errors.get())
        return code, "".join(rest)


def _pump(stream: IO[str] | None, into: queue.Queue[str]) -> None:
    assert stream is not None
    for line in stream:
        into.put(line)


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_tcp_relay_held_lines_and_commands_on_stdin(tcp_echo_server: RunningServer) -> None:
    console = Console(
        ["tcp://127.0.0.1:0", tcp_echo_server.url, "--intercept", "c2s", "--connections", "1"]
    )
    with socket.create_connection(("127.0.0.1", console.port), timeout=RUN_TIMEOUT) as sock:
        sock.sendall(b"one\n")
        assert console.wait_line("held #1") == "held #1  #1 c2s data 4 B  one\\n"
        console.send("e 1 ONE\\n")
        assert _read_line(sock) == b"ONE\n"
        console.send("frobnicate 3")
        console.send("f 99")
        sock.sendall(b"two\n")
        console.wait_line("held #2")
        console.send("d 2")
        assert console.wait_line("#2 ") == "#2 dropped by the user"
        console.send("i s2c from the relay\\n")
        assert _read_line(sock) == b"from the relay\n"
        sock.sendall(b"three\n")
        console.wait_line("held #3")
        console.end_input()  # end of input: what is held goes on
        assert _read_line(sock) == b"three\n"
    code, errors = console.finish()
    assert code == 0
    assert errors.splitlines()[:2] == [
        "intercept: unknown command 'frobnicate': type help",
        "intercept: no held message #99",
    ]
    assert "intercept: end of input: forwarded 1 held message, intercept off" in errors
    assert "Traceback" not in errors


def test_websocket_relay_edit_with_deflate_through_the_console(ws_server: RunningServer) -> None:
    console = Console(
        [
            "ws://127.0.0.1:0/",
            ws_server.url,
            "--intercept",
            "s2c",
            "--intercept-filter",
            "secret",
            "--connections",
            "1",
        ]
    )
    url = f"ws://127.0.0.1:{console.port}/"
    with connect(url, open_timeout=RUN_TIMEOUT, close_timeout=RUN_TIMEOUT) as ws:
        assert "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        ws.send("hello")
        assert ws.recv(timeout=RUN_TIMEOUT) == "hello"  # not picked: it passes
        ws.send("my secret")
        assert console.wait_line("held #1") == "held #1  #1 s2c text 9 B  my secret"
        console.send("e 1 my ******")
        assert ws.recv(timeout=RUN_TIMEOUT) == "my ******"
        console.send("i s2c hello from the relay")
        assert ws.recv(timeout=RUN_TIMEOUT) == "hello from the relay"
        for text in ("hello", "hello"):  # the context shared with edits still inflates
            ws.send(text)
            assert ws.recv(timeout=RUN_TIMEOUT) == text
    console.end_input()
    code, errors = console.finish()
    assert code == 0
    assert "Traceback" not in errors


def test_json_output_gives_held_messages_and_resolutions_as_objects(
    tcp_echo_server: RunningServer,
) -> None:
    console = Console(
        ["tcp://127.0.0.1:0", tcp_echo_server.url, "--intercept", "s2c", "--json",
         "--connections", "1"]
    )  # fmt: skip
    with socket.create_connection(("127.0.0.1", console.port), timeout=RUN_TIMEOUT) as sock:
        sock.sendall(b"ping\n")
        held = json.loads(console.wait_line('{"kind": "intercept"'))
        assert held == {
            "kind": "intercept", "event": "held", "id": 1, "conn": 1, "way": "s2c",
            "type": "data", "size": 5, "preview": "ping\\n",
        }  # fmt: skip
        console.send("e 1 pong\\n")
        assert _read_line(sock) == b"pong\n"
        done = json.loads(console.wait_line('{"kind": "intercept"'))
        assert (done["event"], done["id"]) == ("edited", 1)
        assert done["reason"] == "edited, then forwarded"
    console.end_input()
    code, errors = console.finish()
    assert code == 0 and "Traceback" not in errors
