"""``show --decode`` and ``--stats`` on sessions recorded by ``inspector probe`` against
real application servers (python-socketio, strawberry GraphQL), and on made captures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import RunningServer

from inspector.cli import run_command

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess, never an assertion


def inspector(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``inspector`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "inspector", *argv], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)  # fmt: skip


def show(*argv: str) -> tuple[int, str, str]:
    """Run ``inspector show`` in this process: (status, stdout, stderr)."""
    import io

    out, err = io.StringIO(), io.StringIO()
    status = run_command(["show", *argv], out, err)
    return status, out.getvalue(), err.getvalue()


def decoded_lines(text: str) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, text.splitlines()) if "decoded" in r]


@pytest.fixture(scope="module")
def socketio_capture(
    socketio_server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A Socket.IO session recorded by probe: connect, an event with an ack, a binary
    event with an ack (answered by a binary event and the ack)."""
    path = tmp_path_factory.mktemp("sio") / "sio.sockcap"
    result = inspector(
        "probe", socketio_server.url_for("/socket.io/?EIO=4&transport=websocket"),
        "--send", "40", "--send", '421["chat",{"text":"hi"}]',
        "--send", '451-2["upload",{"_placeholder":true,"num":0}]', "--send-hex", "00ff10",
        "--count", "6", "--wait", "600", "-o", str(path), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


def test_socketio_session_decoded(socketio_capture: Path) -> None:
    status, out, err = show(str(socketio_capture), "--decode", "auto", "--json")
    assert status == 0, err
    rows = decoded_lines(out)
    facts = [(r["dir"], r["decoded"]["facts"]) for r in rows]
    sent = [f for d, f in facts if d == "out"]
    assert sent[0] == {"engine": "message", "type": "CONNECT", "namespace": "/"}
    chat = next(f for d, f in facts if d == "out" and f.get("event") == "chat")
    assert chat["ack_id"] == 1 and chat["args"] == 1
    inbound = [f for d, f in facts if d == "in"]
    assert inbound[0]["engine"] == "open"
    assert {"type": "CONNECT", "namespace": "/"}.items() <= inbound[1].items()
    acks = {f["ack_id"]: f for f in inbound if f.get("type") == "ACK"}
    assert set(acks) == {1, 2}
    ack_one = next(r for r in rows if r["decoded"]["facts"].get("ack_id") == 1
                   and r["dir"] == "in")  # fmt: skip
    assert json.loads(ack_one["text"][3:]) == [{"ok": True, "echo": {"text": "hi"}}]
    # The server's binary event: its placeholder is joined to the binary frame after it.
    uploaded = next(r for r in rows if r["decoded"]["facts"].get("event") == "uploaded")
    args = next(f for f in uploaded["decoded"]["fields"] if f["name"] == "arguments")
    assert args["children"][0]["type"] == "attachment"
    assert args["children"][0]["value"] == "00ff10"
    attachment = rows[rows.index(uploaded) + 1]
    assert attachment["opcode"] == "binary"
    assert attachment["decoded"]["summary"] == f"attachment 0 of #{uploaded['seq']}, 3 bytes"
    # Every byte range points into the payload as it was recorded.
    for row in rows:
        payload = row["text"].encode() if "text" in row else bytes.fromhex(row["hex"])
        for field in _walk(row["decoded"].get("fields", [])):
            if "range" in field and field.get("type") in ("string", "int"):
                start, end = field["range"]
                assert json.loads(payload[start:end]) == field["value"]


def _walk(fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for field in fields:
        yield field
        yield from _walk(field.get("children", []))


def test_socketio_stats_pair_the_acks(socketio_capture: Path) -> None:
    status, out, err = show(str(socketio_capture), "--stats", "--json")
    assert status == 0, err
    stats = json.loads(out)
    assert stats["matched_by"] == "socketio"
    assert (stats["count"], stats["unanswered"], stats["unsolicited"]) == (2, 0, 0)
    assert 0 < stats["p50_ms"] <= stats["max_ms"]
    assert sum(b["count"] for b in stats["histogram"]) == 2
    status, out, _ = show(str(socketio_capture), "--stats")
    assert out.splitlines()[1].startswith("pairs 2  unanswered 0")


def test_socketio_text_lines_and_where(socketio_capture: Path) -> None:
    status, out, err = show(str(socketio_capture), "--where", 'event == "chat"')
    assert status == 0, err
    (line,) = out.splitlines()
    assert line.endswith("""⇒ EVENT 'chat' {"text": "hi"} ack=1""")
    status, out, _ = show(str(socketio_capture), "--where", "type ~ ^BINARY", "--json")
    assert [r["decoded"]["facts"]["type"] for r in map(json.loads, out.splitlines())] == [
        "BINARY_EVENT", "BINARY_EVENT"]  # fmt: skip


def test_show_without_decode_is_unchanged(socketio_capture: Path) -> None:
    _, plain, _ = show(str(socketio_capture), "--json")
    _, decoded, _ = show(str(socketio_capture), "--json", "--decode", "socketio")
    assert "decoded" not in plain
    for before, after in zip(plain.splitlines(), decoded.splitlines(), strict=True):
        row = json.loads(after)
        row.pop("decoded", None)
        assert json.dumps(row, ensure_ascii=False) == before


def test_graphql_transport_ws_subscription(graphql_server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "gql.sockcap"
    result = inspector(
        "probe", graphql_server.url, "--subprotocol", "graphql-transport-ws",
        "--send", '{"type":"connection_init"}',
        "--send", '{"type":"subscribe","id":"s1","payload":{"query":'
        '"subscription Tick { count(to: 3) }"}}',
        "--send", '{"type":"subscribe","id":"q1","payload":{"query":"{ hello }"}}',
        "--count", "6", "--wait", "600", "-o", str(path), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, out, err = show(str(path), "--decode", "auto", "--json")
    assert status == 0, err
    rows = decoded_lines(out)
    assert {r["decoded"]["decoder"] for r in rows} == {"graphql"}
    sent = [r["decoded"]["facts"] for r in rows if r["dir"] == "out"]
    assert sent[1] == {"type": "subscribe", "id": "s1", "operation": "subscription",
                       "operation_name": "Tick"}  # fmt: skip
    got = [(f["type"], f.get("id")) for f in (r["decoded"]["facts"] for r in rows
                                              if r["dir"] == "in")]  # fmt: skip
    assert got[0] == ("connection_ack", None)
    assert [g for g in got if g[1] == "s1"] == [("next", "s1")] * 3 + [("complete", "s1")]
    assert ("next", "q1") in got
    status, out, _ = show(str(path), "--stats", "--json")
    stats = json.loads(out)
    assert (stats["matched_by"], stats["count"], stats["unanswered"]) == ("graphql", 2, 0)
    # The subscription's later results and each operation's "complete" belong to it.
    assert (stats["unsolicited"], stats["streamed"]) == (0, 4)


def test_decode_errors_are_usage_errors(socketio_capture: Path, tmp_path: Path) -> None:
    status, _, err = show(str(socketio_capture), "--decode", "nope")
    assert status == 2 and err.startswith("inspector show: no decoder 'nope' (known: ")
    status, _, err = show(str(socketio_capture), "--where", "event ==")
    assert status == 0  # an empty value is the empty text
    status, _, err = show(str(socketio_capture), "--where", "what?")
    assert status == 2 and "--where: 'what?' is not NAME == VALUE" in err
    status, _, err = show(str(socketio_capture), "--stats", "--match-request-id", "$.id")
    assert status == 2 and "go together" in err
    status, _, err = show(
        str(socketio_capture),
        "--stats",
        "--match-next",
        "--match-request-id",
        "$.id",
        "--match-response-id",
        "$.id",
    )
    assert status == 2 and "--match-next pairs by order" in err
    missing = tmp_path / "none.desc"
    status, _, err = show(str(socketio_capture), "--proto-descriptor", str(missing), "a.B")
    assert status == 2 and err.startswith("inspector show: --proto-descriptor: cannot read")
    assert len(err.splitlines()) == 1


def test_probe_decode_prints_decoded_records(socketio_server: RunningServer) -> None:
    result = inspector(
        "probe", socketio_server.url_for("/socket.io/?EIO=4&transport=websocket"),
        "--send", "40", "--send", '421["chat",{"text":"hi"}]', "--count", "3", "--wait", "600",
        "--decode", "auto", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = decoded_lines(result.stdout)
    summaries = {(r["dir"], r["decoded"]["summary"]) for r in rows}
    assert ("out", """EVENT 'chat' {"text": "hi"} ack=1""") in summaries
    assert any(d == "in" and s.startswith("ACK / ") and s.endswith("ack=1") for d, s in summaries)
    bad = inspector("probe", socketio_server.url, "--decode", "nope")
    assert bad.returncode == 2
    assert bad.stderr.startswith("inspector probe: no decoder 'nope' (known: ")


def test_user_rules_pair_what_no_decoder_knows(tmp_path: Path) -> None:
    from inspector.cli.output import json_line
    from inspector.core.records import Direction, Kind, make_record

    texts = [(Direction.OUT, 0, '{"op":"get","rid":"a"}'), (Direction.OUT, 2, '{"rid":"b"}'),
             (Direction.IN, 7, "answer a"), (Direction.IN, 12, "answer b"),
             (Direction.IN, 13, "noise")]  # fmt: skip
    path = tmp_path / "plain.jsonl"
    path.write_text("".join(
        json_line(make_record(i, t * 1_000_000, d, Kind.FRAME, b"", p.encode(),
                              {"opcode": "text"})) + "\n"
        for i, (d, t, p) in enumerate(texts)))  # fmt: skip
    status, out, err = show(str(path), "--stats", "--json", "--match-request-id", "$.rid",
                            "--match-response-id", r"re:answer (\w+)")  # fmt: skip
    assert status == 0, err
    stats = json.loads(out)
    assert (stats["matched_by"], stats["count"], stats["unanswered"]) == ("rule", 2, 0)
    assert (stats["p50_ms"], stats["max_ms"], stats["unsolicited"]) == (7.0, 10.0, 0)
    status, out, _ = show(str(path), "--stats", "--json", "--match-id", r"re:\b([ab])\b")
    assert json.loads(out)["count"] == 2  # one rule for both sides
    status, out, _ = show(str(path), "--stats", "--json", "--match-next")
    stats = json.loads(out)
    assert (stats["matched_by"], stats["count"], stats["unsolicited"]) == ("next", 2, 1)
    assert stats["min_ms"] == 7.0


def test_jsonrpc_single_batch_notification_and_error(
    jsonrpc_server: RunningServer, tmp_path: Path
) -> None:
    path = tmp_path / "rpc.sockcap"
    result = inspector(
        "probe", jsonrpc_server.url,
        "--send", '{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}',
        "--send", '{"jsonrpc":"2.0","method":"echo","params":["quiet"]}',
        "--send", '[{"jsonrpc":"2.0","method":"echo","params":["hi"],"id":2},'
                  '{"jsonrpc":"2.0","method":"add","params":[2,3],"id":"x"}]',
        "--send", '{"jsonrpc":"2.0","method":"nope","id":3}',
        "--count", "3", "--wait", "600", "-o", str(path), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, out, err = show(str(path), "--decode", "auto", "--json")
    assert status == 0, err
    rows = decoded_lines(out)
    assert {r["decoded"]["decoder"] for r in rows} == {"jsonrpc"}  # chosen by content
    summaries = [(r["dir"], r["decoded"]["summary"]) for r in rows]
    assert summaries[:4] == [
        ("out", "request add id=1"),
        ("out", "notification echo"),
        ("out", "batch of 2: request"),
        ("out", "request nope id=3"),
    ]
    answers = {s for d, s in summaries if d == "in"}
    assert answers == {"response id=1 3", "batch of 2: response",
                       "error id=3 Method not found"}  # fmt: skip
    status, out, _ = show(str(path), "--stats", "--json")
    stats = json.loads(out)
    assert (stats["matched_by"], stats["count"], stats["unanswered"], stats["unsolicited"]) == (
        "by content", 4, 0, 0)  # fmt: skip
    status, out, _ = show(str(path), "--where", "method == add")
    assert len(out.splitlines()) == 1 and "request add id=1" in out


def test_graphql_ws_legacy_protocol(graphql_server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "gql-legacy.sockcap"
    result = inspector(
        "probe", graphql_server.url, "--subprotocol", "graphql-ws",
        "--send", '{"type":"connection_init"}',
        "--send", '{"type":"start","id":"7","payload":{"query":"subscription { count(to: 2) }"}}',
        "--count", "4", "--wait", "600", "-o", str(path), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, out, err = show(str(path), "--decode", "auto", "--json")
    assert status == 0, err
    got = [(r["dir"], r["decoded"]["facts"]["type"]) for r in decoded_lines(out)]
    assert [t for d, t in got if d == "in"] == ["connection_ack", "data", "data", "complete"]
    status, out, _ = show(str(path), "--stats", "--json")
    stats = json.loads(out)
    # The second "data" and the "complete" are the subscription's own, not answers to nothing.
    assert (stats["count"], stats["unanswered"], stats["unsolicited"], stats["streamed"]) == (
        1, 0, 0, 2)  # fmt: skip
