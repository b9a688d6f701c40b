"""``probe --speak`` and ``--send-as`` against real servers: the protocol's opening,
answers and keep-alives sent and recorded as automatic, messages built from templates,
and a server's refusal as one line (python-socketio, strawberry GraphQL, mosquitto, amqtt,
coilmq and aiosignalr's SignalR hub)."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import app_servers
import pytest
from servers import RunningServer, ServerLoop

from inspector.cli import run_command

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess, never an assertion


def probe(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inspector", "probe", *argv],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)  # fmt: skip


def records(path: Path, decode: str = "auto") -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path), "--json", "--decode", decode], out, err) == 0, err
    return [json.loads(line) for line in out.getvalue().splitlines()]


def stats(path: Path, decode: str = "auto") -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path), "--stats", "--json", "--decode", decode], out,
                       err) == 0, err.getvalue()  # fmt: skip
    return json.loads(out.getvalue())


def traffic(rows: list[dict[str, Any]]) -> list[tuple[str, bool, dict[str, Any]]]:
    """(direction, automatic, decoded facts) of each decoded record."""
    return [(r["dir"], bool(r.get("automatic")), r["decoded"].get("facts", {}))
            for r in rows if "decoded" in r]  # fmt: skip


# -- Socket.IO --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def socketio_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    server = app_servers.start_socketio_server(server_loop, ping_interval=0.2)
    yield server
    server.stop()


def test_socketio_client_connects_answers_pings_and_emits(
    socketio_server: RunningServer, tmp_path: Path
) -> None:
    path = tmp_path / "sio.sockcap"
    # open, CONNECT, the ack of the event, then pings (each answered at once).
    result = probe(socketio_server.url_for("/socket.io/?EIO=4&transport=websocket"), "--speak",
                   "--send-as", "socketio:event", '{"name": "chat", "args": [{"text": "hi"}], '
                   '"ack": true}', "--count", "5", "--wait", "600", "-o", str(path),
                   "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = traffic(records(path))
    out = [(auto, facts.get("engine"), facts.get("type")) for d, auto, facts in seen if d == "out"]
    assert out[0] == (True, "message", "CONNECT")
    assert (False, "message", "EVENT") in out
    assert (True, "pong", None) in out
    event = next(f for d, _a, f in seen if d == "out" and f.get("type") == "EVENT")
    assert (event["event"], event["ack_id"]) == ("chat", 0)
    answer = next(f for d, _a, f in seen if d == "in" and f.get("type") == "ACK")
    assert answer["ack_id"] == 0
    info = [r["message"] for r in records(path, "json") if r["kind"] == "info"]
    assert "acting as a Socket.IO client" in info
    assert stats(path)["unanswered"] == 0


def test_socketio_namespace_refused_is_one_line(socketio_server: RunningServer) -> None:
    result = probe(socketio_server.url_for("/socket.io/?EIO=4&transport=websocket"),
                   "--speak", "socketio", "--speak-option", "namespace=/private",
                   "--send-as", "socketio:event", '{"name": "chat", "namespace": "/private"}',
                   "--wait", "600")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "inspector: Socket.IO refused the namespace /private: members only"
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_speak_and_send_as_are_usage_lines(socketio_server: RunningServer) -> None:
    url = socketio_server.url_for("/socket.io/?EIO=4&transport=websocket")
    for argv, line in (
        (["--speak", "nope"], "no protocol client 'nope' (known: auto, graphql, mqtt, "
         "signalr, socketio, stomp)"),
        (["--speak", "mqtt", "--speak-option", "keepalive=soon"],
         "--speak mqtt: keepalive='soon' is not a number"),
        (["--speak-option", "client_id=me"], "--speak-option needs --speak (the protocol "
         "client it sets)"),
        (["--send-as", "socketio:event", "[1]"], "--send-as socketio:event: the fields are a "
         "JSON object"),
        (["--send-as", "mqtt:publish", '{"topic": "a/#"}'], "'a/#' is not a topic to publish "
         "to (no wildcards, not empty)"),
        (["--send-as", "socketio:emit", "{}"], "no message template 'socketio:emit' (known: "),
    ):  # fmt: skip
        result = probe(url, *argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.startswith(f"inspector probe: {line}"), (argv, result.stderr)


# -- GraphQL over WebSocket ----------------------------------------------------------------


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
def test_graphql_client_inits_and_subscribes(
    graphql_server: RunningServer, tmp_path: Path, subprotocol: str
) -> None:
    path = tmp_path / "gql.sockcap"
    result = probe(graphql_server.url, "--subprotocol", subprotocol, "--speak",
                   "--send-as", "graphql:subscribe", '{"query": "subscription { count(to: 2) }"}',
                   "--count", "4", "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = traffic(records(path))
    assert seen[0][:2] == ("out", True) and seen[0][2]["type"] == "connection_init"
    assert seen[1][2]["type"] == "connection_ack"
    start = "subscribe" if subprotocol == "graphql-transport-ws" else "start"
    assert (seen[2][0], seen[2][2]["type"], seen[2][2]["id"]) == ("out", start, "1")
    results = [f for d, _a, f in seen if d == "in" and f.get("id") == "1"]
    assert [f["type"] for f in results][-1] == "complete"
    assert stats(path)["unanswered"] == 0


def test_graphql_transport_ws_client_pings(graphql_server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "gql-ping.sockcap"
    result = probe(graphql_server.url, "--subprotocol", "graphql-transport-ws", "--speak",
                   "--speak-option", "ping=0.1", "--count", "3", "--wait", "600", "-o",
                   str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = traffic(records(path))
    assert ("out", True, {"type": "ping"}) in seen
    assert [f["type"] for d, _a, f in seen if d == "in"][:3] == ["connection_ack", "pong", "pong"]


# -- MQTT ------------------------------------------------------------------------------------


MQTT_SENDS = ("--send-as", "mqtt:subscribe", '{"topic": "sensors/#", "qos": 1}',
              "--send-as", "mqtt:publish",
              '{"topic": "sensors/t1", "payload": "21.5", "qos": 1}')  # fmt: skip


def test_mqtt_client_connects_pings_and_acknowledges(
    mqtt_endpoint: app_servers.MqttEndpoint, tmp_path: Path
) -> None:
    path = tmp_path / "mqtt.sockcap"
    how = ("--framing", "mqtt") if mqtt_endpoint.over == "tcp" else ("--subprotocol", "mqtt")
    where = (mqtt_endpoint.url, *how)
    # CONNACK, SUBACK, PUBACK, our own PUBLISH back, then PINGRESP after a second.
    result = probe(*where, "--speak", "--speak-option", "keepalive=1", *MQTT_SENDS,
                   "--count", "5", "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = traffic(records(path))
    assert all(facts for _d, _a, facts in seen)
    kinds = [(d, auto, f["type"]) for d, auto, f in seen]
    assert kinds[0] == ("out", True, "CONNECT")
    assert ("out", True, "PINGREQ") in kinds and ("in", False, "PINGRESP") in kinds
    assert ("out", True, "PUBACK") in kinds  # for the broker's PUBLISH to us
    assert ("out", False, "SUBSCRIBE") in kinds and ("out", False, "PUBLISH") in kinds
    publish = next(f for d, _a, f in seen if d == "out" and f["type"] == "PUBLISH")
    assert (publish["topic"], publish["qos"], publish["packet_id"]) == ("sensors/t1", 1, 2)
    summary = stats(path)
    assert (summary["matched_by"], summary["unanswered"]) == ("mqtt", 0)


def test_mqtt_refused_connection_is_one_line(mosquitto: app_servers.Mosquitto) -> None:
    # MQTT 3.1.1 §3.1.3.1: an empty client id with clean session 0 is rejected (code 2).
    result = probe(f"tcp://127.0.0.1:{mosquitto.tcp_port}", "--speak", "mqtt",
                   "--speak-option", "client_id=", "--speak-option", "clean=0",
                   "--wait", "600")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "inspector: the MQTT broker refused the connection: 2 client identifier rejected"
    )


# -- STOMP -----------------------------------------------------------------------------------


def test_stomp_client_connects_and_sends_with_receipts(
    coilmq: app_servers.CoilMQ, tmp_path: Path
) -> None:
    path = tmp_path / "stomp.sockcap"
    result = probe(f"tcp://127.0.0.1:{coilmq.port}", "--speak", "stomp",
                   "--speak-option", f"host={socket.getfqdn()}",  # coilmq's only virtual host
                   "--send-as", "stomp:subscribe", '{"destination": "/queue/a", "receipt": "auto"}',
                   "--send-as", "stomp:send", '{"destination": "/queue/a", "body": "hi", '
                   '"receipt": "auto"}',
                   "--send-as", "stomp:disconnect", "{}",  # the broker closes after its receipt
                   "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for r in records(path, "stomp") if "decoded" in r]
    assert rows[0].get("automatic") and rows[0]["decoded"]["facts"]["command"] == "CONNECT"
    got = [f["name"] for r in rows if r["dir"] == "in" for f in r["decoded"]["fields"]]
    assert got[0] == "CONNECTED" and got.count("RECEIPT") == 3 and "MESSAGE" in got
    sent = [r["decoded"]["facts"] for r in rows if r["dir"] == "out"]
    assert [f.get("receipt") for f in sent[1:]] == ["receipt-1", "receipt-2", "receipt-3"]
    summary = stats(path, "stomp")
    assert (summary["count"], summary["unanswered"]) == (4, 0)
    # Without --decode, the protocol the session spoke (kept in the capture) chooses
    # the decoder, though the port is not STOMP's: the same pairs.
    assert stats(path) == {**summary, "matched_by": "stomp"}


def test_stomp_heart_beats_both_ways(coilmq: app_servers.CoilMQ, tmp_path: Path) -> None:
    path = tmp_path / "stomp-beats.sockcap"
    # coilmq drops a client whose heart-beats stop; six reads from it take about a second.
    result = probe(f"tcp://127.0.0.1:{coilmq.port}", "--speak", "stomp",
                   "--speak-option", f"host={socket.getfqdn()}",
                   "--speak-option", "heart_beat=200,200", "--count", "6", "--wait", "600",
                   "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = records(path, "stomp")
    beats_out = [r for r in rows if r["dir"] == "out" and r.get("wire") == "0a"]
    assert beats_out and all(r.get("automatic") for r in beats_out)
    beats_in = [r for r in rows if r["dir"] == "in" and "decoded" in r
                and r["decoded"]["facts"].get("command") == "heart-beat"]  # fmt: skip
    assert beats_in
    # coilmq's heart-beat timers end once it sees the client gone: wait for that, so no
    # thread of this test outlives it.
    deadline = time.monotonic() + RUN_TIMEOUT
    while _timers() and time.monotonic() < deadline:
        _timers()[0].join(timeout=0.1)
    assert not _timers()


def _timers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


def test_stomp_error_frame_is_one_line(coilmq: app_servers.CoilMQ) -> None:
    # Any host but the broker's own name is refused with an ERROR frame.
    result = probe(f"tcp://127.0.0.1:{coilmq.port}", "--speak", "stomp",
                   "--speak-option", "host=elsewhere.invalid", "--wait", "600")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "inspector: the STOMP server sent ERROR: Virtual hosting is not supported or host "
        "is unknown"
    )


def test_socketio_session_ends_when_the_servers_pings_stop(tmp_path: Path) -> None:
    """The real server announces pingInterval + pingTimeout of 1.5 s (it sends whole
    seconds of interval); once the client has
    joined, the server's loop is frozen (its socket stays open, its pings stop) and
    the client ends the session with one line, as socket.io-client does."""
    own_loop = ServerLoop()  # frozen below: nothing else runs on it
    joined, release = threading.Event(), threading.Event()
    server = app_servers.start_socketio_server(own_loop, ping_interval=1, ping_timeout=0.5,
                                               connected=joined)  # fmt: skip
    path = tmp_path / "dead.sockcap"
    client = subprocess.Popen(
        [sys.executable, "-m", "inspector", "probe",
         server.url_for("/socket.io/?EIO=4&transport=websocket"), "--speak", "--wait", "600",
         "-o", str(path), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert joined.wait(RUN_TIMEOUT), "the client never joined the namespace"
        own_loop.loop.call_soon_threadsafe(release.wait, RUN_TIMEOUT)  # freeze the server
        _out, err = client.communicate(timeout=RUN_TIMEOUT)
    finally:
        release.set()
        if client.poll() is None:
            client.kill()
            client.communicate()
        server.stop()
        own_loop.close()
    line = "Engine.IO ping timeout: no ping from the server for 1.5 s"
    assert line in err and "Traceback" not in err
    assert client.returncode != 0
    errors = [r for r in records(path) if r["kind"] == "error"]
    assert [e["message"] for e in errors][:1] == [line + " (pingInterval 1 s + pingTimeout 0.5 s)"]
    sent = [r for r in records(path) if r["dir"] == "out" and r.get("automatic")]
    assert sent and sent[0]["decoded"]["facts"]["type"] == "CONNECT"


# -- SignalR ---------------------------------------------------------------------------------


def _child(field: dict[str, Any], name: str) -> Any:
    """The value of the decoded message field's member ``name``."""
    return next(c["value"] for c in field.get("children", ()) if c["name"] == name)


def test_signalr_client_negotiates_invokes_and_streams(
    signalr_hub: app_servers.SignalRHub, tmp_path: Path
) -> None:
    path = tmp_path / "signalr.sockcap"
    # The handshake answer, Add's completion, three stream items and the stream's
    # completion, and Fail's completion with the hub's error: seven messages in.
    result = probe(signalr_hub.negotiate(), "--speak", "signalr",
                   "--send-as", "signalr:invoke", '{"target": "Add", "arguments": [2, 3]}',
                   "--send-as", "signalr:invoke",
                   '{"target": "Counter", "arguments": [3], "stream": true}',
                   "--send-as", "signalr:invoke", '{"target": "Fail"}',
                   "--count", "7", "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for r in records(path) if "decoded" in r]
    assert {r["decoded"]["decoder"] for r in rows} == {"signalr"}
    assert all("error" not in r["decoded"] for r in rows), rows
    seen = traffic(rows)
    assert seen[0] == ("out", True, {"type": "Handshake", "protocol": "json"})
    assert seen[1] == ("in", False, {"type": "HandshakeResponse"})
    sent = [(f["type"], f["target"], f["invocation_id"]) for d, _a, f in seen[2:] if d == "out"]
    assert sent == [("Invocation", "Add", "1"), ("StreamInvocation", "Counter", "2"),
                    ("Invocation", "Fail", "3")]  # fmt: skip
    got = [(f["type"], f["invocation_id"], r["decoded"]["fields"][0])
           for r, (d, _a, f) in zip(rows, seen, strict=True)
           if d == "in" and "invocation_id" in f]  # fmt: skip
    answers = {ident: field for kind, ident, field in got if kind == "Completion"}
    assert _child(answers["1"], "result") == 5
    assert [_child(field, "item") for kind, ident, field in got
            if (kind, ident) == ("StreamItem", "2")] == [0, 1, 2]  # fmt: skip
    assert "2" in answers and "result" not in [c["name"] for c in answers["2"]["children"]]
    assert "the hub refuses" in _child(answers["3"], "error")
    summary = stats(path)
    assert (summary["matched_by"], summary["count"], summary["unanswered"]) == ("signalr", 3, 0)
    # The stream's later items and its completion are its own, not answers to nothing.
    assert (summary["unsolicited"], summary["streamed"]) == (0, 3)
    # Chosen by hand, the decoder pairs the same (auto chose it from the spoken protocol).
    assert stats(path, "signalr") == summary


def test_signalr_handshake_refused_is_decoded_by_the_hubs_url(
    signalr_hub: app_servers.SignalRHub, tmp_path: Path
) -> None:
    path = tmp_path / "signalr-refused.sockcap"
    # No --speak and no --decode: the URL's /hubs/ chooses the decoder.
    result = probe(signalr_hub.url, "--send", '{"protocol":"xml","version":1}\x1e', "--count",
                   "1", "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for r in records(path) if "decoded" in r]
    assert [(r["dir"], r["decoded"]["decoder"], r["decoded"]["summary"]) for r in rows] == [
        ("out", "signalr", "handshake request xml v1"),
        ("in", "signalr", "handshake response error \"The protocol 'xml' is not supported.\""),
    ]
