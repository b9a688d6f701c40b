"""Name resolution with its own timing, and address formatting for records."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind

#: (family, sockaddr) as getaddrinfo gives them.
Address = tuple[int, tuple[Any, ...]]


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
    loop = asyncio.get_running_loop()
    start = recorder.now()
    infos = await loop.getaddrinfo(endpoint.host, endpoint.port, type=socktype)
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
