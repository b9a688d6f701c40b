"""Fifty sessions in one event loop: one per fault of the matrix, the rest healthy
echoes; every fault ends its own session only."""

from __future__ import annotations

import asyncio

from fault_kit import CASE_BOUND, play
from fault_matrix import CASES, FaultTargets, check_outcome
from servers import RunningServer
from session_helpers import make_session, run, wait_until

from inspector.core.records import Kind

SESSIONS = 50


async def healthy(url: str, index: int, **options: object) -> None:
    """Open, echo one message, close; assert all went well."""
    session, sink = make_session(url, **options)
    async with asyncio.timeout(CASE_BOUND):
        assert await session.open(), (url, session.failure)
        text = f"session {index}"
        session.send_text(text)
        await wait_until(lambda: session.messages_in == 1)
        assert session.take_messages()[0][1] == text.encode()
        await session.close()
    assert session.ok, (url, session.failure)
    assert not sink.of(Kind.ERROR)


def test_fifty_sessions_one_loop_faults_stay_apart(
    fault_targets: FaultTargets,
    ws_server: RunningServer,
    tcp_echo_server: RunningServer,
    udp_echo_server: RunningServer,
    wss_server: RunningServer,
    tls_ca_file: str,
) -> None:
    targets = [(case, fault_targets[case.id]) for case in CASES]
    echoes = [
        (ws_server.url, {}),
        (tcp_echo_server.url, {}),
        (udp_echo_server.url, {}),
        (wss_server.url, {"cafile": tls_ca_file}),
    ]
    failures: dict[str, str | None] = {}

    async def faulty(index: int) -> None:
        case, target = targets[index]
        session, sink = await play(case, target)
        check_outcome(case, session, sink.records)
        failures[case.id] = session.failure

    async def scenario() -> None:
        jobs = [faulty(i) for i in range(len(targets))]
        for index in range(SESSIONS - len(jobs)):
            url, options = echoes[index % len(echoes)]
            jobs.append(healthy(url, index, **options))
        assert len(jobs) == SESSIONS
        await asyncio.gather(*jobs)

    run(scenario(), timeout=60)
    assert sorted(failures) == sorted(case.id for case in CASES)
