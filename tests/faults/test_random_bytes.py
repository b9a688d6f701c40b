"""Property: whatever bytes a server sends after a valid upgrade, the engine never
raises, never hangs and always ends the session with a recorded reason."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import Close, HostileScript, ServerLoop, Upgrade, Write, start_hostile_server
from session_helpers import make_session, run

from inspector.core.options import SessionOptions
from inspector.core.records import Kind, Record

sys.path.insert(0, str(Path(__file__).parents[1] / "protocols"))

from ws_harness import Pair

#: Bytes that look like frames often enough to reach deep into the parser: a random
#: first byte (FIN/RSV/opcode), a short length, then anything.
frame_like = st.builds(
    lambda first, body: bytes([first, len(body)]) + body,
    st.integers(0, 255),
    st.binary(max_size=20),
)
hostile_bytes = st.lists(st.one_of(st.binary(max_size=40), frame_like), max_size=6).map(b"".join)


def assert_ended_with_a_reason(records: list[Record], failure: str | None) -> None:
    """One CLOSED record, last; a failure unless the closing handshake completed."""
    closed = [r for r in records if r.kind is Kind.CLOSED]
    assert len(closed) == 1 and closed[0] is records[-1]
    fields = closed[0].fields
    assert fields["message"] and "\n" not in fields["message"]
    if fields["clean"]:
        assert failure is None and fields["close_code"] is not None
    else:
        assert failure is not None and "\n" not in failure and "Traceback" not in failure
        assert fields["message"] == failure


@settings(max_examples=60, deadline=None)
@given(data=hostile_bytes, cut=st.lists(st.integers(1, 12), max_size=8))
def test_random_bytes_in_memory(data: bytes, cut: list[int]) -> None:
    pair = Pair(SessionOptions(compression=False, max_size=64))
    pair.handshake()
    pos = 0
    for size in [*cut, len(data)]:  # the same bytes in reads of random sizes
        if pos >= len(data):
            break
        pair.to_client(data[pos : pos + size])
        pos += size
    pair.client.receive_eof(pair.t_ns + 1)
    assert pair.client.closed
    assert_ended_with_a_reason(pair.records(), pair.client.failure)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=hostile_bytes)
def test_random_bytes_over_a_real_socket(server_loop: ServerLoop, data: bytes) -> None:
    server = start_hostile_server(server_loop, HostileScript((Upgrade(), Write(data), Close())))
    try:
        session, sink = make_session(server.ws_url, compression=False, max_size=64)

        async def scenario() -> None:
            assert await session.open()
            await session.wait_closed()

        run(scenario(), timeout=15)
    finally:
        server.stop()
    assert session.ended
    assert_ended_with_a_reason(sink.records, session.failure)
    assert session.ok is (session.failure is None)
