"""Details the matrix does not cover: an injected resolver, what a refusal shows, the
certificate of a refused TLS server, --insecure marked in records and summary, and
bytes a server sends after its close frame."""

from __future__ import annotations

import socket

from fault_kit import play
from fault_matrix import CASES, REFUSAL, FaultTargets, close_payload, server_frame
from servers import Close, HostileScript, HostileServer, ReadUntil, RunningServer, Upgrade, Write
from session_helpers import make_session, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net import resolve
from inspector.net.resolve import AddrInfo, use_resolver
from inspector.net.session import SessionState

CASE = {case.id: case for case in CASES}


def test_invalid_names_fail_without_asking_the_system() -> None:
    asked: list[str] = []

    async def spy(host: str, port: int, socktype: int) -> list[AddrInfo]:
        asked.append(host)
        return await resolve.system_resolver(host, port, socktype)

    with use_resolver(spy):
        session, sink = make_session("tcp://printer.lan.invalid:9100")
        assert run(session.open()) is False
    assert asked == ["printer.lan.invalid"]
    assert resolve.resolver is resolve.system_resolver
    (error,) = sink.of(Kind.ERROR)
    assert error.fields == {
        "message": "cannot resolve 'printer.lan.invalid': no such name (.invalid never resolves)",
        "phase": "resolve",
    }
    assert session.state is SessionState.FAILED and not session.ok


def test_an_injected_resolver_decides_where_a_name_goes(ws_server: RunningServer) -> None:
    async def lab_dns(host: str, port: int, socktype: int) -> list[AddrInfo]:
        if host != "echo.lab.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socktype, 6, "", ("127.0.0.1", port))]

    async def scenario() -> None:
        session, sink = make_session(f"ws://echo.lab.test:{ws_server.port}/")
        assert await session.open()
        session.send_text("hi")
        await wait_until(lambda: session.messages_in == 1)
        await session.close()
        assert session.ok
        (resolved,) = sink.of(Kind.RESOLVE)
        assert resolved.fields["addresses"] == ["127.0.0.1"]
        other, other_sink = make_session("ws://elsewhere.lab.test/")
        assert not await other.open()
        assert other.failure == "cannot resolve 'elsewhere.lab.test': Name or service not known"
        assert [r.kind for r in other_sink.records] == [Kind.ERROR, Kind.CLOSED]

    with use_resolver(lab_dns):
        run(scenario())


def test_a_refusal_shows_status_headers_and_body(fault_targets: FaultTargets) -> None:
    session, sink = run(play(CASE["non-101"], fault_targets["non-101"]))
    answer = next(r for r in sink.of(Kind.HANDSHAKE) if r.direction is Direction.IN)
    assert answer.wire == REFUSAL and answer.payload == b"no WebSocket here, sorry"
    assert answer.fields["status"] == 403 and answer.fields["accepted"] is False
    assert ["X-Reason", "no-upgrades"] in answer.fields["headers"]
    assert session.summary()["websocket"]["handshake_done"] is False


def test_a_refused_certificate_is_recorded_for_connect_anyway(
    fault_targets: FaultTargets,
) -> None:
    session, sink = run(play(CASE["tls-mismatch"], fault_targets["tls-mismatch"]))
    (error,) = sink.of(Kind.ERROR)
    cert = error.fields["cert"]
    assert "DNS:other.example" in cert["san"]
    assert "the certificate is for DNS:other.example" in error.fields["message"]
    assert error.fields["verify_code"] == 64  # X509_V_ERR_IP_ADDRESS_MISMATCH
    assert cert["not_before"] < cert["not_after"] and len(cert["sha256"]) == 64
    summary = session.summary()
    assert summary["tls"]["verified"] is False and summary["tls"]["cert"] == cert
    assert not sink.of(Kind.TLS)  # no handshake completed

    # "Connect anyway": the same server without verification works, marked unverified.
    target = fault_targets["tls-mismatch"]
    again, again_sink = make_session(target.url, verify=False)

    async def anyway() -> None:
        assert await again.open()
        again.send(b"ping")
        await wait_until(lambda: again.messages_in == 1)
        await again.close()

    run(anyway())
    assert again.ok
    (tls,) = again_sink.of(Kind.TLS)
    assert tls.fields["verified"] is False and tls.fields["cert"]["sha256"] == cert["sha256"]
    (info,) = again_sink.of(Kind.INFO)
    assert info.fields["message"] == "certificate not verified (--insecure)"
    assert again.summary()["tls"]["verified"] is False


def test_a_frame_after_the_close_frame_is_shown_and_ignored(
    hostile_server_factory: object,
) -> None:
    close = server_frame(0x88, close_payload(1000, b"done"))
    late = server_frame(0x81, b"late")
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Upgrade(), Write(close + late), ReadUntil(b"\x88"), Close()))
    )
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    inbound = [r for r in sink.of(Kind.FRAME) if r.direction is Direction.IN]
    assert [r.wire for r in inbound] == [close, late]
    assert inbound[1].fields["error"] == "ignored: received after the close frame (RFC 6455 §1.4)"
    (echo,) = [r for r in sink.of(Kind.FRAME) if r.direction is Direction.OUT]
    assert echo.fields["close_code"] == 1000 and echo.fields["automatic"] is True
    assert session.state is SessionState.CLOSED and session.ok


def test_garbage_after_the_close_frame_is_shown(hostile_server_factory: object) -> None:
    close = server_frame(0x88, close_payload(1000))
    server: HostileServer = hostile_server_factory(  # type: ignore[operator]
        HostileScript((Upgrade(), Write(close + b"\x81\x7fjunk"), ReadUntil(b"\x88"), Close()))
    )
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    (junk,) = sink.of(Kind.DATA)
    assert junk.direction is Direction.IN and junk.wire == b"\x81\x7fjunk"
    assert junk.fields == {
        "incomplete": True,
        "error": "ignored: received after the close frame (RFC 6455 §1.4)",
    }
    closed = sink.records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["close_code"] == 1000
    assert closed.fields["clean"] is True and not sink.of(Kind.ERROR)
    assert session.state is SessionState.CLOSED and session.ok
