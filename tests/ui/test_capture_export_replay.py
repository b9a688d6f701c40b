"""Export from the GUI (pcapng, HAR, JSON Lines; cancel), replay, and ``inspector FILE``."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QProgressDialog, QPushButton
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, records, wait_row

from inspector.app import run
from inspector.capture.formats import read_jsonl
from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.replay import Timing
from inspector.ui.export_dialog import SECRETS_LABEL, ExportDialog
from inspector.ui.main_window import MainWindow
from inspector.ui.replay import ReplayChoice, ReplayDialog
from inspector.ui.tabs.capture import CaptureTab

TEXTS = ["one", "two", "three"]


def _session(qtbot: QtBot, window: MainWindow, connect, url: str, texts=TEXTS):
    tab = connect(url)
    for text in texts:
        compose(tab, text)
        wait_row(
            qtbot, tab, lambda r, t=text: r.direction is Direction.IN and r.payload == t.encode()
        )
    return tab


def _run(qtbot: QtBot, coro) -> object:
    """Run a coroutine on the qasync loop while Qt spins; return its result."""
    import asyncio

    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=30_000)
    return task.result()


def test_export_dialog_leaves_secrets_out_by_default(qtbot: QtBot, window: MainWindow) -> None:
    dialog = ExportDialog("ws", window)
    qtbot.addWidget(dialog)
    assert not dialog.secrets_box.isChecked()
    assert dialog.secrets_box.text() == SECRETS_LABEL
    assert "redacted" in dialog.findChild(object, "secretsNote").text()
    assert dialog.choice().include_secrets is False
    formats = [dialog.format_box.itemData(i) for i in range(dialog.format_box.count())]
    assert formats == ["pcapng", "har", "jsonl"]
    tcp = ExportDialog("tcp", window)
    qtbot.addWidget(tcp)
    assert "har" not in [tcp.format_box.itemData(i) for i in range(tcp.format_box.count())]


def test_export_each_format_from_the_gui(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    tab = _session(qtbot, window, connect, ws_server.url)
    # the whole path through the menu: dialog (accepted as is) then the file dialog
    target = tmp_path / "menu.pcapng"
    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    window.captures.export_action.trigger()
    qtbot.waitUntil(target.exists, timeout=WAIT_MS)
    assert target.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng section header block

    jsonl = tmp_path / "s.jsonl"
    assert _run(qtbot, window.captures.export(tab, "jsonl", jsonl))
    exported = read_jsonl(jsonl)
    assert [
        r.payload for r in exported if r.kind is Kind.FRAME and r.direction is Direction.IN
    ] == [t.encode() for t in TEXTS]
    har = tmp_path / "s.har"
    assert _run(qtbot, window.captures.export(tab, "har", har))
    entries = json.loads(har.read_text())["log"]["entries"]
    messages = entries[0]["_webSocketMessages"]
    assert [m["data"] for m in messages if m["type"] == "send"][:3] == TEXTS
    pcap = tmp_path / "s.pcapng"
    assert _run(qtbot, window.captures.export(tab, "pcapng", pcap))
    assert not list(tmp_path.glob(".*.part"))
    if shutil.which("tshark"):
        out = subprocess.run(
            ["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.number"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.split()) >= 2 * len(TEXTS)


def test_cancelling_an_export_leaves_no_file(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "big.sockcap"
    _write_capture(path, 20_000)
    (tab,) = window.captures.open_path(path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "cancelled.jsonl"
    shown_after: list[int] = []

    def cancel_at_once(dialog: QProgressDialog) -> None:
        shown_after.append(dialog.minimumDuration())
        button = dialog.findChild(QPushButton)
        assert button is not None and button.text() == "Cancel"
        button.click()

    assert (
        _run(qtbot, window.captures.export(tab, "jsonl", target, on_dialog=cancel_at_once)) is False
    )
    assert shown_after == [1000]
    assert not target.exists()
    assert list(out.iterdir()) == []  # nor its temporary file
    assert "cancelled" in window.statusBar().currentMessage()


@pytest.mark.parametrize("timing", [Timing.FAST, Timing.ORIGINAL])
def test_replay_to_the_echo_server_sends_the_same_messages(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, timing: Timing
) -> None:
    tab = _session(qtbot, window, connect, ws_server.url)
    window.disconnect_action.trigger()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    saved = tmp_path / "r.sockcap"
    window.captures.save_as(tab, saved)
    (capture,) = window.captures.open_path(saved)
    dialog = ReplayDialog(capture.endpoint.url, 4, window)
    qtbot.addWidget(dialog)
    (dialog.fast if timing is Timing.FAST else dialog.original).setChecked(True)
    choice = dialog.choice()
    assert choice == ReplayChoice(capture.endpoint, timing)
    new = window.captures.replay(capture, choice)
    assert new is not None and new is window.current_tab() and new is not tab
    qtbot.waitUntil(lambda: getattr(new, "replayed", None) is not None, timeout=WAIT_MS)
    # the recorded close frame was replayed too: the new session ends as the old one did
    qtbot.waitUntil(lambda: new.state == "closed", timeout=WAIT_MS)
    wait_row(qtbot, new, lambda r: r.kind is Kind.CLOSED)
    sent = [
        r.payload for r in records(new) if r.kind is Kind.FRAME and r.direction is Direction.OUT
    ]
    echoed = [
        r.payload for r in records(new) if r.kind is Kind.FRAME and r.direction is Direction.IN
    ]
    assert sent[: len(TEXTS)] == [t.encode() for t in TEXTS]
    texts = [t.encode() for t in TEXTS]
    if timing is Timing.ORIGINAL:
        assert echoed[: len(TEXTS)] == texts
    else:
        # Sent back to back, the close may reach the server before it echoed every
        # text; once it has the close it sends no more data (RFC 6455 §5.5.1).
        answered = echoed[:-1]
        assert echoed[-1] == b"\x03\xe8" and answered == texts[: len(answered)]
    assert new.replayed == len(TEXTS) + 1  # the three texts and the close


def _websocket_har(path: Path) -> None:
    """A browser-style HAR of one WebSocket session: text, binary, ping, text, close."""
    sent = [
        (1, "hello"),
        (2, base64.b64encode(b"\x00\x01\xff").decode()),
        (9, base64.b64encode(b"are you there").decode()),
        (1, "again"),
        (8, base64.b64encode(b"\x03\xe8").decode()),
    ]
    messages = [
        {"type": "send", "time": 1795356180.0 + n / 10, "opcode": opcode, "data": data}
        for n, (opcode, data) in enumerate(sent)
    ]
    headers = [{"name": "Upgrade", "value": "websocket"}]
    entry = {
        "startedDateTime": "2026-11-22T14:03:00.000Z",
        "time": 5,
        "request": {
            "method": "GET", "url": "ws://127.0.0.1:9/chat", "httpVersion": "HTTP/1.1",
            "headers": headers, "queryString": [], "cookies": [], "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
            "headers": headers, "cookies": [], "content": {"size": 0, "mimeType": ""},
            "redirectURL": "", "headersSize": -1, "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        "_resourceType": "websocket",
        "_webSocketMessages": messages,
    }  # fmt: skip
    har = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}
    path.write_text(json.dumps(har))


def test_replaying_a_websocket_har_to_tcp_sends_bytes_and_skips_control_frames(
    qtbot: QtBot, window: MainWindow, tcp_echo_server, tmp_path: Path
) -> None:
    har = tmp_path / "browser.har"
    _websocket_har(har)
    (capture,) = window.captures.open_path(har)
    target = parse_endpoint(tcp_echo_server.url)
    new = window.captures.replay(capture, ReplayChoice(target, Timing.FAST))
    assert new is not None and new.endpoint == target
    qtbot.waitUntil(lambda: getattr(new, "replayed", None) is not None, timeout=WAIT_MS)
    expected = b"hello\x00\x01\xffagain"
    qtbot.waitUntil(
        lambda: (
            b"".join(
                r.wire for r in records(new) if r.kind is Kind.DATA and r.direction is Direction.IN
            )
            == expected
        ),
        timeout=WAIT_MS,
    )
    note = "2 control frames skipped: tcp:// has no pings or closes"
    message = window.statusBar().currentMessage()
    assert message == f"Replayed 3 of 5 message(s) to {target.url}; {note}"
    assert "unexpected" not in message
    shown = records(new)
    assert [r.fields["message"] for r in shown if r.kind is Kind.INFO] == [f"replay: {note}"]
    assert [r for r in shown if r.kind is Kind.ERROR] == []
    sent = [r.wire for r in shown if r.kind is Kind.DATA and r.direction is Direction.OUT]
    assert sent == [b"hello", b"\x00\x01\xff", b"again"]
    assert new.state == "open"  # the recorded close has nothing to stand for it on tcp://


def test_replay_of_a_live_session_waits_for_it_to_end(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = _session(qtbot, window, connect, ws_server.url, ["x"])
    assert window.captures.replay_dialog(tab=tab) is None
    assert "closed session" in window.statusBar().currentMessage()


def _write_capture(path: Path, count: int) -> None:
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="ws://127.0.0.1:9/", scheme="ws", options=SessionOptions(), clock=clock
    )
    recorder = Recorder(store, clock=clock)
    for n in range(count):
        payload = f"message {n}".encode()
        recorder.record(
            Direction.IN,
            Kind.FRAME,
            t_ns=n * 1000,
            wire=b"\x81" + bytes([len(payload)]) + payload,
            payload=payload,
            fields={"opcode": "text", "fin": True},
        )
        if n % 4096 == 0:
            recorder.drain()
    recorder.drain()
    store.finish("closed", {})
    store.close()


def test_inspector_file_opens_the_capture(qapp: QApplication, tmp_path: Path, settings) -> None:
    path = tmp_path / "argv.sockcap"
    _write_capture(path, 50)
    seen: dict[str, object] = {}
    deadline = time.monotonic() + 15

    def drive() -> None:
        # the window run() made: earlier tests' closed windows may not be deleted yet
        window = seen.get("window")
        if window is None:
            fresh = [
                w
                for w in qapp.topLevelWidgets()
                if isinstance(w, MainWindow) and w.isVisible() and not w.closed
            ]
            window = seen["window"] = fresh[0] if fresh else None
        tab = window.current_tab() if window is not None else None
        if isinstance(tab, CaptureTab) and "rows" not in seen:
            seen["rows"] = tab.model.rowCount()
            seen["last"] = tab.model.record_at(49).payload
            window.close()
        elif time.monotonic() > deadline and window is not None and "timeout" not in seen:
            seen["timeout"] = True
            window.close()
        if window is None or not window.closed:
            QTimer.singleShot(20, drive)

    hook = sys.excepthook
    try:
        QTimer.singleShot(0, drive)
        assert run([str(path), "--capture-dir", str(tmp_path / "c")]) == 0
    finally:
        sys.excepthook = hook
        qapp.setQuitOnLastWindowClosed(True)
    assert "timeout" not in seen
    assert (seen["rows"], seen["last"]) == (50, b"message 49")
