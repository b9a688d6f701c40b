"""Mutual TLS: a TLS echo server with CERT_REQUIRED (certificates from trustme), client
certificates in PEM (key together or apart, encrypted or not) and PKCS#12."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
    pkcs12,
)
from servers import RunningServer, ServerLoop
from session_helpers import make_session, run, wait_until

from inspector.core.records import Direction, Kind

PASSWORD = "key-pass-7"


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def mtls_server(
    server_loop: ServerLoop, tls_ca: trustme.CA, client_ca: trustme.CA
) -> Iterator[RunningServer]:
    context = servers.server_ssl_context(tls_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    client_ca.configure_trust(context)
    running = servers.start_tcp_echo(server_loop, ssl_context=context)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def blocking_mtls_server(tls_ca: trustme.CA, client_ca: trustme.CA) -> Iterator[RunningServer]:
    """A thread-per-connection TLS echo server on Python's blocking ssl sockets, which
    (unlike asyncio's TLS server) sends the TLS alert when it refuses a client's
    certificate, as OpenSSL-based servers do."""
    context = servers.server_ssl_context(tls_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    client_ca.configure_trust(context)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(10)
                    while data := tls.recv(65536):
                        tls.sendall(data)
            except (OSError, ssl.SSLError):
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield RunningServer("tls", port, _stop=lambda: None, _loop=None)  # type: ignore[arg-type]
    stop.set()
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    listener.close()
    thread.join(10)


@pytest.fixture(scope="module")
def files(client_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The client's certificate as each kind of file, and one from an untrusted CA."""
    folder = tmp_path_factory.mktemp("client-certs")
    leaf = client_ca.issue_cert("client@example.test")
    cert_pem = leaf.cert_chain_pems[0].bytes()
    key = load_pem_private_key(leaf.private_key_pem.bytes(), None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    out = {"sha256": hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()}

    def write(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        out[name] = str(folder / name)

    write("both.pem", leaf.private_key_pem.bytes() + cert_pem)
    write("cert.pem", cert_pem)
    write("key.pem", leaf.private_key_pem.bytes())
    encrypted = key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PASSWORD.encode())
    )
    write("encrypted-key.pem", encrypted)
    write(
        "client.p12",
        pkcs12.serialize_key_and_certificates(
            b"client", key, cert, None, BestAvailableEncryption(PASSWORD.encode())
        ),
    )
    stranger = trustme.CA().issue_cert("stranger@example.test")
    write("stranger.pem", stranger.private_key_pem.bytes() + stranger.cert_chain_pems[0].bytes())
    other_key = trustme.CA().issue_cert("x@example.test").private_key_pem.bytes()
    write("other-key.pem", other_key)
    write("plain.p12", pkcs12.serialize_key_and_certificates(b"c", key, cert, None, NoEncryption()))
    return out


def refused(url: str, **options: object) -> tuple:
    """Open and wait for the end without sending: a write racing the server's alert
    could meet a reset that discards the alert unread."""
    session, sink = make_session(url, **options)

    async def scenario() -> bool:
        opened = await session.open()
        await session.wait_closed()
        return opened

    return run(scenario()), session, sink


def echo(url: str, **options: object) -> tuple:
    session, sink = make_session(url, **options)

    async def scenario() -> bool:
        opened = await session.open()
        if opened:
            session.send(b"mutual")
            await wait_until(lambda: session.messages_in >= 1 or session.ended)
            await session.close()
        return opened

    return run(scenario()), session, sink


@pytest.mark.parametrize(
    "choice",
    [
        {"client_cert": "both.pem"},
        {"client_cert": "cert.pem", "client_key": "key.pem"},
        {"client_cert": "cert.pem", "client_key": "encrypted-key.pem", "password": True},
        {"client_cert": "client.p12", "password": True},
        {"client_cert": "plain.p12"},
    ],
    ids=["pem-together", "pem-apart", "pem-encrypted-key", "pkcs12", "pkcs12-no-password"],
)
def test_client_certificate_is_accepted(
    mtls_server: RunningServer, tls_ca_file: str, files: dict[str, str], choice: dict
) -> None:
    options = {"client_cert": files[choice["client_cert"]], "cafile": tls_ca_file}
    if "client_key" in choice:
        options["client_key"] = files[choice["client_key"]]
    if choice.get("password"):
        options["client_key_password"] = PASSWORD
    opened, session, sink = echo(mtls_server.url, **options)
    assert opened and session.ok, session.failure
    assert [r.payload for r in sink.of(Kind.DATA) if r.direction is Direction.IN] == [b"mutual"]
    sent = sink.of(Kind.TLS)[0].fields["client_cert"]
    assert sent["sha256"] == files["sha256"] and sent["subject"] and sent["issuer"]
    assert PASSWORD not in repr([r.fields for r in sink.records])


def test_no_client_certificate_is_refused_in_one_line(
    blocking_mtls_server: RunningServer, tls_ca_file: str
) -> None:
    _opened, session, sink = refused(blocking_mtls_server.url, cafile=tls_ca_file)
    assert not session.ok
    assert "client certificate" in session.failure and "\n" not in session.failure
    assert sink.of(Kind.ERROR)


def test_untrusted_client_certificate_is_rejected(
    blocking_mtls_server: RunningServer, tls_ca_file: str, files: dict[str, str]
) -> None:
    _opened, session, _sink = refused(
        blocking_mtls_server.url, cafile=tls_ca_file, client_cert=files["stranger.pem"]
    )
    assert not session.ok
    assert session.failure.startswith("the server rejected the client certificate: "), (
        session.failure
    )


def test_trusted_client_certificate_on_the_blocking_server(
    blocking_mtls_server: RunningServer, tls_ca_file: str, files: dict[str, str]
) -> None:
    opened, session, sink = echo(
        blocking_mtls_server.url, cafile=tls_ca_file, client_cert=files["both.pem"]
    )
    assert opened and session.ok, session.failure
    tls = sink.of(Kind.TLS)[0].fields
    assert tls["client_cert_requested"] is True
    assert tls["client_cert"]["sha256"] == files["sha256"]


def test_a_server_that_asks_for_nothing(
    tls_echo_server: RunningServer, tls_ca_file: str, files: dict[str, str]
) -> None:
    opened, session, sink = echo(
        tls_echo_server.url, cafile=tls_ca_file, client_cert=files["both.pem"]
    )
    assert opened and session.ok, session.failure
    assert sink.of(Kind.TLS)[0].fields["client_cert_requested"] is False


@pytest.mark.parametrize(
    ("choice", "problem"),
    [
        (
            {"client_cert": "cert.pem", "client_key": "encrypted-key.pem"},
            "is encrypted: give its password",
        ),
        ({"client_cert": "client.p12"}, "give its password"),
        (
            {"client_cert": "cert.pem", "client_key": "encrypted-key.pem", "pw": "nope"},
            "wrong password",
        ),
        ({"client_cert": "cert.pem"}, "no private key"),
        ({"client_cert": "cert.pem", "client_key": "other-key.pem"}, "does not belong"),
        ({"client_cert": "missing.pem"}, "cannot read the client certificate"),
    ],
    ids=[
        "encrypted-no-password",
        "p12-no-password",
        "wrong-password",
        "no-key",
        "not-a-pair",
        "missing",
    ],
)
def test_unusable_client_certificates_are_one_line(
    mtls_server: RunningServer,
    tls_ca_file: str,
    files: dict[str, str],
    tmp_path: Path,
    choice: dict,
    problem: str,
) -> None:
    cert = files.get(choice["client_cert"], str(tmp_path / choice["client_cert"]))
    options: dict[str, object] = {"client_cert": cert, "cafile": tls_ca_file}
    if "client_key" in choice:
        options["client_key"] = files[choice["client_key"]]
    if "pw" in choice:
        options["client_key_password"] = choice["pw"]
    opened, session, sink = echo(mtls_server.url, **options)
    assert not opened
    assert problem in session.failure and "\n" not in session.failure
    assert sink.of(Kind.ERROR)[0].fields["phase"] == "tls"
