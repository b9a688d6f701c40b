"""Application-protocol servers no one here wrote, on 127.0.0.1 port 0, for interop tests.

- ``start_socketio_server``: python-socketio on aiohttp. Event "chat" answers its ack
  with ``{"ok": true, "echo": data}``; event "upload" (bytes) emits "uploaded" with the
  same bytes back and answers its ack with their length.
- ``start_graphql_server``: strawberry's ASGI app on uvicorn, subscription
  ``count(to: Int)`` yielding 0..to-1, and query ``hello``.
- ``start_jsonrpc_server``: the ``json-rpc`` package's response manager behind a
  websockets server: methods ``add(a, b)`` and ``echo(text)``, batches, errors.
- ``Mosquitto`` (Debian's broker in a subprocess) and ``CoilMQ`` (a STOMP broker on a
  thread).
- ``Amqtt`` (amqtt's MQTT broker, WebSocket listener) and ``SignalRHub`` (aiosignalr's
  SignalR hub): scripts of tests/peers run as subprocesses by venvs of their own
  (tests/peers/.venvs, made by ``bash tests/peers/install``), since both pin a websockets
  older than the inspector's.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servers import HOST, RunningServer, ServerLoop


def start_socketio_server(
    loop: ServerLoop,
    ping_interval: float = 300,
    ping_timeout: float = 300,
    connected: threading.Event | None = None,
) -> RunningServer:
    """A Socket.IO v5 server (Engine.IO 4) at ``/socket.io/``, pinging every
    ``ping_interval`` seconds (``ping_timeout`` announced); the namespace "/private"
    refuses every client; ``connected`` is set as a client joins the namespace "/"."""
    import socketio
    from aiohttp import web

    async def start() -> RunningServer:
        sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=ping_interval,
                                   ping_timeout=ping_timeout, namespaces="*")  # fmt: skip

        if connected is not None:

            @sio.on("connect")
            async def joined(sid: str, environ: Any, auth: Any = None) -> None:
                connected.set()

        @sio.on("connect", namespace="/private")
        async def refuse(sid: str, environ: Any, auth: Any = None) -> bool:
            raise socketio.exceptions.ConnectionRefusedError("members only")
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


def start_jsonrpc_server(loop: ServerLoop) -> RunningServer:
    """JSON-RPC 2.0 over WebSocket: each text message is handled by ``json-rpc``."""
    from jsonrpc import JSONRPCResponseManager
    from websockets.asyncio.server import ServerConnection, serve

    methods = {"add": lambda a, b: a + b, "echo": lambda text: text}

    async def handler(connection: ServerConnection) -> None:
        async for message in connection:
            response = JSONRPCResponseManager.handle(message, methods)
            if response is not None:  # notifications get no answer
                await connection.send(response.json)

    async def start() -> RunningServer:
        server = await serve(handler, HOST, 0, compression=None, ping_interval=None)
        port = server.sockets[0].getsockname()[1]

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return RunningServer("ws", port, _stop=stop, _loop=loop)

    return loop.call(start())


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """Where a test reaches an MQTT broker (the ``mqtt_endpoint`` fixture): ``broker`` is
    "mosquitto" or "amqtt", ``over`` is "tcp" or "ws"."""

    broker: str
    over: str
    url: str


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now (for servers that cannot be told port 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def mosquitto_path() -> str | None:
    """Where Debian's mosquitto is (/usr/sbin may be missing from PATH), or None."""
    import shutil

    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")


class Mosquitto:
    """Debian's mosquitto broker in a subprocess: MQTT over TCP and over WebSocket."""

    def __init__(self, folder: Any) -> None:
        self.tcp_port, self.ws_port = free_port(), free_port()
        self.ws_url = f"ws://{HOST}:{self.ws_port}/mqtt"
        config = folder / "mosquitto.conf"
        config.write_text(
            "per_listener_settings false\nallow_anonymous true\npersistence false\n"
            f"listener {self.tcp_port} {HOST}\n"
            f"listener {self.ws_port}\nbind_interface lo\nprotocol websockets\n"
        )
        self.log = folder / "mosquitto.log"
        self.process = subprocess.Popen(
            [mosquitto_path() or "mosquitto", "-c", str(config)], stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for port in (self.tcp_port, self.ws_port):
            self._wait_listening(port)

    def _wait_listening(self, port: int) -> None:
        import time

        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-500:]}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)  # polling for the listener, bounded by the deadline

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class CoilMQ:
    """The coilmq STOMP broker on a thread of this process, on 127.0.0.1 port 0."""

    def __init__(self) -> None:
        import threading

        from coilmq.config import config
        from coilmq.start import server_from_config

        config.set("coilmq", "listen_addr", HOST)
        config.set("coilmq", "listen_port", "0")
        self.server = server_from_config(config)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


# -- Peers in venvs of their own (tests/peers) ------------------------------------------

PEERS = Path(__file__).parent / "peers"
PEER_START_SECONDS = 30  # a bound on a peer's start, never an assertion


def peer_python(venv: str) -> Path | None:
    """The Python of tests/peers/.venvs/VENV, or None unless tests/peers/install finished
    making it with today's tests/peers/VENV.txt (its copy of the pins is written last)."""
    folder = PEERS / ".venvs" / venv
    made = folder / "pins.txt"
    if not made.exists() or made.read_bytes() != (PEERS / f"{venv}.txt").read_bytes():
        return None
    return folder / "bin" / "python"


class PeerServer:
    """A server script of tests/peers run by its venv's Python, listening on ``port``.

    The script says ``listening PORT`` when it accepts (tests/peers/lifetime.py); it stops
    on SIGTERM or when this process closes its standard input.
    """

    def __init__(self, venv: str, script: str, folder: Path) -> None:
        python = peer_python(venv)
        if python is None:
            raise RuntimeError(f"tests/peers/.venvs/{venv} is missing or out of date: run "
                               "`bash tests/peers/install`")  # fmt: skip
        self.log = folder / f"{Path(script).stem}.log"
        self.process = subprocess.Popen(
            [str(python), str(PEERS / script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
        )  # fmt: skip
        try:
            self.port = self._read_port(script)
        except BaseException:
            self.stop()
            raise

    def _read_port(self, script: str) -> int:
        """The port from the script's first line, waiting at most PEER_START_SECONDS."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + PEER_START_SECONDS
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise RuntimeError(f"{script} did not start in {PEER_START_SECONDS} s: "
                                       f"{self.log.read_text()[-500:]}")  # fmt: skip
                chunk = os.read(fd, 256)
                if not chunk:
                    raise RuntimeError(f"{script} exited: {self.log.read_text()[-500:]}")
                line += chunk
        word, _, port = line.decode().strip().partition(" ")
        if word != "listening" or not port.isdigit():
            raise RuntimeError(f"{script} said {line!r}, not 'listening PORT'")
        return int(port)

    def stop(self) -> None:
        """Terminate the script and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class Amqtt(PeerServer):
    """amqtt's MQTT 3.1.1 broker with a WebSocket listener (subprotocol ``mqtt``)."""

    def __init__(self, folder: Path) -> None:
        super().__init__("amqtt", "amqtt_broker.py", folder)
        self.ws_port = self.port
        self.ws_url = f"ws://{HOST}:{self.port}/mqtt"


class SignalRHub(PeerServer):
    """aiosignalr's hub at ``/hubs/chat``: Add(a, b), Echo(text), Counter(n) (a stream),
    Fail() (an error completion)."""

    PATH = "/hubs/chat"

    def __init__(self, folder: Path) -> None:
        super().__init__("signalr", "signalr_hub.py", folder)
        self.url = f"ws://{HOST}:{self.port}{self.PATH}"

    def negotiate(self) -> str:
        """POST to the hub's negotiate endpoint (version 1, as SignalR's clients do); the
        WebSocket URL with the connection token it gave."""
        request = urllib.request.Request(
            f"http://{HOST}:{self.port}{self.PATH}/negotiate?negotiateVersion=1", data=b"",
            method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert "WebSockets" in [t["transport"] for t in answer["availableTransports"]], answer
        return f"{self.url}?id={answer['connectionToken']}"
