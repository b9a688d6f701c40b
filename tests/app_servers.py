"""Application-protocol servers no one here wrote, on 127.0.0.1 port 0, for interop tests.

- ``start_socketio_server``: python-socketio on aiohttp. Event "chat" answers its ack
  with ``{"ok": true, "echo": data}``; event "upload" (bytes) emits "uploaded" with the
  same bytes back and answers its ack with their length.
- ``start_graphql_server``: strawberry's ASGI app on uvicorn, subscription
  ``count(to: Int)`` yielding 0..to-1, and query ``hello``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator
from typing import Any

from servers import HOST, RunningServer, ServerLoop


def start_socketio_server(loop: ServerLoop) -> RunningServer:
    """A Socket.IO v5 server (Engine.IO 4) at ``/socket.io/``."""
    import socketio
    from aiohttp import web

    async def start() -> RunningServer:
        sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=300, ping_timeout=300)
        app = web.Application()
        sio.attach(app)

        @sio.on("chat")
        async def chat(sid: str, data: Any) -> Any:
            return {"ok": True, "echo": data}

        @sio.on("upload")
        async def upload(sid: str, blob: bytes) -> int:
            await sio.emit("uploaded", blob, to=sid)
            return len(blob)

        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        return RunningServer("ws", port, _stop=runner.cleanup, _loop=loop)

    return loop.call(start())


def start_graphql_server(loop: ServerLoop) -> RunningServer:
    """A GraphQL server speaking graphql-transport-ws and graphql-ws at ``/graphql``."""
    import strawberry
    import uvicorn
    from strawberry.asgi import GraphQL

    @strawberry.type
    class Query:
        hello: str = "world"

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def count(self, to: int = 3) -> AsyncGenerator[int, None]:
            for index in range(to):
                yield index

    app = GraphQL(strawberry.Schema(query=Query, subscription=Subscription))

    async def start() -> RunningServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="wsproto")
        server = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)

        async def stop() -> None:
            server.should_exit = True
            await task
            sock.close()

        return RunningServer("ws", port, path="/graphql", _stop=stop, _loop=loop)

    return loop.call(start())
