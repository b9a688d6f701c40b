"""tls:// listening and its certificates: made on first use, given by the user, faults."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import stat
from pathlib import Path

import pytest
import trustme
from listen_helpers import make_listener
from session_helpers import run, wait_until

from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.net import certs
from inspector.net.certs import CertificateError, ensure_self_signed, server_tls


def test_made_certificate_is_kept_private_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    cert_path, key_path = ensure_self_signed(folder)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    first = server_tls(directory=folder)
    again = server_tls(directory=folder)
    assert first.fingerprint == again.fingerprint and first.self_signed
    assert first.fingerprint == ":".join(
        f"{b:02X}" for b in hashlib.sha256(first.cert_der).digest()
    )
    from cryptography import x509

    cert = x509.load_der_x509_certificate(first.cert_der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    cert_path.write_text("damaged")
    renewed = server_tls(directory=folder)  # a damaged one is made again
    assert renewed.fingerprint != first.fingerprint


def test_the_default_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(certs.ENV_CERT_DIR, str(tmp_path / "here"))
    assert certs.default_cert_dir() == tmp_path / "here"


def test_user_files_faults_are_one_line(tmp_path: Path) -> None:
    a_cert, a_key = ensure_self_signed(tmp_path / "a")
    b_cert, b_key = ensure_self_signed(tmp_path / "b")
    junk = tmp_path / "junk.pem"
    junk.write_text("not pem")
    cases = [
        ((tmp_path / "missing.pem", a_key), "cannot read certificate file"),
        ((junk, a_key), "is not a PEM certificate"),
        ((a_cert, junk), "is not a PEM private key"),
        ((a_cert, b_key), "does not belong to the certificate"),
        ((a_cert, None), "give both a certificate and its key"),
    ]
    for (cert, key), needle in cases:
        with pytest.raises(CertificateError) as info:
            server_tls(cert, key)
        assert needle in str(info.value) and "\n" not in str(info.value)
    assert server_tls(b_cert, b_key).self_signed is False


def _client_context(cafile: Path | str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile))
    return context


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_python_ssl_client_trusts_the_made_certificate(tmp_path: Path, name: str) -> None:
    tls = server_tls(directory=tmp_path)
    listener, rec = make_listener(
        "tls://127.0.0.1:0", Rule(MatchKind.ANY, ActionKind.ECHO), tls=tls
    )

    async def scenario() -> bytes:
        await listener.start()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.port, ssl=_client_context(tls.cert_path), server_hostname=name
        )
        writer.write(b"secret")
        echoed = await reader.readexactly(6)
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return echoed

    assert run(scenario()) == b"secret"
    assert rec.listener.records[0].fields["cert_sha256"] == tls.fingerprint
    conn = rec.conns[1].records
    assert [r.kind for r in conn[:2]] == [Kind.CONNECT, Kind.TLS]
    fields = conn[1].fields
    assert fields["version"].startswith("TLSv1.") and fields["cipher"]
    assert fields["cert"]["sha256"] == tls.fingerprint.replace(":", "").lower()
    assert fields["server_hostname"] == (name if name == "localhost" else None)  # no SNI for IPs
    assert [r.payload for r in conn if r.kind is Kind.DATA] == [b"secret", b"secret"]


def test_user_certificate_and_a_failed_handshake(tmp_path: Path, tls_ca: trustme.CA) -> None:
    leaf = tls_ca.issue_cert("localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert_file))
    leaf.private_key_pem.write_to_path(str(key_file))
    tls = server_tls(cert_file, key_file)
    listener, rec = make_listener("tls://127.0.0.1:0", tls=tls)

    async def scenario() -> None:
        await listener.start()
        # A client that speaks plain text to a TLS port: that connection fails, alone.
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        await reader.read()
        writer.close()
        context = ssl.create_default_context()
        tls_ca.configure_trust(context)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.port, ssl=context, server_hostname="localhost"
        )
        await wait_until(lambda: len(listener.open_connections) == 1)
        listener.send(2, b"trusted")
        assert await reader.readexactly(7) == b"trusted"
        writer.close()
        await wait_until(lambda: listener.ended_count == 2)
        await listener.stop()

    run(scenario())
    failed = rec.conns[1].records
    error = next(r for r in failed if r.kind is Kind.ERROR)
    assert (
        error.fields["phase"] == "tls"
        and "TLS handshake with 127.0.0.1:" in error.fields["message"]
    )
    assert failed[-1].kind is Kind.CLOSED and failed[-1].fields["clean"] is False
    good = rec.conns[2].records
    assert good[1].kind is Kind.TLS and good[1].fields["server_hostname"] == "localhost"
    assert [r.payload for r in good if r.direction is Direction.OUT] == [b"trusted"]
