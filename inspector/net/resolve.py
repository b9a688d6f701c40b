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


async def resolve(
    endpoint: Endpoint, recorder: Recorder, socktype: int
) -> tuple[list[Address], int]:
    """Look up ``endpoint.host`` (IPv6 literals included), record a RESOLVE with the
    addresses and return them with the time it took; socket.gaierror if none."""
    start = recorder.now()
    infos = await resolver(endpoint.host, endpoint.port, socktype)
    duration = recorder.now() - start
    seen: set[tuple[int, tuple[Any, ...]]] = set()
    addresses: list[Address] = []
    for family, _type, _proto, _name, sockaddr in infos:
        key = (family, tuple(sockaddr))
        if key not in seen:
            seen.add(key)
            addresses.append((family, tuple(sockaddr)))
    recorder.record(
        Direction.META,
        Kind.RESOLVE,
        fields={
            "host": endpoint.host,
            "addresses": [str(sockaddr[0]) for _family, sockaddr in addresses],
            "duration_ns": duration,
        },
    )
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no addresses found")
    return addresses, duration
