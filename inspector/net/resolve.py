"""Name resolution with its own timing, and address formatting for records.

The lookup itself goes through :data:`resolver`, a module-level coroutine function
with the signature of ``loop.getaddrinfo(host, port, type=...)``. Tests (and an
embedding program) replace it with :func:`use_resolver` so a lookup never has to leave
the machine. Names under the special-use domain ``.invalid`` fail at once, here,
without asking the system resolver (RFC 6761 §6.4: "Name resolution APIs and
libraries SHOULD recognize 'invalid' names as special and SHOULD always return
immediate negative responses").
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind

#: (family, sockaddr) as getaddrinfo gives them.
Address = tuple[int, tuple[Any, ...]]

#: One getaddrinfo result: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]

#: A resolver: ``await resolver(host, port, socktype)`` -> getaddrinfo results, or
#: socket.gaierror when the name has no address.
Resolver = Callable[[str, int, int], Awaitable[list[AddrInfo]]]


def is_invalid_name(host: str) -> bool:
    """True for names under the special-use ".invalid" domain (RFC 6761 §6.4)."""
    name = host.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


async def system_resolver(host: str, port: int, socktype: int) -> list[AddrInfo]:
    """The event loop's getaddrinfo (the system resolver), except ".invalid" names."""
    if is_invalid_name(host):
        raise socket.gaierror(socket.EAI_NONAME, "no such name (.invalid never resolves)")
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socktype)


#: The resolver every session uses; replace it with :func:`use_resolver`.
resolver: Resolver = system_resolver


@contextlib.contextmanager
def use_resolver(replacement: Resolver) -> Iterator[None]:
    """Resolve every name with ``replacement`` inside the ``with`` block."""
    global resolver
    previous, resolver = resolver, replacement
    try:
        yield
    finally:
        resolver = previous


def format_address(sockaddr: tuple[Any, ...] | None) -> str:
    """host:port, with an IPv6 address in brackets ("" when unknown)."""
    if not sockaddr:
        return ""
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def family_name(family: int) -> str:
    """ "ipv4", "ipv6" or the family's number."""
    if family == socket.AF_INET:
        return "ipv4"
    if family == socket.AF_INET6:
        return "ipv6"
    return str(family)


def connect_fields(
    local: tuple[Any, ...] | None, peer: tuple[Any, ...] | None, family: str, duration_ns: int
) -> dict[str, Any]:
    """The fields every CONNECT record starts with: both addresses, family, time taken."""
    return {
        "local": format_address(local),
        "peer": format_address(peer),
        "family": family,
        "duration_ns": duration_ns,
    }


class AddressError(InspectorError, ValueError):
    """A source address that is not one (one line)."""


def parse_bind(text: str) -> tuple[str, int]:
    """ "ADDR[:PORT]" ("[v6]:PORT" or a bare IPv6 address) into (address, port);
    AddressError with one line otherwise."""
    import ipaddress

    raw = text.strip()
    host, port = raw, 0
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise AddressError(f"--bind {text!r}: write [IPv6]:PORT")
        port_text = rest[1:]
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    else:
        port_text = ""
    if port_text:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise AddressError(f"--bind {text!r}: {port_text!r} is not a port")
        port = int(port_text)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise AddressError(f"--bind {text!r}: {host!r} is not an IP address") from None
    return host, port


def bind_address(bind: tuple[str, int], family: int) -> tuple[Any, ...]:
    """The sockaddr to bind a ``family`` socket to; OSError when the address is of the
    other family (that address of the peer cannot be reached from it)."""
    host, port = bind
    is_v6 = ":" in host
    if is_v6 != (family == socket.AF_INET6):
        raise OSError(f"the source address {host} is not {family_name(family)}")
    return (host, port, 0, 0) if is_v6 else (host, port)


def happy_eyeballs_order(addresses: list[Address]) -> list[Address]:
    """The order to try ``addresses`` in (RFC 8305 §4): the resolver's first family
    first, then the families alternating."""
    if not addresses:
        return []
    first = addresses[0][0]
    ours = [a for a in addresses if a[0] == first]
    others = [a for a in addresses if a[0] != first]
    ordered: list[Address] = []
    for index in range(max(len(ours), len(others))):
        ordered.extend(group[index] for group in (ours, others) if index < len(group))
    return ordered


def _family_number(family: str | None) -> int | None:
    if family == "ipv4":
        return socket.AF_INET
    if family == "ipv6":
        return socket.AF_INET6
    return None


async def resolve(
    endpoint: Endpoint,
    recorder: Recorder,
    socktype: int,
    *,
    family: str | None = None,
    proxy: tuple[str, int] | None = None,
) -> tuple[list[Address], int]:
    """Look up ``endpoint.host`` (or the ``proxy``'s host and port: its RESOLVE then
    says ``role`` "proxy"), IPv6 literals included; record a RESOLVE with every
    address, the ones ``family`` ("ipv4"/"ipv6") kept and the order they will be tried
    in; return them in that order with the time it took; socket.gaierror if none is left."""
    name, port = (endpoint.host, endpoint.port) if proxy is None else proxy
    start = recorder.now()
    infos = await resolver(name, port, socktype)
    duration = recorder.now() - start
    seen: set[tuple[int, tuple[Any, ...]]] = set()
    found: list[Address] = []
    for fam, _type, _proto, _name, sockaddr in infos:
        key = (fam, tuple(sockaddr))
        if key not in seen:
            seen.add(key)
            found.append((fam, tuple(sockaddr)))
    wanted = _family_number(family)
    kept = [a for a in found if wanted is None or a[0] == wanted]
    addresses = happy_eyeballs_order(kept)
    fields: dict[str, Any] = {
        "host": name,
        "addresses": [str(sockaddr[0]) for _family, sockaddr in found],
        "duration_ns": duration,
    }
    if proxy is not None:
        fields["role"] = "proxy"
    if family is not None:
        fields["family"] = family
    if len(kept) != len(found) or len({a[0] for a in kept}) > 1:
        fields["order"] = [str(sockaddr[0]) for _family, sockaddr in addresses]
    if len({a[0] for a in kept}) > 1:
        fields["reason"] = (
            "both families: tried in the order above, the next one started 250 ms after "
            "the one before unless it failed sooner (Happy Eyeballs, RFC 8305)"
        )
    recorder.record(Direction.META, Kind.RESOLVE, fields=fields)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no addresses found")
    if not addresses:
        raise socket.gaierror(
            socket.EAI_ADDRFAMILY, f"no {'IPv4' if wanted == socket.AF_INET else 'IPv6'} address"
        )
    return addresses, duration
