"""An Autobahn|Testsuite echo client built on the engine, and a runner over kosoku."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Record
from inspector.net.factory import create_session
from inspector.net.session import SessionError, SessionState

AGENT = "socket-inspector"
POLL = 0.05  # seconds: a safety net; a read wakes the echo loop at once (Session.on_data)
CASE_TIMEOUT = 120.0  # seconds: a bound on one case, never asserted (minutes when loaded)
SERVER = Path(__file__).with_name("fuzzing_server.py")


class Relay:
    """A relay (the engine of ``inspector relay``) in front of the fuzzing server;
    ``intercept`` an Interceptor (the relay then re-frames every message)."""

    def __init__(self, intercept: Any = None) -> None:
        self.intercept = intercept
        self.relay: Any = None
        self.pairs = 0
        self.clean = 0

    async def start(self, upstream: str) -> str:
        """Relay to ``upstream``; return the base URL the client uses instead."""
        from inspector.net.relay import RelayConfig, create_relay

        def recorder_for(_number: int, _peer: str) -> Recorder:
            return Recorder(consumed=False)

        config = RelayConfig(parse_endpoint("ws://127.0.0.1:0/", listen=True),
                             parse_endpoint(upstream + "/"), intercept=self.intercept)  # fmt: skip
        self.relay = create_relay(config, Recorder(consumed=False), recorder_for)
        self.relay.on_pair_end = self._ended
        await self.relay.start()
        return f"ws://127.0.0.1:{self.relay.port}"

    def _ended(self, pair: Any) -> None:
        self.pairs += 1
        self.clean += bool(pair.clean)

    async def stop(self) -> None:
        await self.relay.stop()


@dataclass(slots=True)
class CaseRun:
    """What the engine recorded for one case, and how the session ended."""

    index: int
    records: list[Record] = field(default_factory=list)
    ok: bool = False
    failure: str | None = None


async def echo_session(
    url: str,
    compression: bool,
    max_size: int | None = None,
    keep: bool = True,
    compression_level: int | None = None,
    deflate_offer: str | None = None,
) -> CaseRun:
    """Open ``url``, echo every text/binary message back unchanged until the peer closes
    (what ``inspector probe --echo`` does), and keep every record (or, with ``keep``
    False, only the last few: the performance cases move hundreds of MiB)."""
    run = CaseRun(0)
    recorder = Recorder()
    options = SessionOptions(
        compression=compression,
        max_size=max_size,
        compression_level=compression_level,
        deflate_offer=deflate_offer,
    )
    session = create_session(parse_endpoint(url), options, recorder)
    arrived = asyncio.Event()
    session.on_data = arrived.set  # one wake-up per read, as ``probe --echo`` does
    if await session.open():
        closed = asyncio.ensure_future(session.wait_closed())
        try:
            async with asyncio.timeout(CASE_TIMEOUT):
                while not closed.done():
                    woken = asyncio.ensure_future(arrived.wait())
                    await asyncio.wait({closed, woken}, timeout=POLL, return_when="FIRST_COMPLETED")
                    woken.cancel()
                    arrived.clear()
                    for kind, data in session.take_messages():
                        if session.state is not SessionState.OPEN:
                            break
                        with contextlib.suppress(SessionError):
                            if kind == "text":
                                session.send_text(data.decode("utf-8"))
                            else:
                                session.send_binary(data)
                    run.records.extend(recorder.drain())
                    if not keep:
                        del run.records[:-8]
        except TimeoutError:
            session.abort()
        finally:
            closed.cancel()
    run.records.extend(recorder.drain())
    run.ok, run.failure = session.ok, session.failure
    return run


async def run_suite(
    cases: Sequence[str],
    compression: bool,
    exclude: Sequence[str] = (),
    max_size: int | None = None,
    keep: bool = True,
    parallel: int = 1,
    compression_level: int | None = None,
    deflate_offer: str | None = None,
    relay: Relay | None = None,
) -> tuple[dict[str, tuple[str, str, bool]], dict[str, CaseRun]]:
    """Run ``cases`` against kosoku's fuzzing server; return each case's verdicts
    (behavior, close behavior, passed) and the engine's runs, keyed by case id.
    ``parallel`` cases run at once, each on its own connection (the fuzzing server
    serves them side by side). The server runs in a process of its own. With ``relay``
    (a ``RelayThrough``) every case goes through ``inspector relay``'s engine."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        *cases,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    try:
        port = int(await asyncio.wait_for(server.stdout.readline(), CASE_TIMEOUT))
        base = f"ws://127.0.0.1:{port}"
        if relay is not None:
            base = await relay.start(base)
        count_run = await echo_session(base + "/getCaseCount", compression=False)
        count = int(next(r.payload for r in count_run.records if r.kind == "frame"
                         and r.fields.get("opcode") == "text"))  # fmt: skip
        limit = asyncio.Semaphore(parallel)

        async def one(index: int) -> CaseRun:
            async with limit:
                run = await echo_session(
                    f"{base}/runCase?case={index}&agent={AGENT}",
                    compression,
                    max_size,
                    keep,
                    compression_level,
                    deflate_offer,
                )
            run.index = index
            return run

        runs = list(await asyncio.gather(*(one(index) for index in range(1, count + 1))))
        await echo_session(f"{base}/updateReports?agent={AGENT}", compression=False)
        results = json.loads(await asyncio.wait_for(server.stdout.readline(), CASE_TIMEOUT))
        await asyncio.wait_for(server.wait(), CASE_TIMEOUT)
    finally:
        if relay is not None:
            await relay.stop()
        if server.returncode is None:
            server.kill()
            await server.wait()
    verdicts = {r["case_id"]: (r["behavior"], r["behavior_close"], r["passed"]) for r in results}
    by_id = {r["case_id"]: runs[r["index"] - 1] for r in results}
    return verdicts, by_id
