"""``show --stats`` reads a native capture narrowly (payloads, not records) and takes
the decoders' id fast path: the statistics are those of the record path exactly, for
the decoders, user rules and --match-next, on a session recorded through the real
connection, recorder and capture store."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from pathlib import Path

import pytest
from websockets.server import ServerProtocol

from inspector.capture import CaptureStore
from inspector.cli import run_command
from inspector.cli.decoding import matching_of, matching_of_payloads, session_decoder
from inspector.cli.sources import StoreRecords
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.protocols.ws import WebSocketConnection

SIO = "ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket"
RPC = "ws://127.0.0.1:9/rpc"


class StepClock:
    """A session clock the test moves."""

    started_wall_ns = 1_700_000_000_000_000_000

    def __init__(self) -> None:
        self.t = 0

    def now(self) -> int:
        return self.t

    def wall_ns(self, t_ns: int) -> int:
        return self.started_wall_ns + t_ns


def frame(payload: bytes, opcode: int = 0x81) -> bytes:
    assert len(payload) < 126
    return bytes((opcode, len(payload))) + payload


def record_session(path: Path, url: str, seed: int) -> None:
    """Requests in flight together, answered out of order, some never; reused ids,
    answers to nothing, pings, pushes and binary frames between them."""
    rng = random.Random(seed)
    clock = StepClock()
    store = CaptureStore.create(path, endpoint=url, scheme="ws", options={}, clock=clock)
    client = WebSocketConnection(parse_endpoint(url), SessionOptions(compression=False),
                                 Recorder(store, clock=clock, consumed=False))  # fmt: skip
    server = ServerProtocol(max_size=None)
    server.receive_data(client.start(0))
    server.send_response(server.accept(server.events_received()[0]))
    client.receive_data(b"".join(server.data_to_send()), 10)
    rpc = url == RPC
    for _ in range(60):
        answers = []
        for _ in range(rng.randint(1, 5)):
            clock.t += rng.randint(1, 1000)
            ident = rng.randint(0, 12)  # reused ids: the oldest waiting request is answered
            if rpc:
                client.send_text(f'{{"jsonrpc":"2.0","method":"m","id":{ident}}}')
                answer = b'{"jsonrpc":"2.0","result":1,"id":%d}' % ident
            else:
                client.send_text(f'42{ident}["chat",{{"n":{ident}}}]')
                answer = b"43%d[true]" % ident
            if rng.random() < 0.9:
                answers.append(frame(answer))
        rng.shuffle(answers)
        if rng.random() < 0.3:
            answers.append(frame(b"2" if not rpc else b'{"jsonrpc":"2.0","method":"push"}'))
        if rng.random() < 0.2:
            answers.append(frame(b"\x00\x01", 0x82))
        if rng.random() < 0.1:
            answers.append(
                frame(b"437[false]" if not rpc else b'{"jsonrpc":"2.0","result":0,"id":99}')
            )
        clock.t += rng.randint(1000, 10**6)
        if answers:
            client.receive_data(b"".join(answers), clock.t)
        if rng.random() < 0.2:
            client.receive_data(frame(b"", 0x89), clock.t)  # a ping: the pong is automatic
    clock.t += 1000
    client.send_text('{"jsonrpc":"2.0","method":"m","id":500}' if rpc else '42500["never"]')
    store.finish("closed", {})
    store.close()


def show(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", *argv], out, err) == 0, err.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("url", [SIO, RPC])
@pytest.mark.parametrize("how", [(), ("--match-next",), ("--match-id", "RULE"), ("--json",)])
def test_fast_stats_equal_the_record_path(tmp_path: Path, url: str, how: tuple[str, ...]) -> None:
    rule = "$.id" if url == RPC else r"re:^4[23](\d+)"
    how = tuple(rule if part == "RULE" else part for part in how)
    path = tmp_path / "s.sockcap"
    record_session(path, url, seed=len(how) + len(url))
    fast = show(str(path), "--stats", *how)
    # A filter that keeps every traffic record sends the statistics down the record path.
    slow = show(str(path), "--stats", "--filter-dir", "in", "--filter-dir", "out", *how)
    assert fast == slow
    assert "pairs 0 " not in fast and '"count": 0,' not in fast


def test_the_matchings_are_equal_pair_for_pair(tmp_path: Path) -> None:
    path = tmp_path / "m.sockcap"
    record_session(path, SIO, seed=7)
    with CaptureStore.open(path) as store:
        records = StoreRecords(store)
        for rule_args in ((None, False), (None, True)):
            made = []
            for read in ("records", "payloads"):
                decoder = session_decoder("auto", SIO, "ws", {})
                if read == "records":
                    made.append(matching_of(iter(records), decoder, *rule_args))
                else:
                    made.append(matching_of_payloads(records.payloads(), decoder, *rule_args))
            assert made[0] == made[1] and len(made[0]) > 50
            assert made[0].unanswered and made[0].unsolicited
    stats = json.loads(show(str(path), "--stats", "--json"))
    assert stats["matched_by"] == "socketio"


def test_the_decoder_is_chosen_from_the_first_records_only(tmp_path: Path) -> None:
    """Choosing the decoder reads the session's first records whole, not a page of them:
    a record further on whose fields only the full reader parses (damaged here) is not
    read by ``--stats``, while ``show`` itself reaches it and says so in one line."""
    path = tmp_path / "d.sockcap"
    record_session(path, RPC, seed=3)
    before = show(str(path), "--stats", "--json")
    with sqlite3.connect(path) as conn:
        (seq,) = conn.execute(
            "SELECT min(seq) FROM records WHERE seq > 40 AND kind = 'frame' AND dir = 'out'"
            " AND payload_is_wire >= 0 AND fields LIKE '{\"opcode\":\"text\",%'"
        ).fetchone()
        conn.execute("UPDATE records SET fields = '{\"opcode\":\"text\",' WHERE seq = ?", (seq,))
    assert show(str(path), "--stats", "--json") == before
    assert json.loads(before)["count"] > 50
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path)], out, err) != 0
    assert f"record {seq}" in err.getvalue() and "Traceback" not in err.getvalue()


_TRICKY_IDS = ["1", '"1"', "0", "-0", "null", "1.0", "1e0", '"a\\"b"', '"\\u0031"', "[1]",
               '{"b":1,"a":2}', "true", "10", "01", "12345678901234567890", '"é"', "2"]  # fmt: skip


def _rpc(kind: str, ident: str, rng: random.Random) -> bytes:
    """One JSON-RPC text of a kind, its id written as given, now and then spoiled."""
    text = {
        "request": f'{{"jsonrpc":"2.0","method":"m","params":[{rng.randint(0, 99)}],"id":{ident}}}',
        "notification": '{"jsonrpc":"2.0","method":"note","params":{"n":3}}',
        "result": f'{{"jsonrpc":"2.0","result":{rng.randint(0, 9)},"id":{ident}}}',
        "error": f'{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"no"}},"id":{ident}}}',
        "batch": f'[{{"jsonrpc":"2.0","method":"m","id":{ident}}},'
                 f'{{"jsonrpc":"2.0","result":1,"id":{rng.choice(_TRICKY_IDS)}}}]',
        "old": f'{{"jsonrpc":"1.0","result":1,"id":{ident}}}',
        "spaced": f' {{ "id" : {ident} , "result" : null , "jsonrpc" : "2.0" }} ',
    }[kind]
    data = text.encode("utf-8")
    if rng.random() < 0.05:
        data = data[: rng.randint(0, len(data))]
    return data


def record_tricky_rpc(path: Path, seed: int) -> None:
    """JSON-RPC with its subprotocol negotiated (the decoder's page path): ids that are
    numbers and strings of the same digits, null, floats, objects, batches, errors,
    notifications, old versions and cut-short texts, answers several to a read."""
    rng = random.Random(seed)
    clock = StepClock()
    store = CaptureStore.create(path, endpoint=RPC, scheme="ws", options={}, clock=clock)
    client = WebSocketConnection(parse_endpoint(RPC),
                                 SessionOptions(compression=False, subprotocols=("jsonrpc",)),
                                 Recorder(store, clock=clock, consumed=False))  # fmt: skip
    server = ServerProtocol(subprotocols=["jsonrpc"], max_size=None)  # type: ignore[list-item]
    server.receive_data(client.start(0))
    server.send_response(server.accept(server.events_received()[0]))
    client.receive_data(b"".join(server.data_to_send()), 10)
    kinds = ["request"] * 4 + ["notification", "batch", "spaced", "result"]
    answers_kinds = ["result"] * 4 + ["error", "batch", "old", "spaced", "notification"]
    for _ in range(700):  # past a page of the narrow read (4,096 records)
        answers = []
        for _ in range(rng.randint(1, 6)):
            clock.t += rng.randint(1, 1000)
            ident = rng.choice(_TRICKY_IDS)
            client.send_text(_rpc(rng.choice(kinds), ident, rng).decode("utf-8", "replace"))
            if rng.random() < 0.85:
                answers.append(frame(_rpc(rng.choice(answers_kinds), ident, rng)))
        rng.shuffle(answers)
        clock.t += rng.randint(1000, 10**6)
        if answers:
            client.receive_data(b"".join(answers), clock.t)
    store.finish("closed", {})
    store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("how", [(), ("--decode", "jsonrpc"), ("--json",)])
def test_jsonrpc_stats_of_tricky_ids_equal_the_record_path(
    tmp_path: Path, seed: int, how: tuple[str, ...]
) -> None:
    path = tmp_path / "t.sockcap"
    record_tricky_rpc(path, seed)
    fast = show(str(path), "--stats", *how)
    slow = show(str(path), "--stats", "--filter-dir", "in", "--filter-dir", "out", *how)
    assert fast == slow and "jsonrpc" in fast
    with CaptureStore.open(path) as store:
        records = StoreRecords(store)
        made = [matching_of(iter(records), session_decoder("auto", RPC, "ws", {}), None, False)]
        for page in (4096, 100):
            pages = store.payloads(0, page)
            made.append(matching_of_payloads(pages, session_decoder("auto", RPC, "ws", {}),
                                             None, False))  # fmt: skip
    assert made[0] == made[1] == made[2]
    assert len(made[0]) > 100 and made[0].unanswered and made[0].unsolicited
