"""tls:// sessions: verified handshakes, --insecure, and each kind of certificate failure."""

from __future__ import annotations

import datetime
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
import trustme
from servers import HostileScript, HostileServer, RunningServer, ServerLoop, Stall
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net.session import SessionState
from inspector.net.transport import INSECURE_MESSAGE


def echo_once(url: str, **options: object) -> tuple:
    session, sink = make_session(url, **options)

    async def scenario() -> bool:
        opened = await session.open()
        if opened:
            session.send(b"over tls")
            await wait_until(lambda: session.messages_in >= 1)
            await session.close()
        return opened

    return run(scenario()), session, sink


def test_verified_tls_echo(tls_echo_server: RunningServer, tls_ca_file: str) -> None:
    opened, session, sink = echo_once(tls_echo_server.url, cafile=tls_ca_file)
    assert opened and session.ok
    no_errors(sink)
    assert [r.kind for r in sink.records] == [
        Kind.RESOLVE,
        Kind.CONNECT,
        Kind.TLS,
        Kind.DATA,
        Kind.DATA,
        Kind.CLOSED,
    ]
    tls = sink.of(Kind.TLS)[0].fields
    assert tls["verified"] is True and tls["server_hostname"] == "127.0.0.1"
    assert tls["version"].startswith("TLSv1.") and tls["cipher"]
    assert tls["alpn"] is None and tls["duration_ns"] > 0
    cert = tls["cert"]
    assert "IP:127.0.0.1" in cert["san"] and "DNS:localhost" in cert["san"]
    assert re.fullmatch(r"[0-9a-f]{64}", cert["sha256"])
    assert cert["issuer"] and cert["subject"] and cert["serial"]
    assert cert["not_before"] < cert["not_after"]
    assert [r.payload for r in sink.of(Kind.DATA) if r.direction is Direction.IN] == [b"over tls"]
    summary = session.summary()
    assert set(summary["phases"]) == {"resolve_ns", "connect_ns", "tls_ns"}
    assert summary["tls"]["cert"]["sha256"] == cert["sha256"]


def test_insecure_accepts_an_untrusted_certificate(tls_echo_server: RunningServer) -> None:
    opened, session, sink = echo_once(tls_echo_server.url, verify=False)
    assert opened and session.ok
    tls = sink.of(Kind.TLS)[0].fields
    assert tls["verified"] is False and "IP:127.0.0.1" in tls["cert"]["san"]
    (info,) = sink.of(Kind.INFO)
    assert info.fields["message"] == INSECURE_MESSAGE == "certificate not verified (--insecure)"
    assert info.seq == sink.of(Kind.TLS)[0].seq + 1


def assert_tls_failure(url: str, expected: str, **options: object) -> None:
    opened, session, sink = echo_once(url, **options)
    assert not opened
    assert session.state is SessionState.FAILED and not session.ok
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["phase"] == "tls"
    assert error.fields["message"].startswith("TLS certificate rejected: ")
    assert expected in error.fields["message"]
    assert session.failure == error.fields["message"]
    assert sink.records[-1].kind is Kind.CLOSED and not sink.of(Kind.TLS)


def test_unknown_ca_is_rejected(tls_echo_server: RunningServer) -> None:
    assert_tls_failure(tls_echo_server.url, "unable to get local issuer certificate")


@pytest.fixture
def odd_tls_server(
    server_loop: ServerLoop, tls_ca: trustme.CA, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    """A TLS echo whose certificate is expired or names another host."""
    if request.param == "expired":
        now = datetime.datetime.now(datetime.UTC)
        context = servers.server_ssl_context(
            tls_ca,
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )
    else:
        context = servers.server_ssl_context(tls_ca, "other.example")
    server = servers.start_tcp_echo(server_loop, context)
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("odd_tls_server", "expected"),
    [("expired", "certificate has expired"), ("mismatch", "mismatch")],
    indirect=["odd_tls_server"],
)
def test_bad_certificates_are_rejected(
    odd_tls_server: RunningServer, tls_ca_file: str, expected: str
) -> None:
    assert_tls_failure(odd_tls_server.url, expected, cafile=tls_ca_file)


def test_self_signed_is_rejected(server_loop: ServerLoop) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with ca.cert_pem.tempfile() as cert, ca.private_key_pem.tempfile() as key:
        context.load_cert_chain(cert, key)
    server = servers.start_tcp_echo(server_loop, context)
    try:
        assert_tls_failure(server.url, "self-signed certificate")
    finally:
        server.stop()


def test_silent_server_times_out_during_tls(hostile_server_factory: object) -> None:
    server: HostileServer = hostile_server_factory(HostileScript((Stall(),)))  # type: ignore[operator]
    url = f"tls://127.0.0.1:{server.port}"
    session, sink = make_session(url, connect_timeout=0.3)
    assert run(session.open()) is False
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"] == f"timed out after 0.3 s during tls to 127.0.0.1:{server.port}"
    assert error.fields["phase"] == "tls"
    assert session.state is SessionState.FAILED


def test_unreadable_ca_file_is_one_line(tls_echo_server: RunningServer, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    for path in (str(bad), str(tmp_path / "missing.pem")):
        opened, session, sink = echo_once(tls_echo_server.url, cafile=path)
        assert not opened and session.state is SessionState.FAILED
        (error,) = sink.of(Kind.ERROR)
        assert error.fields["message"].startswith(f"cannot load CA file {path!r}: ")
        assert "\n" not in error.fields["message"]


def test_tls_to_a_plain_tcp_port(tcp_echo_server: RunningServer) -> None:
    opened, session, sink = echo_once(f"tls://127.0.0.1:{tcp_echo_server.port}")
    assert not opened and session.state is SessionState.FAILED
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"].startswith(
        "TLS handshake failed: the server did not answer in TLS; is this a plain TCP port?"
    )
