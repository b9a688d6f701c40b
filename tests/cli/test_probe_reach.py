"""``inspector probe`` through a proxy, with a client certificate, with pings, and
reconnecting: the options reach the engine and the failures are one line."""

from __future__ import annotations

import re
import socket
import sqlite3
from pathlib import Path

import proxies
import pytest
import servers
from test_probe import _one_error_line, frames, probe, records


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_reconnect_when_the_server_is_gone(tmp_path: Path) -> None:
    out = tmp_path / "attempts.sockcap"
    port = closed_port()
    result = probe(
        f"tcp://127.0.0.1:{port}",
        "--reconnect", "--reconnect-max", "2", "--reconnect-delay", "0.01",
        "-o", str(out), "--json",
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith("reconnecting in 0.01 s (attempt 1)"), result.stderr
    assert lines[1].endswith("reconnecting in 0.02 s (attempt 2)")
    assert lines[2].startswith("inspector: connection refused") and len(lines) == 3
    with sqlite3.connect(out) as conn:
        states = [row[0] for row in conn.execute("SELECT state FROM sessions ORDER BY id")]
    assert states == ["failed", "failed", "failed"]
    assert sum(1 for r in records(result) if r["kind"] == "closed") == 3


def test_no_reconnect_after_a_normal_end(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url, "--send", "hi", "--count", "1", "--reconnect")
    assert result.returncode == 0 and "reconnecting" not in result.stderr


def test_ping_interval_records_round_trips(ws_server: servers.RunningServer) -> None:
    result = probe(ws_server.url, "--ping-interval", "0.02", "--wait", "0.3", "--json")
    assert result.returncode == 0, result.stderr
    pongs = frames(records(result), "in", "pong")
    assert pongs and all(p["rtt_ns"] > 0 for p in pongs)
    lines = probe(ws_server.url, "--ping-interval", "0.02", "--wait", "0.2").stdout
    assert re.search(r"← pong +1  \"1\"  rtt [0-9.]+ ms", lines), lines


@pytest.mark.skipif(not proxies.available("microsocks"), reason="microsocks is not installed")
def test_probe_through_socks5(tcp_echo_server: servers.RunningServer, tmp_path: Path) -> None:
    out = tmp_path / "socks.sockcap"
    with proxies.microsocks(auth=True) as proxy:
        result = probe(
            tcp_echo_server.url, "--proxy", proxy.url("socks5h"), "--send", "x", "--count",
            "1", "--json", "-o", str(out),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert any(r.get("proxy") == "socks5h" for r in records(result))
        assert proxies.PASSWORD not in result.stdout
        # The capture (records and stored options, WAL included) never holds the password.
        for path in tmp_path.iterdir():
            assert proxies.PASSWORD.encode() not in path.read_bytes(), path.name
        with sqlite3.connect(out) as conn:
            (options,) = conn.execute("SELECT options FROM sessions").fetchone()
        assert "[redacted]" in str(options)
        wrong = probe(tcp_echo_server.url, "--proxy", proxy.url(password="bad-pass-9"))
        line = _one_error_line(wrong)
        assert wrong.returncode == 1 and "SOCKS5 proxy" in line and "refused" in line


def test_unusable_options_are_one_line(
    tcp_echo_server: servers.RunningServer, tmp_path: Path
) -> None:
    bad_proxy = probe(tcp_echo_server.url, "--proxy", "ftp://h:1")
    assert "unknown scheme" in _one_error_line(bad_proxy) and bad_proxy.returncode == 1
    missing = probe(f"tls://127.0.0.1:{tcp_echo_server.port}", "--cert", str(tmp_path / "no.pem"))
    assert "cannot read the client certificate" in _one_error_line(missing)
    bind = probe(tcp_echo_server.url, "--bind", "not-an-address")
    assert bind.returncode == 2 and "is not an IP address" in bind.stderr


def test_ipv4_only_and_bind(tcp_echo_server: servers.RunningServer) -> None:
    result = probe(
        tcp_echo_server.url, "--ipv4", "--bind", "127.0.0.1", "--send", "x", "--count", "1",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    connect = next(r for r in records(result) if r["kind"] == "connect")
    assert connect["local"].startswith("127.0.0.1:") and connect["bind"] == "127.0.0.1"
    v6 = probe(tcp_echo_server.url, "--ipv6")
    assert "no IPv6 address" in _one_error_line(v6)


@pytest.mark.parametrize(
    ("url", "flags", "problem"),
    [
        ("tcp://127.0.0.1:1", ["--ping-interval", "1"], "--ping-interval is for ws:// and wss://"),
        ("ws://127.0.0.1:1/", ["--keepalive", "1"], "--keepalive is for tcp, tls and udp"),
        ("ws://127.0.0.1:1/", ["--ping-timeout", "1"], "--ping-timeout needs --ping-interval"),
        ("tcp://127.0.0.1:1", ["--cert", "c.pem"], "--cert is for tls:// and wss://"),
        ("tls://127.0.0.1:1", ["--key", "k.pem"], "--key needs --cert"),
        ("tcp://127.0.0.1:1", ["--reconnect-max", "2"], "--reconnect-max needs --reconnect"),
    ],
)
def test_options_for_another_scheme_are_usage_errors(
    url: str, flags: list[str], problem: str
) -> None:
    result = probe(url, *flags)
    assert result.returncode == 2 and problem in result.stderr
    assert len(result.stderr.splitlines()) == 1
