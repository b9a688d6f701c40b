"""Addresses: IPv6 literals on ::1, --ipv4/--ipv6, Happy Eyeballs over both families
(RFC 8305) with every attempt recorded, and the source address (--bind)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from servers import RunningServer
from session_helpers import make_session, run, wait_until

from inspector.core.records import Kind
from inspector.net.resolve import AddrInfo, happy_eyeballs_order, use_resolver


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(
    not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)"
)


@pytest.fixture
def v6_echo() -> Iterator[int]:
    """A TCP echo server on [::1], on its own thread's loop."""
    import threading

    listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(10)
    listener.close()


def both_families(port: int) -> object:
    async def resolver(host: str, _port: int, socktype: int) -> list[AddrInfo]:
        return [
            (socket.AF_INET6, socktype, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, socktype, 6, "", ("127.0.0.1", port)),
        ]

    return resolver


def exchange(url: str, **options: object) -> tuple:
    session, sink = make_session(url, **options)

    async def scenario() -> bool:
        opened = await session.open()
        if opened:
            session.send(b"v6")
            await wait_until(lambda: session.messages_in >= 1)
            await session.close()
        return opened

    return run(scenario()), session, sink


@needs_ipv6
def test_ipv6_literal(v6_echo: int) -> None:
    opened, session, sink = exchange(f"tcp://[::1]:{v6_echo}")
    assert opened and session.ok, session.failure
    connect = sink.of(Kind.CONNECT)[0].fields
    assert connect["family"] == "ipv6" and connect["peer"] == f"[::1]:{v6_echo}"


@needs_ipv6
def test_happy_eyeballs_falls_back_and_records_each_attempt(
    tcp_echo_server: RunningServer,
) -> None:
    # Both families for one name; only the IPv4 address listens on this port.
    with use_resolver(both_families(tcp_echo_server.port)):  # type: ignore[arg-type]
        opened, session, sink = exchange(f"tcp://dual.test:{tcp_echo_server.port}")
    assert opened and session.ok, session.failure
    resolve = sink.of(Kind.RESOLVE)[0].fields
    assert resolve["order"] == ["::1", "127.0.0.1"] and "RFC 8305" in resolve["reason"]
    attempts = sink.of(Kind.CONNECT)[0].fields["attempts"]
    assert attempts[0]["address"] == f"[::1]:{tcp_echo_server.port}"
    assert attempts[0]["result"] != "connected" and attempts[1]["result"] == "connected"


def test_family_choice_filters_addresses(tcp_echo_server: RunningServer) -> None:
    with use_resolver(both_families(tcp_echo_server.port)):  # type: ignore[arg-type]
        opened, session, sink = exchange(f"tcp://dual.test:{tcp_echo_server.port}", family="ipv4")
    assert opened and session.ok
    resolve = sink.of(Kind.RESOLVE)[0].fields
    assert resolve["addresses"] == ["::1", "127.0.0.1"] and resolve["order"] == ["127.0.0.1"]
    assert sink.of(Kind.CONNECT)[0].fields["family"] == "ipv4"


def test_no_address_of_the_family_is_one_line(tcp_echo_server: RunningServer) -> None:
    opened, session, _sink = exchange(tcp_echo_server.url, family="ipv6")
    assert not opened and "no IPv6 address" in session.failure


def test_bind_sets_the_source_port(tcp_echo_server: RunningServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    opened, session, sink = exchange(tcp_echo_server.url, bind=f"127.0.0.1:{port}")
    assert opened and session.ok, session.failure
    assert sink.of(Kind.CONNECT)[0].fields["local"] == f"127.0.0.1:{port}"


def test_bind_to_the_other_family_is_one_line(tcp_echo_server: RunningServer) -> None:
    opened, session, _sink = exchange(tcp_echo_server.url, bind="::1")
    assert not opened and "is not ipv4" in session.failure


def test_interleaving_order() -> None:
    v6 = [(socket.AF_INET6, (f"::{i}", 1, 0, 0)) for i in (1, 2)]
    v4 = [(socket.AF_INET, (f"10.0.0.{i}", 1)) for i in (1, 2, 3)]
    ordered = happy_eyeballs_order([*v6, *v4])
    assert [a[1][0] for a in ordered] == ["::1", "10.0.0.1", "::2", "10.0.0.2", "10.0.0.3"]


def test_udp_bind_sets_the_source_port(udp_echo_server: RunningServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    opened, session, sink = exchange(udp_echo_server.url, bind=f"127.0.0.1:{port}")
    assert opened and session.ok, session.failure
    assert sink.of(Kind.CONNECT)[0].fields["local"] == f"127.0.0.1:{port}"
