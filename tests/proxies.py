"""Real proxies no one here wrote, started on 127.0.0.1 for the tests: tinyproxy (HTTP
CONNECT, Debian's tinyproxy) and microsocks (SOCKS5, Debian's microsocks), each on a
free port, with or without a user name and password."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
USER, PASSWORD = "probe", "s3cret-pass"


@dataclass(frozen=True, slots=True)
class RunningProxy:
    """A proxy process and the URL that reaches it."""

    scheme: str
    port: int
    user: str | None = None
    password: str | None = None

    def url(self, scheme: str | None = None, password: str | None = None) -> str:
        """The proxy URL (``password`` overrides the right one, for refusals)."""
        secret = self.password if password is None else password
        credentials = f"{self.user}:{secret}@" if self.user else ""
        return f"{scheme or self.scheme}://{credentials}{HOST}:{self.port}"


def free_port() -> int:
    """A port nothing listens on now (the proxies need a fixed port)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait (bounded: 10 s) until ``port`` accepts a connection."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on {port} within 10 s")


def available(program: str) -> bool:
    """True when ``program`` is installed (.ci/run installs both)."""
    return shutil.which(program) is not None


@contextmanager
def tinyproxy(directory: Path, auth: bool = False) -> Iterator[RunningProxy]:
    """Debian's tinyproxy: HTTP CONNECT to any port (no ConnectPort line)."""
    port = free_port()
    config = directory / f"tinyproxy-{port}.conf"
    lines = [
        f"Port {port}",
        f"Listen {HOST}",
        "Timeout 30",
        "MaxClients 20",
        "LogLevel Critical",
        f'PidFile "{directory / f"tinyproxy-{port}.pid"}"',
    ]
    if auth:
        lines.append(f"BasicAuth {USER} {PASSWORD}")
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        ["tinyproxy", "-d", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process, "tinyproxy")
        yield RunningProxy("http", port, USER if auth else None, PASSWORD if auth else None)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def microsocks(auth: bool = False) -> Iterator[RunningProxy]:
    """Debian's microsocks: a SOCKS5 proxy (user name and password when ``auth``)."""
    port = free_port()
    command = ["microsocks", "-i", HOST, "-p", str(port)]
    if auth:
        command += ["-u", USER, "-P", PASSWORD]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, "microsocks")
        yield RunningProxy("socks5", port, USER if auth else None, PASSWORD if auth else None)
    finally:
        process.terminate()
        process.wait(10)
