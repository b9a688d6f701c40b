"""TLS for sessions: the client context a session uses, and what its handshake showed."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import TYPE_CHECKING, Any

from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions

if TYPE_CHECKING:
    from cryptography import x509


class TLSConfigError(InspectorError):
    """The TLS settings cannot be used (e.g. an unreadable CA file)."""


def client_context(options: SessionOptions, alpn: list[str] | None = None) -> ssl.SSLContext:
    """The system's default client context; ``cafile`` adds a CA; ``verify=False`` turns
    certificate and host name checks off (--insecure)."""
    context = ssl.create_default_context()
    if options.cafile:
        try:
            context.load_verify_locations(cafile=options.cafile)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise TLSConfigError(f"cannot load CA file {options.cafile!r}: {reason}") from None
    if not options.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return repr(name)


def _san(cert: x509.Certificate) -> list[str]:
    from cryptography import x509

    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        return []
    out: list[str] = []
    for entry in extension.value:
        if isinstance(entry, x509.DNSName):
            out.append(f"DNS:{entry.value}")
        elif isinstance(entry, x509.IPAddress):
            out.append(f"IP:{entry.value}")
        elif isinstance(entry, x509.RFC822Name):
            out.append(f"email:{entry.value}")
        elif isinstance(entry, x509.UniformResourceIdentifier):
            out.append(f"URI:{entry.value}")
        else:
            out.append(str(entry.value))
    return out


def describe_certificate(der: bytes) -> dict[str, Any]:
    """Subject, issuer, validity, serial, SHA-256 fingerprint and SAN of a DER certificate.

    One parser for verified and unverified sessions alike, so the fields read the same;
    a certificate that cannot be parsed still gets its fingerprint and an ``error``.
    """
    # Imported on first use: sessions without TLS (and the probe's start) need none of it.
    from cryptography import x509

    info: dict[str, Any] = {"sha256": hashlib.sha256(der).hexdigest(), "size": len(der)}
    try:
        cert = x509.load_der_x509_certificate(der)
        info.update(
            subject=_name(cert.subject),
            issuer=_name(cert.issuer),
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
            serial=format(cert.serial_number, "x"),
            san=_san(cert),
        )
    except ValueError as exc:
        info["error"] = f"certificate not parsed: {exc}"
    return info


def describe_tls(ssl_object: ssl.SSLObject | None, verified: bool, server_hostname: str) -> dict:
    """The fields of a TLS record: version, cipher, ALPN, verified flag and certificate."""
    if ssl_object is None:
        return {"verified": verified, "server_hostname": server_hostname}
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "version": ssl_object.version(),
        "cipher": cipher[0] if cipher else None,
        "alpn": ssl_object.selected_alpn_protocol(),
        "verified": verified,
        "server_hostname": server_hostname,
        "cert": describe_certificate(der) if der else None,
    }


def describe_ssl_error(exc: ssl.SSLError, cert: dict[str, Any] | None = None) -> str:
    """One line for a failed TLS handshake, naming the reason (self-signed, expired, …);
    ``cert`` (from :func:`describe_certificate`) adds the dates or names that explain it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or "verification failed"
        hint = _VERIFY_HINTS.get(exc.verify_code)
        line = f"TLS certificate rejected: {str(reason).rstrip('.')}"
        if hint is not None:
            line += f" ({hint(cert or {})})"
        return line
    reason = exc.reason or exc.strerror or str(exc)
    if str(reason) in CLIENT_CERT_REJECTIONS:
        return f"the server rejected the client certificate: {reason}"
    hint = _SSL_HINTS.get(str(reason))
    return f"TLS handshake failed: {hint} ({reason})" if hint else f"TLS handshake failed: {reason}"


def _validity(cert: dict[str, Any]) -> str:
    return f"valid {cert.get('not_before', '?')} to {cert.get('not_after', '?')}"


def _names(cert: dict[str, Any]) -> str:
    names = ", ".join(cert.get("san") or []) or cert.get("subject") or "no names"
    return f"the certificate is for {names}"


#: OpenSSL verify codes (X509_V_ERR_*) and what they mean to a person.
_VERIFY_HINTS: dict[int, Any] = {
    9: lambda cert: f"not valid yet: {_validity(cert)}",
    10: lambda cert: f"{_validity(cert)}",
    18: lambda cert: "it signs itself; no authority this machine trusts vouches for it",
    19: lambda cert: "its chain ends in an authority this machine does not trust",
    20: lambda cert: (
        f"issued by {cert.get('issuer', 'an authority')}, which this machine does not trust"
    ),
    21: lambda cert: "the server sent an incomplete chain",
    62: _names,
    64: _names,
}


async def fetch_certificate(
    sockaddr: tuple[Any, ...], server_hostname: str, timeout: float
) -> dict[str, Any] | None:
    """Read the peer's certificate with verification off, only to record it after the
    verified handshake refused it (so the user sees what was rejected); None if the
    second handshake fails too or takes longer than ``timeout`` seconds."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    transport: asyncio.BaseTransport | None = None
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(
                asyncio.Protocol,
                host=sockaddr[0],
                port=sockaddr[1],
                ssl=context,
                server_hostname=server_hostname,
            )
    except (OSError, ssl.SSLError, TimeoutError):
        return None
    try:
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        transport.abort()
    return describe_certificate(der) if der else None


#: TLS alerts a server sends when it does not accept the client's certificate.
CLIENT_CERT_REJECTIONS = frozenset(
    {
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_ACCESS_DENIED",
        "TLSV1_ALERT_DECRYPT_ERROR",
    }
)

_NOT_TLS = "the server did not answer in TLS; is this a plain TCP port?"
_SSL_HINTS = {
    "WRONG_VERSION_NUMBER": _NOT_TLS,
    "UNEXPECTED_MESSAGE": _NOT_TLS,
    "RECORD_LAYER_FAILURE": _NOT_TLS,
    "PACKET_LENGTH_TOO_LONG": _NOT_TLS,
    "TLSV1_ALERT_PROTOCOL_VERSION": "no TLS version in common with the server",
    "UNSUPPORTED_PROTOCOL": "no TLS version in common with the server",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server refused the handshake "
    "(no cipher in common, or it wants a client certificate)",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the server requires a client certificate",
    "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": "the server accepts none of the offered ALPN protocols",
}
