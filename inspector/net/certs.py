"""Server certificates: the user's own, or one for localhost made on first use.

Listening on tls:// (and wss://) needs a certificate. Given none, the listener uses a
self-signed certificate for ``localhost``, ``127.0.0.1`` and ``::1``, made with
``cryptography`` the first time and kept in the user's data folder
(``$INSPECTOR_CERT_DIR``, else ``<user data>/socket-inspector/certs``; the folder 0700,
the key 0600), so a browser or OS told to trust it once keeps trusting it. Its SHA-256
fingerprint is what the user compares. Faults are one :class:`CertificateError` line.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from inspector.core.errors import InspectorError

APP_NAME = "socket-inspector"
ENV_CERT_DIR = "INSPECTOR_CERT_DIR"
CERT_NAME = "localhost-cert.pem"
KEY_NAME = "localhost-key.pem"
#: Days the made certificate is valid: within what platforms accept for a certificate
#: a user chose to trust (Apple: 825 days; browsers: 398 for public ones).
VALID_DAYS = 397
#: Make a new one when the old one has less than this left.
RENEW_BEFORE = datetime.timedelta(days=7)


class CertificateError(InspectorError):
    """A certificate or key cannot be used (unreadable, not PEM, not a pair): one line."""


def default_cert_dir() -> Path:
    """``$INSPECTOR_CERT_DIR``, else the user data directory's ``certs``."""
    env = os.environ.get(ENV_CERT_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "certs"


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint as browsers show it: upper-case hex pairs joined by colons."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


@dataclass(slots=True)
class ServerTLS:
    """What a TLS listener presents: its context, certificate (DER), files and fingerprint."""

    context: ssl.SSLContext
    cert_der: bytes
    cert_path: Path
    key_path: Path
    self_signed: bool
    _sni: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate, AA:BB:… ."""
        return fingerprint(self.cert_der)

    def server_name(self, ssl_object: Any) -> str | None:
        """The name the client asked for (SNI) in the handshake of ``ssl_object``."""
        return self._sni.pop(id(ssl_object), None)

    def forget(self) -> None:
        """Drop the names of handshakes that never finished."""
        self._sni.clear()


def ensure_self_signed(directory: Path | None = None) -> tuple[Path, Path]:
    """The made certificate and key in ``directory``; made (or renewed) when missing,
    unreadable or about to expire. CertificateError when the folder cannot be written."""
    directory = directory or default_cert_dir()
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if _still_good(cert_path) and key_path.is_file():
        return cert_path, key_path
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert_pem, key_pem = _make_self_signed()
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem, mode=0o644)
    except OSError as exc:
        raise CertificateError(
            f"cannot keep a certificate in {directory}: {exc.strerror or exc}"
        ) from None
    return cert_path, key_path


def _still_good(cert_path: Path) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    now = datetime.datetime.now(datetime.UTC)
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE


def _make_self_signed() -> tuple[bytes, bytes]:
    """A new P-256 key and a certificate for localhost, 127.0.0.1 and ::1 (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Socket Inspector (localhost)")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` created with ``mode`` (never readable by others in
    between), replacing any old file at once."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temp.unlink(missing_ok=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def load_certificate_der(cert_path: Path) -> bytes:
    """The first certificate of a PEM file as DER; CertificateError with one line."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = _read(cert_path, "certificate file")
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"{cert_path} is not a PEM certificate") from None
    return cert.public_bytes(serialization.Encoding.DER)


def server_tls(
    cert_file: str | os.PathLike[str] | None = None,
    key_file: str | os.PathLike[str] | None = None,
    *,
    directory: Path | None = None,
    alpn: list[str] | None = None,
) -> ServerTLS:
    """The TLS a listener presents: the given certificate and key, or (neither given)
    the made one. CertificateError with one line for any fault."""
    if (cert_file is None) != (key_file is None):
        raise CertificateError("give both a certificate and its key (--cert FILE --key FILE)")
    self_signed = cert_file is None
    if cert_file is None or key_file is None:
        cert_path, key_path = ensure_self_signed(directory)
    else:
        cert_path, key_path = Path(cert_file), Path(key_file)
    der = load_certificate_der(cert_path)
    _check_key(key_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "values mismatch" in str(exc).lower():
            raise CertificateError(
                f"the key in {key_path} does not belong to the certificate in {cert_path}"
            ) from None
        raise CertificateError(
            f"cannot use {cert_path} with {key_path}: {exc.reason or exc}"
        ) from None
    except OSError as exc:
        raise CertificateError(f"cannot read {cert_path}: {exc.strerror or exc}") from None
    if alpn:
        context.set_alpn_protocols(alpn)
    tls = ServerTLS(context, der, cert_path, key_path, self_signed)
    names = tls._sni

    def remember(ssl_object: Any, name: str | None, _context: ssl.SSLContext) -> None:
        if name is not None and len(names) < 4096:
            names[id(ssl_object)] = name

    context.sni_callback = remember
    return tls


def _check_key(key_path: Path) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = _read(key_path, "key file")
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(
            f"{key_path} is an encrypted key; give it without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertificateError(f"{key_path} is not a PEM private key") from None
