"""The transport comparison against its built-in servers: numbers that follow from the protocols."""

from __future__ import annotations

import asyncio
import socket

import pytest

from inspector.net.compare import CompareReport, Transport, TransportResult, Workload
from inspector.net.compare_delay import Conditions
from inspector.net.compare_run import CompareConfig, run_compare


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(config: CompareConfig) -> CompareReport:
    async def bounded() -> CompareReport:
        async with asyncio.timeout(120):
            return await run_compare(config)

    return asyncio.run(bounded())


@pytest.fixture(scope="module")
def loopback() -> dict[str, TransportResult]:
    config = CompareConfig(
        workload=Workload.RR,
        count=5,
        size=64,
        transports=(Transport.TCP_LEN32, Transport.WS, Transport.HTTP_KEEPALIVE, Transport.UDP),
    )
    return {r.transport: r for r in _run(config).results}


@pytest.fixture(scope="module")
def delayed() -> dict[str, TransportResult]:
    config = CompareConfig(
        workload=Workload.RR,
        count=3,
        size=64,
        transports=(Transport.WS, Transport.HTTP_POLLING, Transport.TCP_LEN32),
        urls={Transport.TCP_LEN32: f"tcp://127.0.0.1:{_closed_port()}"},
        conditions=Conditions(delay_ms=20),
    )
    return {r.transport: r for r in _run(config).results}


def test_a_websocket_message_costs_2_bytes_down_and_6_up(loopback: dict) -> None:
    ws = loopback["ws"]
    assert ws.ok and ws.messages == 5
    assert ws.payload_in == ws.payload_out == 64
    assert ws.overhead_in == 2  # FIN/opcode byte + 7-bit length
    assert ws.overhead_out == 6  # the same + the 4-byte mask key


def test_len32_framing_costs_4_bytes_and_udp_none(loopback: dict) -> None:
    assert loopback["tcp-len32"].overhead_out == loopback["tcp-len32"].overhead_in == 4
    assert loopback["udp"].overhead_out == loopback["udp"].overhead_in == 0


def test_an_http_exchange_costs_at_least_its_request_line_and_headers(loopback: dict) -> None:
    http = loopback["http-keepalive"]
    request_head = b"POST /echo HTTP/1.1\r\nhost: 127.0.0.1:1\r\ncontent-length: 64\r\n\r\n"
    status_head = b"HTTP/1.1 200 \r\ncontent-length: 64\r\n\r\n"
    assert http.overhead_out >= len(request_head)
    assert http.overhead_in >= len(status_head)
    assert http.connections == 1  # kept alive


def test_a_websocket_setup_costs_one_round_trip_more_than_tcp(loopback: dict) -> None:
    assert loopback["tcp-len32"].setup_round_trips == 1
    assert loopback["ws"].setup_round_trips == loopback["tcp-len32"].setup_round_trips + 1
    assert loopback["ws"].setup_ns.keys() >= {"connect", "handshake"}


def test_latency_and_rates_are_counted_for_every_message(loopback: dict) -> None:
    for result in loopback.values():
        assert result.ok, result.error
        assert len(result.latencies_ns) == 5 and result.lost == 0
        assert result.messages_per_s > 0 and result.cpu_s >= 0


def test_with_delay_polling_costs_two_more_round_trips_per_message(delayed: dict) -> None:
    ws, polling = delayed["ws"], delayed["http-polling"]
    assert ws.ok and polling.ok
    assert ws.round_trips_per_message == 1
    assert polling.round_trips_per_message >= ws.round_trips_per_message + 2
    assert polling.connections == 2 * 3  # a send and a poll, each on a new connection
    assert ws.connections == 1


def test_a_refused_transport_is_reported_in_its_row(delayed: dict) -> None:
    refused = delayed["tcp-len32"]
    assert not refused.ok
    assert refused.error is not None and "refused" in refused.error.lower()
    assert delayed["ws"].ok  # the others still ran


def test_push_latency_is_measured_from_the_server_stamp() -> None:
    config = CompareConfig(workload=Workload.PUSH, count=4, size=64,
                           transports=(Transport.WS, Transport.HTTP_LONGPOLL))  # fmt: skip
    results = {r.transport: r for r in _run(config).results}
    for name in ("ws", "http-longpoll"):
        assert results[name].messages == 4 and len(results[name].latencies_ns) == 4
    assert results["ws"].overhead_in == 2


def test_udp_connects_with_no_round_trip_and_stream_markers_are_not_messages() -> None:
    config = CompareConfig(workload=Workload.STREAM, count=6, size=64,
                           transports=(Transport.WS, Transport.UDP))  # fmt: skip
    results = {r.transport: r for r in _run(config).results}
    assert results["udp"].setup_round_trips == 0
    ws = results["ws"]
    assert ws.ok and ws.messages == 6
    assert ws.payload_out == 64 and ws.overhead_out == 6  # END is the workload's, not a message
    assert ws.payload_in == 0


def test_concurrent_clients_each_run_the_workload() -> None:
    config = CompareConfig(count=4, clients=3, transports=(Transport.TCP_LINES,))
    (result,) = _run(config).results
    assert result.ok and result.clients == 3
    assert result.messages == 12 and len(result.latencies_ns) == 12
    assert result.connections == 3
    assert result.overhead_out == result.overhead_in == 1  # the newline


def test_cancelling_stops_the_servers_and_their_thread() -> None:
    import threading

    async def scenario() -> list[str]:
        seen: list[str] = []
        first = asyncio.Event()

        def progress(result: TransportResult) -> None:
            seen.append(result.transport)
            first.set()

        config = CompareConfig(count=50, transports=(Transport.TCP_LEN32, Transport.WS,
                                                     Transport.HTTP_POLLING))  # fmt: skip
        task = asyncio.create_task(run_compare(config, progress))
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == "tcp-len32" and len(seen) < 3
    assert not any(t.name == "compare-servers" for t in threading.enumerate())


def test_an_untrusted_certificate_fails_its_row_unless_insecure(tmp_path) -> None:
    from inspector.net.certs import server_tls
    from inspector.net.compare_lab import start_builtin

    async def scenario(verify: bool) -> TransportResult:
        built = await start_builtin(Transport.WSS, Workload.RR, 2, 64, tmp_path)
        try:
            config = CompareConfig(count=2, transports=(Transport.WSS,),
                                   urls={Transport.WSS: built.url}, verify=verify)  # fmt: skip
            return (await run_compare(config)).results[0]
        finally:
            await built.stop()

    assert server_tls(directory=tmp_path).self_signed
    refused = asyncio.run(scenario(True))
    assert not refused.ok and "certificate" in (refused.error or "")
    accepted = asyncio.run(scenario(False))
    assert accepted.ok and accepted.overhead_out == 6 and accepted.setup_round_trips == 3
