"""``inspector listen ws://…`` against Node.js's ``ws`` client (tests/node, installed
by .ci/run with npm): text and binary echoes keep their type, the close code is recorded."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_listen import RUN_TIMEOUT, Listening, json_records

NODE_DIR = Path(__file__).parent.parent / "node"


def test_node_ws_client_echoes_and_closes_with_its_code() -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "ws").is_dir():
        pytest.fail("Node.js and tests/node's ws are needed: run `npm ci --prefix tests/node`")
    server = Listening(
        ["ws://127.0.0.1:0/", "--echo", "--subprotocol", "node-test", "--connections", "1",
         "--json"]
    )  # fmt: skip
    done = subprocess.run(
        [node, str(NODE_DIR / "ws_client.mjs"), server.url],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=NODE_DIR,
    )
    status, out, err = server.finish()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["open"] and seen["error"] is None and seen["protocol"] == "node-test"
    assert seen["echoes"] == [
        {"binary": False, "hex": "héllo from node".encode().hex()},
        {"binary": True, "hex": "00ff4142"},
    ]
    assert seen["closeCode"] == 4001
    assert status == 0 and err == ""
    records = [r for r in json_records(out) if r.get("conn") == 1]
    frames = [(r["dir"], r["opcode"]) for r in records if r["kind"] == "frame"]
    # Both messages may come in one read: their echoes follow them, in their order.
    assert [op for d, op in frames if d == "in"][:2] == ["text", "binary"]
    assert [op for d, op in frames if d == "out"][:2] == ["text", "binary"]
    request = next(r for r in records if r["kind"] == "handshake" and r["dir"] == "in")
    assert "permessage-deflate" in json.dumps(request)  # Node offered compression
    closed = next(r for r in reversed(records) if r["kind"] == "closed")
    assert closed["close_code"] == 4001
    assert closed["clean"] is True and closed["initiated_by"] == "client"
