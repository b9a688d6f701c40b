"""Client certificates for mutual TLS: PEM (key in the same file or apart) and PKCS#12.

Files are read with cryptography, so an encrypted key without a password, a wrong
password or a key that does not match the certificate is one line before anything is
sent (OpenSSL would otherwise ask for a password on the terminal). The pair is handed
to the TLS context through a private temporary file that is removed at once: Python's
ssl loads a certificate chain from files only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import ssl
import tempfile
from typing import Any

from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions


class ClientCertificateError(InspectorError):
    """The client certificate cannot be used (one line)."""


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(4 * 1024 * 1024)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ClientCertificateError(f"cannot read {what} {path!r}: {reason}") from None


def _load_key(data: bytes, password: bytes | None, path: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(data, password)
    except TypeError:
        if password is None:
            raise ClientCertificateError(
                f"the key in {path!r} is encrypted: give its password (--key-password)"
            ) from None
        raise ClientCertificateError(f"the key in {path!r} is not encrypted") from None
    except ValueError as exc:
        problem = "wrong password, or a damaged key" if password else f"no usable key ({exc})"
        raise ClientCertificateError(f"the key in {path!r}: {problem}") from None


def _load(options: SessionOptions) -> tuple[Any, Any, list[Any]]:
    """(certificate, key, extra chain) from the options' files."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    assert options.client_cert is not None
    path = options.client_cert
    password = options.client_key_password.encode() if options.client_key_password else None
    data = _read(path, "the client certificate")
    if b"-----BEGIN" not in data:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            problem = "wrong password or not a PKCS#12 file" if password else str(exc)
            if password is None and "password" in str(exc).lower():
                problem = "it is encrypted: give its password (--key-password)"
            raise ClientCertificateError(f"cannot load {path!r}: {problem}") from None
        if cert is None or key is None:
            raise ClientCertificateError(f"{path!r} holds no certificate with its key")
        return cert, key, list(extra or [])
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ClientCertificateError(f"{path!r} holds no PEM certificate") from None
    key_path = options.client_key or path
    key_data = data if options.client_key is None else _read(key_path, "the client key")
    if b"PRIVATE KEY-----" not in key_data:
        raise ClientCertificateError(f"no private key in {key_path!r}: give it with --key")
    key = _load_key(key_data, password, key_path)
    return certs[0], key, certs[1:]


def use_client_certificate(context: ssl.SSLContext, options: SessionOptions) -> dict[str, Any]:
    """Load the options' client certificate into ``context``; return what the TLS record
    says of it (subject, issuer, SHA-256 of the certificate, file)."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    cert, key, extra = _load(options)
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ClientCertificateError(
            f"the key does not belong to the certificate in {options.client_cert!r}"
        )
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pem += b"".join(c.public_bytes(Encoding.PEM) for c in [cert, *extra])
    fd, path = tempfile.mkstemp(prefix="inspector-client-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        context.load_cert_chain(path)
    except ssl.SSLError as exc:
        raise ClientCertificateError(f"TLS refused the client certificate: {exc.reason}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    der = cert.public_bytes(Encoding.DER)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sha256": hashlib.sha256(der).hexdigest(),
        "file": os.path.basename(options.client_cert or ""),
    }


#: TLS record content type and handshake message type (RFC 8446 §5.1, §4).
_HANDSHAKE, _CERTIFICATE_REQUEST = 22, 13


class CertificateRequestWatch:
    """Notes whether the server sent a CertificateRequest during the handshake.

    Python's ssl has no public way to tell; CPython's ``SSLContext._msg_callback`` (a
    debugging hook, present since 3.8) sees each handshake message. Where it is missing,
    ``asked`` stays None: not known. :meth:`done` detaches it after the handshake, so
    the data path pays nothing for it.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self.asked: bool | None = None
        if hasattr(context, "_msg_callback"):
            self.asked = False
            context._msg_callback = self._seen  # type: ignore[attr-defined]

    def _seen(
        self, _conn: Any, direction: str, _version: Any, content: Any, message: Any, _data: Any
    ) -> None:
        if direction == "read" and content == _HANDSHAKE and message == _CERTIFICATE_REQUEST:
            self.asked = True

    def done(self) -> None:
        """Stop watching (the handshake is over)."""
        if self.asked is not None:
            self._context._msg_callback = None  # type: ignore[attr-defined]
