"""A listen capture: the listener's session plus one per connection, in one file;
reopened, read per session and exported to pcapng with the client as the client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from session_helpers import run, wait_until
from tshark_tools import fields, needs_tshark, problems

from inspector.capture.formats import export_pcapng
from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import CaptureError
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule, RuleEngine
from inspector.net.listener import create_listener


def test_sessions_added_to_one_file_share_field_sets(tmp_path: Path) -> None:
    path = tmp_path / "multi.sockcap"
    owner = CaptureStore.create(
        path,
        endpoint="tcp://127.0.0.1:1",
        scheme="tcp",
        options={"role": "listener"},
        clock=SessionClock(),
    )
    owner_rec = Recorder(owner, consumed=False)
    owner_rec.record(Direction.META, Kind.LISTENING, fields={"url": "tcp://127.0.0.1:1"})
    long_fields = {"framing": "lines", "ranges": [["payload", 0, 5], ["terminator", 5, 6]]}
    written = {}
    for number in (1, 2):
        child = owner.add_session(
            endpoint="tcp://127.0.0.1:1",
            scheme="tcp",
            options={"conn": number},
            clock=SessionClock(),
        )
        rec = Recorder(child, consumed=False)
        for i in range(3):
            rec.record(
                Direction.IN,
                Kind.MESSAGE,
                wire=b"m%d-%d\n" % (number, i),
                payload=b"m%d-%d" % (number, i),
                fields=long_fields,
            )
        child.finish("closed", {"conn": number})
        written[child.session.id] = child.records(0, 10)
        child.close()
        with pytest.raises(CaptureError, match="is closed"):
            child.records(0, 1)
    owner.finish("stopped", {"accepted": 2})
    owner.close()
    with pytest.raises(CaptureError, match="cannot take another session"):
        owner.add_session(endpoint="x", scheme="tcp", options={}, clock=SessionClock())

    with CaptureStore.open(path) as reopened:
        sessions = reopened.sessions()
        assert [s.summary for s in sessions] == [{"accepted": 2}, {"conn": 1}, {"conn": 2}]
        assert reopened.records(0, 10)[0].kind is Kind.LISTENING
    for session_id, records in written.items():
        with CaptureStore.open(path, session_id=session_id) as store:
            assert store.records(0, 10) == records
            assert all(r.fields == long_fields for r in records)


def _record_listen_capture(path: Path) -> tuple[int, int]:
    """A listener echoing lines to one client, recorded to ``path``; (client port, server port)."""
    store = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:0", scheme="tcp", options={}, clock=SessionClock()
    )
    children: list[CaptureStore] = []

    def recorder_for(number: int, peer: str) -> Recorder:
        clock = SessionClock()
        child = store.add_session(
            endpoint="tcp://127.0.0.1:0",
            scheme="tcp",
            options={"conn": number, "peer": peer},
            clock=clock,
        )
        children.append(child)
        return Recorder(child, clock=clock, consumed=False)

    listener = create_listener(
        parse_endpoint("tcp://127.0.0.1:0", listen=True),
        SessionOptions(framing=Framing.LINES),
        Recorder(store, consumed=False),
        recorder_for,
        rules=RuleEngine([Rule(MatchKind.ANY, ActionKind.REPLY, template="re: {{message}}")]),
    )

    async def scenario() -> int:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        port = writer.get_extra_info("sockname")[1]
        writer.write(b"alpha\nbeta\n")
        writer.write_eof()
        assert await reader.read() == b"re: alpha\nre: beta\n"
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return port

    client_port = run(scenario())
    conn = listener.connections[1]
    children[0].finish(str(conn.state), conn.summary())
    store.finish(str(listener.state), listener.summary())
    store.close()
    return client_port, listener.port


@needs_tshark
def test_pcapng_of_a_connection_has_the_client_open_and_send(tmp_path: Path) -> None:
    path = tmp_path / "listen.sockcap"
    client_port, server_port = _record_listen_capture(path)
    with CaptureStore.open(path, session_id=2) as store:
        records = store.records(0, 100)
        out = tmp_path / "conn.pcapng"
        with out.open("wb") as handle:
            export_pcapng(handle, store.session, records)
    syn = fields(out, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "tcp.srcport", "tcp.dstport")
    assert syn == [[str(client_port), str(server_port)]]
    sent = {
        (int(src), bytes.fromhex(payload))
        for src, payload in fields(out, "tcp.len > 0", "tcp.srcport", "tcp.payload")
    }
    assert (client_port, b"alpha\nbeta\n") in sent or {
        (client_port, b"alpha\n"),
        (client_port, b"beta\n"),
    } <= sent
    assert (server_port, b"re: alpha\n") in sent and (server_port, b"re: beta\n") in sent
    assert problems(out) == []
