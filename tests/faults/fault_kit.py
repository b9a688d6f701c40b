"""Helpers of the fault tests: run one case of the matrix (the rest is session_helpers)."""

from __future__ import annotations

import asyncio

from fault_matrix import FaultCase, Target
from session_helpers import ListSink, make_session, wait_until

from inspector.net.session import Session

#: Upper bound for one case, far above what a healthy run needs (a hang fails, not waits).
CASE_BOUND = 15.0


async def play(case: FaultCase, target: Target) -> tuple[Session, ListSink]:
    """Open a session on the case's target, send what it asks for, wait for its end."""
    session, sink = make_session(target.url, **target.options)
    async with asyncio.timeout(CASE_BOUND):
        if await session.open():
            if target.send is not None:
                await wait_until(lambda: session.messages_in >= 1 or session.ended)
                if not session.ended:
                    session.send(target.send)
            await session.wait_closed()
    return session, sink
