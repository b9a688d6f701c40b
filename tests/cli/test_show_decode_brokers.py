"""MQTT and STOMP sessions recorded by ``inspector probe`` against real brokers (Debian's
mosquitto over TCP and WebSocket, amqtt over WebSocket, coilmq over TCP), then decoded and
matched by ``inspector show``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import app_servers
import pytest

from inspector.cli import run_command

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess, never an assertion


def probe(*argv: str) -> None:
    result = subprocess.run([sys.executable, "-m", "inspector", "probe", *argv],
                            capture_output=True, text=True, timeout=RUN_TIMEOUT)  # fmt: skip
    assert result.returncode == 0, result.stderr


def show(*argv: str) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", *argv, "--json"], out, err) == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


# -- MQTT packets, as a client sends them ----------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, low = divmod(n, 128)
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def mqtt_session(version: int) -> list[bytes]:
    """CONNECT, SUBSCRIBE sensors/# (id 1), PUBLISH QoS 1 sensors/t1 (id 2)."""
    props = b"\x00" if version == 5 else b""
    connect_props = (varint(5) + b"\x11\x00\x00\x00\x0a") if version == 5 else b""
    return [
        packet(1, 0, utf8("MQTT") + bytes([version, 0x02]) + b"\x00\x3c" + connect_props
               + utf8(f"inspector-v{version}")),
        packet(8, 2, b"\x00\x01" + props + utf8("sensors/#") + b"\x01"),
        packet(3, 2, utf8("sensors/t1") + b"\x00\x02" + props + b'{"celsius": 21.5}'),
    ]  # fmt: skip


# amqtt speaks MQTT 3.1.1 (version 4) only.
@pytest.mark.parametrize(("mqtt_endpoint", "version"),
                         [("mosquitto-ws", 4), ("mosquitto-ws", 5), ("amqtt-ws", 4)],
                         indirect=["mqtt_endpoint"])  # fmt: skip
def test_mqtt_over_websocket(
    mqtt_endpoint: app_servers.MqttEndpoint, tmp_path: Path, version: int
) -> None:
    path = tmp_path / "mqtt.sockcap"
    sends = [arg for data in mqtt_session(version) for arg in ("--send-hex", data.hex())]
    probe(mqtt_endpoint.url, "--subprotocol", "mqtt", *sends,
          "--count", "4", "--wait", "600", "-o", str(path), "--quiet")  # fmt: skip
    rows = [r for r in show(str(path), "--decode", "auto") if "decoded" in r]
    assert {r["decoded"]["decoder"] for r in rows} == {"mqtt"}
    assert all("error" not in r["decoded"] for r in rows), rows
    facts = {(r["dir"], r["decoded"]["facts"]["type"]): r["decoded"]["facts"] for r in rows}
    assert facts[("out", "CONNECT")]["mqtt_version"] == version
    assert facts[("in", "CONNACK")]["reason_code"] == 0
    assert facts[("in", "SUBACK")]["packet_id"] == 1
    assert facts[("in", "PUBACK")]["packet_id"] == 2
    delivered = facts[("in", "PUBLISH")]
    assert (delivered["topic"], delivered["qos"]) == ("sensors/t1", 1)
    publish = next(r for r in rows if r["dir"] == "in" and r["decoded"]["facts"]["type"]
                   == "PUBLISH")  # fmt: skip
    payload = next(f for f in publish["decoded"]["fields"][0]["children"] if f["name"] ==
                   "payload")  # fmt: skip
    assert payload["children"][0]["children"][0] == {
        "name": "celsius", "text": "21.5", "type": "float", "value": 21.5,
        "range": payload["children"][0]["children"][0]["range"]}  # fmt: skip
    stats = show(str(path), "--stats")[0]
    # CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH/PUBACK; the broker's PUBLISH to us is a
    # request this client never acknowledged.
    assert (stats["matched_by"], stats["count"], stats["unanswered"]) == ("mqtt", 3, 1)
    filtered = show(str(path), "--where", "topic ~ ^sensors/", "--where", "type == PUBLISH")
    assert [r["dir"] for r in filtered] == ["out", "in"]


def test_mqtt_over_tcp_several_packets_per_read(
    mosquitto: app_servers.Mosquitto, tmp_path: Path
) -> None:
    path = tmp_path / "mqtt-tcp.sockcap"
    # All in one write; DISCONNECT makes the broker close, which ends the probe.
    data = b"".join(mqtt_session(4)) + packet(12, 0, b"") + packet(14, 0, b"")
    probe(f"tcp://127.0.0.1:{mosquitto.tcp_port}", "--send-hex", data.hex(), "--wait", "600",
          "-o", str(path), "--quiet")  # fmt: skip
    rows = [r for r in show(str(path), "--decode", "mqtt") if "decoded" in r]
    sent = rows[0]["decoded"]
    assert sent["facts"]["packets"] == 5
    assert [f["name"] for f in sent["fields"]] == ["CONNECT", "SUBSCRIBE", "PUBLISH",
                                                    "PINGREQ", "DISCONNECT"]  # fmt: skip
    assert sent["fields"][-1]["range"][1] == len(data)
    received = [f["name"] for r in rows if r["dir"] == "in" for f in r["decoded"]["fields"]]
    assert {"CONNACK", "SUBACK", "PUBACK", "PUBLISH", "PINGRESP"} <= set(received)
    stats = show(str(path), "--stats", "--decode", "mqtt")[0]
    assert (stats["count"], stats["unanswered"]) == (4, 1)


# -- STOMP -------------------------------------------------------------------------------


def test_stomp_over_tcp_with_receipts(coilmq: app_servers.CoilMQ, tmp_path: Path) -> None:
    path = tmp_path / "stomp.sockcap"
    frames = (
        "CONNECT\naccept-version:1.0,1.1,1.2\nhost:localhost\n\n\0"
        "SUBSCRIBE\ndestination:/queue/orders\nid:0\nack:auto\nreceipt:sub-1\n\n\0"
        "SEND\ndestination:/queue/orders\ncontent-type:application/json\nreceipt:send-1\n\n"
        '{"order": 7}\0'
        "BOGUS\n\n\0"  # an unknown command: the broker closes, which ends the probe
    )
    probe(f"tcp://127.0.0.1:{coilmq.port}", "--send-hex", frames.encode().hex(), "--wait", "600",
          "-o", str(path),
          "--quiet")  # fmt: skip
    rows = [r for r in show(str(path), "--decode", "stomp") if "decoded" in r]
    assert all("error" not in r["decoded"] for r in rows[1:]), rows
    sent = rows[0]["decoded"]
    assert [f["name"] for f in sent["fields"]] == ["CONNECT", "SUBSCRIBE", "SEND"]
    at = frames.index("BOGUS")
    assert sent["error"] == f"not valid STOMP: unknown command 'BOGUS' at byte {at}"
    got = [f for r in rows if r["dir"] == "in" for f in r["decoded"]["fields"]]
    commands = [f["name"] for f in got]
    assert commands[0] == "CONNECTED"
    assert commands.count("RECEIPT") == 2 and "MESSAGE" in commands
    message = next(f for f in got if f["name"] == "MESSAGE")
    body = next(c for c in message["children"] if c["name"] == "body")
    assert body["children"][0]["children"][0]["value"] == 7
    stats = show(str(path), "--stats", "--decode", "stomp")[0]
    assert (stats["count"], stats["unanswered"], stats["unsolicited"]) == (3, 0, 0)
