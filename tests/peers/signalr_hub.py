"""A SignalR hub served by aiosignalr on 127.0.0.1 port 0 at ``/hubs/chat``, for interop
tests of the JSON hub protocol (negotiate, handshake, invocations, streams, completions).

Run by the Python of tests/peers/.venvs/signalr (aiosignalr pins websockets < 17; the
inspector needs 17). Hub methods: ``Add(a, b)``, ``Echo(text)``, ``Counter(n)`` (a stream
of 0..n-1) and ``Fail()`` (a completion with an error). See lifetime.py for how it says
its port and stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiosignalr.server import Hub, ServerOptions, SignalRServer
from lifetime import serve_until_stopped


class ChatHub(Hub):
    """The methods the tests invoke."""

    async def add(self, a: int, b: int) -> int:
        return a + b

    async def echo(self, text: str) -> str:
        return text

    async def counter(self, n: int) -> AsyncIterator[int]:
        for index in range(n):
            yield index

    async def fail(self) -> None:
        raise ValueError("the hub refuses")


async def main() -> None:
    """Start the hub, say its port, serve until told to stop."""
    server = SignalRServer(ChatHub, options=ServerOptions(enable_detailed_errors=True))
    _host, port = await server.serve("127.0.0.1", 0, path="/hubs/chat")
    await serve_until_stopped(port)
    await server.close()


if __name__ == "__main__":
    asyncio.run(main())
