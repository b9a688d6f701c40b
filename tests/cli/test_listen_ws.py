"""``inspector listen ws://…`` server options in a subprocess, with websockets' client:
paths, subprotocols, permessage-deflate parameters, pings, the refuse mode, message types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_listen import RUN_TIMEOUT, Listening, json_records
from websockets.exceptions import InvalidStatus
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect


def finished(server: Listening) -> list[dict[str, Any]]:
    status, out, err = server.finish()
    assert status == 0 and err == "", err
    return json_records(out)


def test_binary_messages_echo_as_binary_even_when_they_are_utf8() -> None:
    server = Listening(["ws://127.0.0.1:0/", "--echo", "--connections", "1", "--json"])
    with connect(server.url, open_timeout=RUN_TIMEOUT) as client:
        client.send(b"plain ascii bytes")
        assert client.recv(timeout=RUN_TIMEOUT) == b"plain ascii bytes"
        client.send(b"")
        assert client.recv(timeout=RUN_TIMEOUT) == b""
        client.send("text stays text")
        assert client.recv(timeout=RUN_TIMEOUT) == "text stays text"
    records = finished(server)
    out = [r["opcode"] for r in records if r["kind"] == "frame" and r["dir"] == "out"]
    assert out[:3] == ["binary", "binary", "text"]


def test_a_path_in_the_url_is_the_only_one_accepted_unless_any_path() -> None:
    server = Listening(["ws://127.0.0.1:0/chat", "--echo", "--connections", "2", "--json"])
    base = server.url.removesuffix("chat")
    with pytest.raises(InvalidStatus) as info:
        connect(base + "other", open_timeout=RUN_TIMEOUT)
    assert info.value.response.status_code == 404
    with connect(base + "chat?room=1", open_timeout=RUN_TIMEOUT) as client:
        client.send("in")
        assert client.recv(timeout=RUN_TIMEOUT) == "in"
    records = finished(server)
    statuses = [r["status"] for r in records if r["kind"] == "handshake" and r["dir"] == "out"]
    assert statuses == [404, 101]

    anywhere = Listening(["ws://127.0.0.1:0/chat", "--any-path", "--connections", "1"])
    with connect(anywhere.url.removesuffix("chat") + "elsewhere", open_timeout=RUN_TIMEOUT):
        pass
    assert anywhere.finish()[0] == 0


def test_the_first_offered_subprotocol_on_the_list_and_required_subprotocols() -> None:
    server = Listening(
        ["ws://127.0.0.1:0/", "--subprotocol", "v2", "--subprotocol", "v1",
         "--require-subprotocol", "--connections", "2", "--json"]
    )  # fmt: skip
    with connect(server.url, subprotocols=["v1", "v2"], open_timeout=RUN_TIMEOUT) as client:
        assert client.subprotocol == "v1"  # the client's order among accepted ones
    with pytest.raises(InvalidStatus) as info:
        connect(server.url, subprotocols=["v3"], open_timeout=RUN_TIMEOUT)
    assert info.value.response.status_code == 400
    assert b"requires a subprotocol" in info.value.response.body
    finished(server)

    lenient = Listening(["ws://127.0.0.1:0/", "--subprotocol", "v1", "--connections", "2"])
    with connect(lenient.url, open_timeout=RUN_TIMEOUT) as client:
        assert client.subprotocol is None  # none offered: accepted without one
    with connect(lenient.url, subprotocols=["v9"], open_timeout=RUN_TIMEOUT) as client:
        assert client.subprotocol is None
    assert lenient.finish()[0] == 0


def test_deflate_parameters_are_asked_for() -> None:
    server = Listening(
        ["ws://127.0.0.1:0/", "--echo", "--deflate", "server_no_context_takeover",
         "--connections", "1", "--json"]
    )  # fmt: skip
    offer = ClientPerMessageDeflateFactory()
    with connect(server.url, extensions=[offer], open_timeout=RUN_TIMEOUT) as client:
        client.send("a" * 1000)
        assert client.recv(timeout=RUN_TIMEOUT) == "a" * 1000
    records = finished(server)
    response = next(r for r in records if r["kind"] == "handshake" and r["dir"] == "out")
    assert "server_no_context_takeover" in json.dumps(response)


def test_no_auto_pong_leaves_pings_unanswered() -> None:
    server = Listening(
        ["ws://127.0.0.1:0/", "--no-auto-pong", "--echo", "--connections", "1", "--json"]
    )
    with connect(server.url, open_timeout=RUN_TIMEOUT, ping_interval=None) as client:
        pong = client.ping(b"anyone?")
        client.send("after the ping")
        # Frames keep their order: a pong would have come before this echo.
        assert client.recv(timeout=RUN_TIMEOUT) == "after the ping"
        assert not pong.is_set()
    records = finished(server)
    frames = [(r["dir"], r["opcode"]) for r in records if r["kind"] == "frame"]
    assert ("in", "ping") in frames and ("out", "pong") not in frames


def test_refuse_mode_answers_with_the_status_headers_and_body() -> None:
    server = Listening(
        ["ws://127.0.0.1:0/", "--refuse", "503", "--refuse-header", "Retry-After: 30",
         "--refuse-header", "Content-Type: application/json",
         "--refuse-body", '{"error": "maintenance"}', "--connections", "1", "--json"]
    )  # fmt: skip
    with pytest.raises(InvalidStatus) as info:
        connect(server.url, open_timeout=RUN_TIMEOUT)
    response = info.value.response
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers.get_all("Content-Type") == ["application/json"]
    assert response.body == b'{"error": "maintenance"}'
    records = finished(server)
    closed = next(r for r in records if r["kind"] == "closed" and r.get("conn") == 1)
    assert "refused the upgrade: HTTP 503" in closed["message"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--refuse-body", "x"], "go with --refuse STATUS"),
        (["--require-subprotocol"], "needs at least one --subprotocol"),
        (["--refuse", "101"], "not an HTTP status"),
        (["--refuse-header", "no colon", "--refuse", "500"], "is not 'Name: value'"),
        (["--deflate", "bogus"], "--deflate:"),
        (["--deflate", "server_no_context_takeover", "--no-compress"], "contradict"),
    ],
)
def test_wrong_websocket_options_are_usage_errors(argv: list[str], message: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "inspector", "listen", "ws://127.0.0.1:0/", *argv],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
