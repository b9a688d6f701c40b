"""The window as each application protocol's client against real servers no one here
wrote (strawberry's GraphQL on uvicorn, Debian's mosquitto over TCP and WebSocket, amqtt
over WebSocket, coilmq for STOMP, the json-rpc package behind a websockets server,
aiosignalr's SignalR hub): the session opens
as the protocol's client, a message built in the Protocol… dialog is sent, the answer
comes back decoded, and the two are paired with a latency."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import app_servers
import pytest
from pytestqt.qtbot import QtBot
from servers import RunningServer
from ui_helpers import WAIT_MS, records, wait_row

from inspector.core.options import Framing
from inspector.core.records import Direction, Record
from inspector.protocols.decoders.tree import Decoded
from inspector.ui.connect_bar import DEFAULT_OPTIONS
from inspector.ui.main_window import MainWindow
from inspector.ui.models.records import COL_LATENCY
from inspector.ui.protocol_dialog import ProtocolMessageDialog
from inspector.ui.tabs.session import SessionTab


@pytest.fixture
def coilmq() -> Iterator[app_servers.CoilMQ]:
    """Per test: a GUI test leaves no thread behind (the broker's is stopped here)."""
    broker = app_servers.CoilMQ()
    yield broker
    broker.stop()


def _decoded(tab: SessionTab, record: Record) -> Decoded | None:
    return tab.view.decoding.decode(record)


def _row(tab: SessionTab, direction: Direction, test: Callable[[dict[str, Any]], bool]):
    """A predicate: a record of ``direction`` whose decoded facts pass ``test``."""

    def match(record: Record) -> bool:
        if record.direction is not direction:
            return False
        decoded = _decoded(tab, record)
        return decoded is not None and decoded.error is None and test(dict(decoded.facts))

    return match


def _send(qtbot: QtBot, tab: SessionTab, template: str, fields: dict[str, str]) -> None:
    """Build a message in the Protocol… dialog and send it."""
    tab.composer.protocol_button.click()
    dialog = tab.composer.protocol_dialog
    assert isinstance(dialog, ProtocolMessageDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    dialog.set_template(template)
    for name, value in fields.items():
        dialog.set_field(name, value)
    assert dialog.error.isHidden(), dialog.error.text()
    dialog.send_button.click()


def _paired(qtbot: QtBot, tab: SessionTab, request: int, response: int) -> None:
    """The request and its answer are paired both ways, with a latency in the table."""
    view = tab.view
    view.show_stats()
    req, resp = records(tab)[request].seq, records(tab)[response].seq
    qtbot.waitUntil(lambda: view.pairing.partner.get(req) == resp, timeout=WAIT_MS)
    assert view.pairing.partner[resp] == req
    qtbot.waitUntil(lambda: not tab.table.isColumnHidden(COL_LATENCY), timeout=WAIT_MS)
    assert tab.model.index(response, COL_LATENCY).data().endswith(" ms")
    qtbot.waitUntil(lambda: view.stats.count >= 1, timeout=WAIT_MS)


def _speaking(window: MainWindow, **options: Any) -> None:
    window.connect_bar.options = dataclasses.replace(DEFAULT_OPTIONS, compression=False,
                                                     **options)  # fmt: skip


def test_graphql_subscription_from_the_window(
    graphql_server: RunningServer, qtbot: QtBot, window: MainWindow, connect
) -> None:
    _speaking(window, speak="auto", subprotocols=("graphql-transport-ws",))
    tab = connect(graphql_server.url)
    wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "connection_ack"))
    assert tab.view.decoding.chosen == "graphql"
    _send(qtbot, tab, "graphql:subscribe", {"query": "subscription { count(to: 2) }"})
    sent = wait_row(qtbot, tab, _row(tab, Direction.OUT, lambda f: f.get("type") == "subscribe"))
    done = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "complete"))
    ident = _decoded(tab, records(tab)[sent]).facts["id"]
    results = [json.loads(r.payload or b"{}") for r in records(tab)[sent:done]
               if r.direction is Direction.IN]  # fmt: skip
    assert [m["payload"]["data"]["count"] for m in results if m.get("id") == ident] == [0, 1]
    first = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "next"))
    _paired(qtbot, tab, sent, first)


def test_mqtt_subscribe_and_publish_from_the_window(
    mqtt_endpoint: app_servers.MqttEndpoint, qtbot: QtBot, window: MainWindow, connect
) -> None:
    if mqtt_endpoint.over == "tcp":
        _speaking(window, speak="auto", framing=Framing.MQTT)
    else:
        _speaking(window, speak="auto", subprotocols=("mqtt",))
    tab = connect(mqtt_endpoint.url)
    wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "CONNACK"))
    assert tab.view.decoding.chosen == "mqtt"
    _send(qtbot, tab, "mqtt:subscribe", {"topic": "window/#", "qos": "1"})
    subscribe = wait_row(
        qtbot, tab, _row(tab, Direction.OUT, lambda f: f.get("type") == "SUBSCRIBE")
    )
    suback = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "SUBACK"))
    _send(qtbot, tab, "mqtt:publish", {"topic": "window/t1", "payload": "21.5", "qos": "1"})
    puback = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "PUBACK"))
    # Our own publish comes back through the subscription, decoded.
    echo = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "PUBLISH"))
    assert _decoded(tab, records(tab)[echo]).facts["topic"] == "window/t1"
    publish = next(
        i
        for i, r in enumerate(records(tab))
        if r.direction is Direction.OUT
        and (_decoded(tab, r) or Decoded("", "")).facts.get("type") == "PUBLISH"
    )
    _paired(qtbot, tab, subscribe, suback)
    _paired(qtbot, tab, publish, puback)


def test_stomp_send_with_a_receipt_from_the_window(
    coilmq: app_servers.CoilMQ, qtbot: QtBot, window: MainWindow, connect
) -> None:
    # No heart-beats: coilmq's timers for them would outlive the test.
    _speaking(window, speak="stomp",
              speak_options=(("host", socket.getfqdn()), ("heart_beat", "0,0")))  # fmt: skip
    tab = connect(f"tcp://127.0.0.1:{coilmq.port}")
    wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("command") == "CONNECTED"))
    _send(qtbot, tab, "stomp:send", {"destination": "/queue/w", "body": "hi", "receipt": "auto"})
    sent = wait_row(qtbot, tab, _row(tab, Direction.OUT, lambda f: f.get("command") == "SEND"))
    receipt = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("command") == "RECEIPT"))
    assert _decoded(tab, records(tab)[receipt]).facts["receipt_id"] == _decoded(
        tab, records(tab)[sent]).facts["receipt"]  # fmt: skip
    _paired(qtbot, tab, sent, receipt)


def test_jsonrpc_request_from_the_window(
    jsonrpc_server: RunningServer, qtbot: QtBot, window: MainWindow, connect
) -> None:
    _speaking(window)
    tab = connect(jsonrpc_server.url)
    tab.view.set_decoder("jsonrpc")
    _send(qtbot, tab, "jsonrpc:request", {"method": "add", "params": "[2, 3]"})
    sent = wait_row(qtbot, tab, _row(tab, Direction.OUT, lambda f: f.get("method") == "add"))
    answer = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("kind") == "response"))
    assert json.loads(records(tab)[answer].payload or b"{}")["result"] == 5
    assert _decoded(tab, records(tab)[answer]).facts["id"] == _decoded(
        tab, records(tab)[sent]).facts["id"]  # fmt: skip
    _paired(qtbot, tab, sent, answer)


def test_signalr_invocation_from_the_window(
    signalr_hub: app_servers.SignalRHub, qtbot: QtBot, window: MainWindow, connect
) -> None:
    # The hub's URL without negotiating first (SignalR's skipNegotiation for WebSockets).
    _speaking(window, speak="signalr")
    tab = connect(signalr_hub.url)
    wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "HandshakeResponse"))
    assert tab.view.decoding.chosen == "signalr"
    _send(qtbot, tab, "signalr:invoke", {"target": "Add", "arguments": "[40, 2]"})
    sent = wait_row(qtbot, tab, _row(tab, Direction.OUT, lambda f: f.get("target") == "Add"))
    done = wait_row(qtbot, tab, _row(tab, Direction.IN, lambda f: f.get("type") == "Completion"))
    ident = _decoded(tab, records(tab)[sent]).facts["invocation_id"]
    assert _decoded(tab, records(tab)[done]).facts["invocation_id"] == ident
    assert json.loads((records(tab)[done].payload or b"").rstrip(b"\x1e"))["result"] == 42
    _paired(qtbot, tab, sent, done)
