"""Render docs/screenshot-decoded.png: a Socket.IO session decoded in the window.

Starts the tests' python-socketio server (tests/app_servers.py) on 127.0.0.1, opens the
real MainWindow at 1280x800 offscreen, joins the namespace, emits a few "chat" events
with acks, selects the first event's decoded "event" field (its bytes highlighted in
the Payload view, the matched ack linked with its latency) and shows the Latency tab.

Run: ``.venv/bin/python docs/make_decoded_screenshot.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "tests"))

import app_servers  # noqa: E402  (the tests' application-protocol servers)
from make_screenshots import find_row, open_tab, run_in_window, send, snap, wait_for  # noqa: E402

from inspector.core.records import Direction, Kind  # noqa: E402
from inspector.ui.main_window import MainWindow  # noqa: E402

OUT = ROOT / "docs" / "screenshot-decoded.png"


async def make(window: MainWindow, url: str) -> None:
    tab = await open_tab(window, url)
    await wait_for(lambda: tab.model is not None and tab.model.total >= 4)
    await send(tab, "40")
    for ack, text in enumerate(("hi", "how are you?", "bye"), start=12):
        await send(tab, f'42{ack}["chat",{{"text":"{text}","room":"lobby"}}]')
    await wait_for(lambda: len(tab.view.pairing.matching) >= 3)
    row = find_row(tab, lambda r: r.kind is Kind.FRAME and r.direction is Direction.OUT
                   and (r.payload or b"").startswith(b"4212"))  # fmt: skip
    tab.select_row(row)
    tree = tab.details.tree
    app = tree.application_item()
    assert app is not None
    stack = [app]
    while stack:
        item = stack.pop()
        if item.text(0) == "event":
            tree.setCurrentItem(item)
            break
        stack.extend(item.child(i) for i in range(item.childCount()))
    tab.view.show_stats()
    await wait_for(lambda: tab.view.pairing.done)
    await snap(window, OUT, 0.5)


def main() -> int:
    run_in_window(
        lambda loop: [app_servers.start_socketio_server(loop)],
        lambda window, s, _: make(window, s[0].url_for("/socket.io/?EIO=4&transport=websocket")),
    )
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
