"""Run a script (core.script) against real endpoints: one session at a time, every
record into an optional capture, one status per step.

The first failing step stops the run (later steps are skipped) and says which step,
what was expected and what came, in one line. Inbound messages are taken from the
session's queue (``take_messages``), woken by ``on_data``: no polling per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder, RecordSink
from inspector.core.records import Direction, Kind, Record
from inspector.core.script import DEFAULT_TIMEOUT, Script, Step, StepKind, strings_of
from inspector.core.variables import Scope
from inspector.core.workspace import Workspace, message_payload
from inspector.net import script_match
from inspector.net.factory import content_action, create_session, send_message
from inspector.net.session import Session


class StepStatus(StrEnum):
    """How a step ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's outcome; ``message`` is the failure line (or a note when it passed)."""

    step: Step
    status: StepStatus
    message: str = ""
    duration_s: float = 0.0
    runs: int = 0


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """Every step's outcome, in file order."""

    script: Script
    steps: tuple[StepResult, ...]
    duration_s: float

    @property
    def ok(self) -> bool:
        """True when no step failed."""
        return all(r.status is not StepStatus.FAILED for r in self.steps)

    @property
    def failure(self) -> StepResult | None:
        """The step that failed (inside a loop: the innermost), if one did."""
        failed = [r for r in self.steps if r.status is StepStatus.FAILED]
        return failed[-1] if failed else None


class StepFailed(Exception):
    """A step did not hold: ``expected`` and ``got`` make its one line."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")


class _Stopped(Exception):
    """A step failed and its result is recorded: stop the run (and any loop around it)."""


class SessionSinks:
    """Where each session's records go besides the runner (a capture file, given by the
    command that runs the script: net/ does not know the capture package)."""

    def open(
        self, endpoint: Endpoint, options: SessionOptions, clock: SessionClock
    ) -> RecordSink | None:
        """The sink of a new session (None: keep no records)."""
        return None

    def finish(self, sink: RecordSink, session: Session) -> None:
        """A session ended: write its summary."""

    def close(self) -> None:
        """The run ended."""


class _ClosedWatch(RecordSink):
    """A sink in front of the capture that remembers the CLOSED record's close code."""

    def __init__(self, store: RecordSink | None) -> None:
        self.store = store
        self.close_code: int | None = None
        self.closed = False

    def _see(self, record: Record) -> None:
        if record.kind is Kind.CLOSED:
            self.closed = True
            self.close_code = record.fields.get("close_code")

    def write(self, record: Record) -> None:
        self._see(record)
        if self.store is not None:
            self.store.write(record)

    def write_many(self, records: list[Record]) -> None:
        for record in records:
            self._see(record)
        if self.store is not None:
            self.store.write_many(records)

    def write_run(self, run: Any) -> None:
        if self.store is not None:
            self.store.write_run(run)

    def flush(self) -> None:
        if self.store is not None:
            self.store.flush()


def extracted_names(script: Script) -> list[str]:
    """The variables the script's extract steps set."""
    return [str(s.args["var"]) for s in script.walk() if s.kind is StepKind.EXTRACT]


class ScriptRunner:
    """One run of one script."""

    def __init__(
        self,
        script: Script,
        workspace: Workspace,
        scope: Scope,
        sinks: SessionSinks | None = None,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> None:
        self.script = script
        self.workspace = workspace
        self.scope = scope
        self.sinks = sinks or SessionSinks()
        self.on_step = on_step
        self.session: Session | None = None
        self.endpoint: Endpoint | None = None
        self.recorder: Recorder | None = None
        self._watch: _ClosedWatch | None = None
        self._stores: list[tuple[RecordSink, Session]] = []
        self._inbox: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self._last: bytes | None = None
        self._sent_at: int | None = None
        self.latencies_ms: list[float] = []
        self.sent = 0
        self.received = 0
        self._results: dict[int, StepResult] = {}

    def check(self) -> None:
        """Fill every variable once (extracted names count as known): the error comes
        before anything is sent."""
        later = extracted_names(self.script)
        for step in self.script.walk():
            where = f"{self.script.name}: {step.label}"
            self.scope.check([(text, where) for text in strings_of(dict(step.args))], later)
            if step.kind is StepKind.CONNECT and "endpoint" in step.args:
                saved = self.workspace.endpoint(str(step.args["endpoint"]))
                if saved is None:
                    raise InspectorError(
                        f"{self.script.name}: {step.label}: no endpoint "
                        f"{step.args['endpoint']!r} in the workspace"
                    )
                texts = [(saved.url, f"endpoint {saved.name!r}")]
                texts += [
                    (v, f"endpoint {saved.name!r} header {h}") for h, v in saved.options.headers
                ]
                self.scope.check(texts, later)
            name = step.args.get("message") if step.kind is StepKind.SEND else None
            if name is not None:
                message = self.workspace.message(str(name))
                if message is None:
                    raise InspectorError(f"{where}: no message {name!r} in the workspace")
                texts = [
                    (t, f"message {message.name!r}")
                    for t in strings_of([message.body, message.event, list(message.args)])
                ]
                self.scope.check(texts, later)

    async def run(self) -> ScriptResult:
        """Run every step (after :meth:`check`); always closes the session and capture."""
        self.check()
        started = time.monotonic()
        try:
            await self._steps(self.script.steps)
        except _Stopped:
            pass
        finally:
            await self._end_session()
            self._close_capture()
        results = tuple(
            self._results.get(s.number, StepResult(s, StepStatus.SKIPPED))
            for s in self.script.walk()
        )
        return ScriptResult(self.script, results, time.monotonic() - started)

    # -- steps ---------------------------------------------------------------------------

    async def _steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            began = time.monotonic()
            earlier = self._results.get(step.number)
            runs = (earlier.runs if earlier else 0) + 1
            try:
                note = await self._one(step)
            except _Stopped:
                inner = f"{self.script.name}: {step.label}: a step inside it failed"
                self._done(
                    StepResult(step, StepStatus.FAILED, inner, time.monotonic() - began, runs)
                )
                raise
            except (StepFailed, InspectorError, ValueError) as exc:
                line = f"{self.script.name}: {step.label}: {exc}"
                self._done(
                    StepResult(step, StepStatus.FAILED, line, time.monotonic() - began, runs)
                )
                raise _Stopped from None
            self._done(
                StepResult(step, StepStatus.PASSED, note or "", time.monotonic() - began, runs)
            )

    def _done(self, result: StepResult) -> None:
        self._results[result.step.number] = result
        if self.recorder is not None and self.session is not None and not self.session.ended:
            line = result.message or f"{result.step.label}: {result.status}"
            self.recorder.record(
                Direction.META,
                Kind.INFO,
                fields={
                    "message": f"script {line}",
                    "script_step": result.step.number,
                    "status": str(result.status),
                },
            )
        if self.on_step is not None:
            self.on_step(result)

    def _fill(self, value: Any, step: Step) -> Any:
        where = f"{self.script.name}: {step.label}"
        if isinstance(value, str):
            return self.scope.fill(value, where)
        if isinstance(value, Mapping):
            return {k: self._fill(v, step) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._fill(v, step) for v in value]
        return value

    async def _one(self, step: Step) -> str | None:
        args: dict[str, Any] = self._fill(dict(step.args), step)
        kind = step.kind
        if kind is StepKind.CONNECT:
            return await self._connect(args)
        if kind is StepKind.SEND:
            return self._send(args)
        if kind is StepKind.EXPECT:
            return await self._expect(args, float(args.get("timeout", DEFAULT_TIMEOUT)))
        if kind is StepKind.EXTRACT:
            return self._extract(args)
        if kind is StepKind.WAIT:
            await asyncio.sleep(float(args["seconds"]))
            return None
        if kind is StepKind.REPEAT:
            return await self._repeat(step, args)
        if kind is StepKind.CLOSE:
            return await self._close(args)
        return await self._assert(args)

    async def _connect(self, args: dict[str, Any]) -> str:
        await self._end_session()
        options = SessionOptions()
        if "endpoint" in args:
            saved = self.workspace.endpoint(str(args["endpoint"]))
            assert saved is not None  # checked before the run
            where = f"endpoint {saved.name!r}"
            url = self.scope.fill(saved.url, where)
            headers = tuple(
                (h, self.scope.fill(v, f"{where} header {h}")) for h, v in saved.options.headers
            )
            options = dataclasses.replace(saved.options, headers=headers)
        else:
            url = str(args["url"])
        endpoint = parse_endpoint(url)
        clock = SessionClock()
        self._watch = _ClosedWatch(self.sinks.open(endpoint, options, clock))
        self.recorder = Recorder(self._watch, clock=clock, consumed=False)
        session = create_session(endpoint, options, self.recorder)
        session.on_data = self._arrived.set
        self.session, self.endpoint = session, endpoint
        self._inbox.clear()
        if self._watch.store is not None:
            self._stores.append((self._watch.store, session))
        if not await session.open():
            raise StepFailed(f"to connect to {endpoint.url}", session.failure or "no session")
        return f"connected to {endpoint.url}"

    def _open_session(self) -> Session:
        if self.session is None or self.session.ended:
            raise StepFailed(
                "an open session",
                "none (connect first)"
                if self.session is None
                else f"the session ended ({self.session.failure or 'closed'})",
            )
        return self.session

    def _send(self, args: dict[str, Any]) -> str:
        session = self._open_session()
        assert self.endpoint is not None
        if "message" in args:
            saved = self.workspace.message(str(args["message"]))
            assert saved is not None
            data, text = message_payload(saved, self.scope, self.workspace.root)
        elif "hex" in args:
            data, text = bytes.fromhex(str(args["hex"])), False
        else:
            data, text = str(args.get("text", args.get("json", ""))).encode("utf-8"), True
        self._sent_at = time.monotonic_ns()
        send_message(session, content_action(self.endpoint, text), data)
        self.sent += 1
        return f"sent {len(data)} bytes"

    def _pull(self) -> None:
        if self.session is not None:
            taken = self.session.take_messages()
            self.received += len(taken)
            self._inbox.extend(body for _, body in taken)

    async def _next_message(self, deadline: float) -> bytes | None:
        """The next inbound message, or None when the time ran out or the session ended."""
        session = self._open_session()
        while True:
            self._pull()
            if self._inbox:
                return self._inbox.popleft()
            if session.ended:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._arrived.clear()
            ended = asyncio.ensure_future(session.wait_closed())
            arrived = asyncio.ensure_future(self._arrived.wait())
            try:
                await asyncio.wait(
                    {ended, arrived}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                ended.cancel()
                arrived.cancel()

    async def _expect(self, args: dict[str, Any], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        if "where" in args:
            script_match.condition(args)  # a bad condition is a one-line error now
        want = script_match.describe(args)
        seen = 0
        last: bytes | None = None
        while True:
            body = await self._next_message(deadline)
            if body is None:
                break
            seen += 1
            last = body
            self._last = body
            if script_match.matches(args, body, self.endpoint):
                latency = ""
                if self._sent_at is not None:
                    ms = (time.monotonic_ns() - self._sent_at) / 1e6
                    self.latencies_ms.append(ms)
                    latency = f" after {ms:.1f} ms"
                return f"matched {script_match.preview(body)}{latency}"
            if args.get("within", "next") == "next":
                raise StepFailed(want, script_match.preview(body))
        session = self.session
        if session is not None and session.ended:
            got = f"the session ended ({self._close_text()})"
        else:
            got = f"no message within {timeout:g} s"
        if seen:
            got += f" after {seen} other messages (last {script_match.preview(last or b'')})"
        raise StepFailed(want, got)

    def _close_text(self) -> str:
        code = self._watch.close_code if self._watch is not None else None
        failure = self.session.failure if self.session is not None else None
        return failure or (f"close code {code}" if code is not None else "closed")

    def _extract(self, args: dict[str, Any]) -> str:
        if self._last is None:
            raise StepFailed("a received message to extract from", "none yet (expect first)")
        text = self._last.decode("utf-8", "replace")
        var = str(args["var"])
        if "regex" in args:
            hit = re.search(str(args["regex"]), text)
            if hit is None:
                raise StepFailed(
                    f"/{args['regex']}/ in the last message", script_match.preview(self._last)
                )
            group = int(args.get("group", 1 if hit.re.groups else 0))
            if group > hit.re.groups:
                raise StepFailed(f"group {group}", f"a regex with {hit.re.groups} groups")
            value = hit.group(group) or ""
        else:
            try:
                document = json.loads(text)
            except ValueError:
                raise StepFailed("a JSON message", script_match.preview(self._last)) from None
            found = script_match.json_at(document, str(args["json_path"]))
            if not script_match.found(found):
                raise StepFailed(
                    f"{args['json_path']} in the last message", script_match.preview(self._last)
                )
            value = script_match.as_text(found)
        self.scope.extracted[var] = value
        return f"{var} = {script_match.preview(value.encode())}"

    async def _repeat(self, step: Step, args: dict[str, Any]) -> str:
        if "times" in args:
            for _ in range(int(args["times"])):
                await self._steps(step.body)
            return f"{int(args['times'])} rounds"
        bound = int(args["max"])
        for round_ in range(1, bound + 1):
            await self._steps(step.body)
            until = self._fill(step.args["until"], step)
            if self._last is not None and script_match.matches(until, self._last, self.endpoint):
                return f"until held after {round_} rounds"
        raise StepFailed(
            f"{script_match.describe(step.args['until'])} within {bound} rounds",
            f"{script_match.preview(self._last or b'')} last",
        )

    async def _close(self, args: dict[str, Any]) -> str:
        session = self._open_session()
        timeout = float(args.get("timeout", DEFAULT_TIMEOUT))
        if self.endpoint is not None and self.endpoint.is_websocket and "code" in args:
            send_message(
                session, "close", code=int(args["code"]), reason=str(args.get("reason", ""))
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await session.wait_closed()
            if not session.ended:
                session.abort()
        else:
            await session.close(timeout)
        self._pull()
        return f"closed ({self._close_text()})"

    async def _assert(self, args: dict[str, Any]) -> str:
        checks: list[str] = []
        if "close_code" in args:
            session = self.session
            if session is not None and not session.ended:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DEFAULT_TIMEOUT):
                        await session.wait_closed()
            code = self._watch.close_code if self._watch is not None else None
            if code != int(args["close_code"]):
                raise StepFailed(
                    f"close code {args['close_code']}",
                    "no close code" if code is None else f"close code {code}",
                )
            checks.append(f"close code {code}")
        if "latency_ms_max" in args:
            if not self.latencies_ms:
                raise StepFailed("a latency measured by an expect", "no expect matched yet")
            worst = max(self.latencies_ms)
            if worst > float(args["latency_ms_max"]):
                raise StepFailed(f"latency at most {args['latency_ms_max']} ms", f"{worst:.1f} ms")
            checks.append(f"latency {worst:.1f} ms")
        self._pull()
        for key, actual in (("received", self.received), ("sent", self.sent)):
            if key in args and actual != int(args[key]):
                raise StepFailed(f"{args[key]} messages {key}", str(actual))
        if "received_min" in args and self.received < int(args["received_min"]):
            raise StepFailed(
                f"at least {args['received_min']} messages received", str(self.received)
            )
        return ", ".join(checks) or f"{self.received} received, {self.sent} sent"

    # -- the end ---------------------------------------------------------------------

    async def _end_session(self) -> None:
        session = self.session
        if session is None or session.ended:
            return
        with contextlib.suppress(InspectorError):
            await session.close(2.0)
        if not session.ended:
            session.abort()

    def _close_capture(self) -> None:
        for sink, session in self._stores:
            with contextlib.suppress(InspectorError):
                self.sinks.finish(sink, session)
        self.sinks.close()
