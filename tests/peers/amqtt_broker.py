"""amqtt's MQTT broker with one WebSocket listener on 127.0.0.1 port 0, for interop tests.

Run by the Python of tests/peers/.venvs/amqtt (amqtt pins an older websockets than the
inspector needs; tests/peers/install makes that venv). See lifetime.py for how it says its
port and stops.
"""

from __future__ import annotations

import asyncio

from amqtt.broker import Broker
from lifetime import serve_until_stopped

CONFIG = {
    "listeners": {"default": {"type": "ws", "bind": "127.0.0.1:0"}},
    "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
}


async def main() -> None:
    """Start the broker, say its port, serve until told to stop."""
    broker = Broker(CONFIG)
    await broker.start()
    server = broker._servers["default"].instance  # websockets' Server: the bound socket
    await serve_until_stopped(server.sockets[0].getsockname()[1])
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
