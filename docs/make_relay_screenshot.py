"""Render docs/screenshot-relay.png: a relay tab between two clients and a WebSocket server.

Starts the tests' websockets echo server (tests/servers.py) on 127.0.0.1, opens the real
MainWindow at 1280x800 offscreen, relays ws://127.0.0.1:0/ to it with a 20 ms delay on
server → client, connects two websockets clients through the relay, exchanges a few
JSON messages, injects one towards a client, turns Intercept on for client → server
with the filter "order" and leaves one order held in the queue.

Run: ``.venv/bin/python docs/make_relay_screenshot.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "tests"))

import servers  # noqa: E402
from make_screenshots import find_row, run_in_window, snap, wait_for  # noqa: E402

from inspector.core.records import Direction, Kind  # noqa: E402
from inspector.net.relayfaults import Faults  # noqa: E402
from inspector.ui.main_window import MainWindow  # noqa: E402
from inspector.ui.relay_dialog import RelaySettings  # noqa: E402

OUT = ROOT / "docs" / "screenshot-relay.png"


async def make(window: MainWindow, upstream: str) -> None:
    from websockets.asyncio.client import connect

    relay = RelaySettings("ws://127.0.0.1:0/", upstream, s2c=Faults(delay_ms=20))
    tab = window.open_relay(relay, [])
    await wait_for(lambda: tab.listener_state == "listening")
    url = tab.relay.url
    alice = await connect(url, user_agent_header="alice-client/1.0")
    bob = await connect(url, user_agent_header="bob-client/2.3")
    await alice.send(json.dumps({"type": "hello", "user": "alice"}))
    await bob.send(json.dumps({"type": "hello", "user": "bob"}))
    await alice.send(json.dumps({"type": "quote", "symbol": "ACME"}))
    for _ in range(2):
        await alice.recv()
    await bob.recv()
    await wait_for(lambda: len(tab.connections.entries) == 2)
    tab.select_connection(1)
    tab.direction.setCurrentIndex(tab.direction.findData("s2c"))
    tab.composer.set_mode("json")
    tab.composer.set_text('{"type": "notice", "text": "maintenance at 18:00"}')
    tab.composer.send()
    await alice.recv()
    tab.intercept_panel.filter.setText("order")
    tab.intercept_panel.set_mode("c2s")
    await alice.send(json.dumps({"type": "order", "side": "buy", "qty": 3, "price": 101.25}))
    await wait_for(lambda: tab.intercept_panel.held_count == 1)
    await wait_for(lambda: tab.view.model is not None and tab.view.model.total >= 9)
    row = find_row(
        tab,  # type: ignore[arg-type]
        lambda r: (
            r.kind is Kind.FRAME and r.direction is Direction.OUT and b"order" in (r.payload or b"")
        ),
    )
    tab.select_row(row)
    tab.details.show_headers_tab()
    tab.composer.set_text('{"type": "notice", "text": "back online"}')
    await snap(window, OUT, 0.5)
    tab.intercept_panel.forward_all()
    await alice.close()
    await bob.close()


def main() -> int:
    run_in_window(
        lambda loop: [servers.start_ws_server(loop, compression=True)],
        lambda window, s, _: make(window, s[0].url),
    )
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
