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

import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "tests"))

import app_servers  # noqa: E402  (the tests' application-protocol servers)
import servers  # noqa: E402
from make_screenshots import SIZE, find_row, open_tab, send, wait_for  # noqa: E402

from inspector.core.records import Direction, Kind  # noqa: E402
from inspector.ui.main_window import MainWindow  # noqa: E402
from inspector.ui.settings import Settings  # noqa: E402

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
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT))
    window.close()
    await wait_for(lambda: window.closed)


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Socket Inspector")
    app.setQuitOnLastWindowClosed(False)
    server_loop = servers.ServerLoop()
    server = app_servers.start_socketio_server(server_loop)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, Path(tmp) / "captures")
        window.resize(*SIZE)
        window.show()
        try:
            with loop:
                loop.run_until_complete(
                    make(window, server.url_for("/socket.io/?EIO=4&transport=websocket"))
                )
        finally:
            window.deleteLater()
            app.processEvents()
            server.stop()
            server_loop.close()
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
