"""Shared fixtures: real servers on 127.0.0.1 (port 0) for every test package.

The servers run on a background thread with their own event loop (tests/servers.py),
so tests may reach them from ``asyncio.run``, from a qasync loop or from a subprocess.
Each server fixture yields a :class:`tests.servers.RunningServer` with ``.port``,
``.url`` (e.g. ``ws://127.0.0.1:40123/``) and ``.url_for(path)``.

- ``ws_server`` / ``ws_server_nocompress``: websockets echo, with / without
  permessage-deflate. Text "ping-me" makes it ping (payload b"ping-me") and then echo;
  "close-me" makes it close with 4000 "bye"; path "/forbidden" answers 403 with
  ``servers.FORBIDDEN_BODY``.
- ``wss_server``: the same echo over TLS (ALPN http/1.1); trust it with ``tls_ca_file``.
- ``tls_ca`` (a ``trustme.CA``, for making expired or other-host certificates with
  ``servers.server_ssl_context``) and ``tls_ca_file`` (path of its PEM).
- ``tcp_echo_server``, ``tls_echo_server``, ``udp_echo_server``: echo servers.
- ``hostile_server_factory(script)``: starts a raw TCP server playing a
  ``servers.HostileScript`` to each client; stopped after the test.
- ``server_loop``: the :class:`servers.ServerLoop`, to start servers of your own.
- Application servers no one here wrote (tests/app_servers.py), one per test module:
  ``socketio_server`` (python-socketio), ``graphql_server`` (strawberry),
  ``jsonrpc_server``, ``mosquitto`` (Debian's broker; MQTT over TCP and WebSocket),
  ``coilmq`` (STOMP), ``amqtt`` (MQTT over WebSocket) and ``signalr_hub`` (aiosignalr).
  A module that needs another scope or option defines its own.
- ``mqtt_endpoint``: each test runs once per MQTT broker and transport (mosquitto over
  TCP and WebSocket, amqtt over WebSocket); parametrize it indirectly to pick some.
- amqtt and aiosignalr run in venvs of their own (``bash tests/peers/install``, which
  .ci/run calls); without them their tests fail and say so, as without mosquitto.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).parent))

import servers
from servers import HostileScript, HostileServer, RunningServer, ServerLoop


@pytest.fixture(scope="session", autouse=True)
def private_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Commands run in (and spawned by) tests log here, not to the user's data folder."""
    path = tmp_path_factory.mktemp("logs")
    before = os.environ.get("INSPECTOR_LOG_DIR")
    os.environ["INSPECTOR_LOG_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("INSPECTOR_LOG_DIR", None)
    else:
        os.environ["INSPECTOR_LOG_DIR"] = before


@pytest.fixture(scope="session")
def server_loop() -> Iterator[ServerLoop]:
    """The background loop every test server runs on."""
    loop = ServerLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def ws_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    """A WebSocket echo server with permessage-deflate."""
    server = servers.start_ws_server(server_loop, compression=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ws_server_nocompress(server_loop: ServerLoop) -> Iterator[RunningServer]:
    """A WebSocket echo server that refuses compression."""
    server = servers.start_ws_server(server_loop, compression=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The test certificate authority (not trusted by the system)."""
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of the test CA's certificate, for SessionOptions(cafile=...) or --cafile."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def wss_server(server_loop: ServerLoop, tls_ca: trustme.CA) -> Iterator[RunningServer]:
    """A WebSocket echo server over TLS (certificate for 127.0.0.1 and localhost)."""
    context = servers.server_ssl_context(tls_ca, alpn=["http/1.1"])
    server = servers.start_ws_server(server_loop, compression=True, ssl_context=context)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tcp_echo_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    """A TCP echo server; closes when the client sends EOF."""
    server = servers.start_tcp_echo(server_loop)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_echo_server(server_loop: ServerLoop, tls_ca: trustme.CA) -> Iterator[RunningServer]:
    """A TLS echo server (certificate for 127.0.0.1 and localhost from ``tls_ca``)."""
    server = servers.start_tcp_echo(server_loop, servers.server_ssl_context(tls_ca))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def udp_echo_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    """A UDP echo server."""
    server = servers.start_udp_echo(server_loop)
    yield server
    server.stop()


@pytest.fixture
def hostile_server_factory(
    server_loop: ServerLoop,
) -> Iterator[Callable[[HostileScript], HostileServer]]:
    """Start raw TCP servers that play a script; all are stopped after the test."""
    started: list[HostileServer] = []

    def start(script: HostileScript) -> HostileServer:
        server = servers.start_hostile_server(server_loop, script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def socketio_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    import app_servers  # imported by the tests that use it only (python-socketio, aiohttp)

    server = app_servers.start_socketio_server(server_loop)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def graphql_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    import app_servers

    server = app_servers.start_graphql_server(server_loop)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jsonrpc_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    import app_servers

    server = app_servers.start_jsonrpc_server(server_loop)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import app_servers

    if app_servers.mosquitto_path() is None:
        pytest.fail("mosquitto is not installed (apt-get install mosquitto; .ci/run does)")
    broker = app_servers.Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def coilmq() -> Iterator[object]:
    import app_servers

    broker = app_servers.CoilMQ()
    yield broker
    broker.stop()


def _peer_venv(venv: str) -> None:
    """Fail (not skip) when a peer's venv was never made, or with other pins."""
    import app_servers

    if app_servers.peer_python(venv) is None:
        pytest.fail(f"the venv tests/peers/.venvs/{venv} is missing or out of date: run "
                    "`bash tests/peers/install` (.ci/run does)")  # fmt: skip


def _peer(
    factory: pytest.TempPathFactory, venv: str, start: Callable[[Path], object]
) -> Iterator[object]:
    """A peer server run from its own venv (``start(folder)``), stopped at the end."""
    _peer_venv(venv)
    peer = start(factory.mktemp(venv))
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def amqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import app_servers

    yield from _peer(tmp_path_factory, "amqtt", app_servers.Amqtt)


@pytest.fixture(scope="module")
def signalr_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import app_servers

    yield from _peer(tmp_path_factory, "signalr", app_servers.SignalRHub)


MQTT_ENDPOINTS = ("mosquitto-tcp", "mosquitto-ws", "amqtt-ws")


@pytest.fixture(params=MQTT_ENDPOINTS)
def mqtt_endpoint(request: pytest.FixtureRequest) -> object:
    """One MQTT broker over one transport (an ``app_servers.MqttEndpoint``)."""
    import app_servers

    name, over = request.param.split("-")
    broker = request.getfixturevalue(name)
    url = f"tcp://{servers.HOST}:{broker.tcp_port}" if over == "tcp" else broker.ws_url
    return app_servers.MqttEndpoint(name, over, url)
