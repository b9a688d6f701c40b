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
from typing import Any

from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder, RecordSink
from inspector.core.records import Direction, Kind
from inspector.core.render import counted
from inspector.core.script import DEFAULT_TIMEOUT, Script, Step, StepKind, strings_of
from inspector.core.variables import Scope, VariableError
from inspector.core.workspace import Workspace, message_payload
from inspector.net import script_match
from inspector.net.connection import Connection
from inspector.net.factory import create_session
from inspector.net.listenbase import Listener
from inspector.net.listener import create_listener
from inspector.net.script_peers import ClientPeer, ClosedWatch, Peer, ServerPeer
from inspector.net.script_results import (
    ScriptResult,
    SessionSinks,
    StepFailed,
    StepResult,
    StepStatus,
)
from inspector.net.session import Session

__all__ = [
    "ScriptResult",
    "ScriptRunner",
    "SessionSinks",
    "StepFailed",
    "StepResult",
    "StepStatus",
    "extracted_names",
]


class _Stopped(Exception):
    """A step failed and its result is recorded: stop the run (and any loop around it)."""


def extracted_names(script: Script) -> list[str]:
    """The variables the script's steps set: its extracts', and a listen step's
    ``listen_url``."""
    names = [str(s.args["var"]) for s in script.walk() if s.kind is StepKind.EXTRACT]
    if any(s.kind is StepKind.LISTEN for s in script.walk()):
        names.append("listen_url")
    return names


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
        self.peer: Peer | None = None
        self.endpoint: Endpoint | None = None
        self.recorder: Recorder | None = None
        self.listener: Listener | None = None
        self._accepted: deque[Connection] = deque()
        self._watches: dict[int, ClosedWatch] = {}
        self._stores: list[tuple[RecordSink, Session | Connection | Listener]] = []
        self._inbox: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self._last: bytes | None = None
        self._sent_at: int | None = None
        self.latencies_ms: list[float] = []
        self.sent = 0
        self.received = 0
        self._results: dict[int, StepResult] = {}
        self._running: dict[int, float] = {}  # steps in progress (a repeat, its step): began
        self._started = time.monotonic()

    def check(self) -> None:
        """Fill every variable once (extracted names count as known): the error comes
        before anything is sent."""
        later = extracted_names(self.script)
        for step in self.script.walk():
            where = f"{self.script.name}: {step.label}"
            self.scope.check([(text, where) for text in strings_of(dict(step.args))], later)
            match = step.args.get("until") if step.kind is StepKind.REPEAT else step.args
            if isinstance(match, Mapping) and "where" in match and "{{" not in str(match):
                try:
                    script_match.condition(match)
                except ValueError as exc:
                    raise InspectorError(f"{where}: {exc}") from None
            if step.kind in (StepKind.CONNECT, StepKind.LISTEN) and "endpoint" in step.args:
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
                self._check_url(saved.url, step, f"endpoint {saved.name!r}")
            elif step.kind in (StepKind.CONNECT, StepKind.LISTEN):
                self._check_url(str(step.args["url"]), step, where)
            name = step.args.get("message") if step.kind is StepKind.SEND else None
            if name is not None:
                message = self.workspace.message(str(name))
                if message is None:
                    raise InspectorError(f"{where}: no message {name!r} in the workspace")
                body = "" if message.verbatim else message.body
                texts = [
                    (t, f"message {message.name!r}")
                    for t in strings_of([body, message.event, list(message.args)])
                ]
                self.scope.check(texts, later)

    def _check_url(self, url: str, step: Step, where: str) -> None:
        """A URL must parse before the run (one line), its variables filled in; one that
        uses a value a script extracts is parsed when the step runs."""
        try:
            filled = self.scope.fill(url, where)
        except VariableError:
            return  # a name an extract step sets (unknown names were said before)
        try:
            parse_endpoint(filled, listen=step.kind is StepKind.LISTEN)
        except InspectorError as exc:
            raise InspectorError(f"{where}: {exc}") from None

    async def run(self) -> ScriptResult:
        """Run every step (after :meth:`check`); always closes the session and capture."""
        self.check()
        self._started = time.monotonic()
        try:
            await self._steps(self.script.steps)
        except _Stopped:
            pass
        finally:
            try:
                await self._stop_listener()
            finally:  # also when a second cancel cuts the closing short
                self._close_capture()
        return self.result()

    def result(self, stopped: str = "") -> ScriptResult:
        """Every step's outcome so far, in file order (a step not reached: skipped).
        ``stopped`` says why a run was cut short (its task cancelled): the step in
        progress then fails with that line rather than passing for not run."""
        results: list[StepResult] = []
        for step in self.script.walk():
            began = self._running.get(step.number)
            if stopped and began is not None:
                line = f"{self.script.name}: {step.label}: {stopped}"
                earlier = self._results.get(step.number)
                runs = (earlier.runs if earlier else 0) + 1
                took = time.monotonic() - began
                results.append(StepResult(step, StepStatus.FAILED, line, took, runs))
            else:
                skipped = StepResult(step, StepStatus.SKIPPED)
                results.append(self._results.get(step.number, skipped))
        return ScriptResult(self.script, tuple(results), time.monotonic() - self._started)

    # -- steps ---------------------------------------------------------------------------

    async def _steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            began = time.monotonic()
            earlier = self._results.get(step.number)
            runs = (earlier.runs if earlier else 0) + 1
            self._running[step.number] = began
            try:
                note = await self._one(step)
            except _Stopped:
                self._running.pop(step.number, None)
                inner = f"{self.script.name}: {step.label}: a step inside it failed"
                self._done(
                    StepResult(step, StepStatus.FAILED, inner, time.monotonic() - began, runs)
                )
                raise
            except (StepFailed, InspectorError, ValueError, re.error) as exc:
                self._running.pop(step.number, None)
                bad = "bad regex: " if isinstance(exc, re.error) else ""  # after variables
                line = f"{self.script.name}: {step.label}: {bad}{exc}"
                self._done(
                    StepResult(step, StepStatus.FAILED, line, time.monotonic() - began, runs)
                )
                raise _Stopped from None
            self._running.pop(step.number, None)  # kept when cancelled: result(stopped)
            self._done(
                StepResult(step, StepStatus.PASSED, note or "", time.monotonic() - began, runs)
            )

    def _done(self, result: StepResult) -> None:
        self._results[result.step.number] = result
        if self.recorder is not None and (self.peer is None or not self.peer.ended):
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
        if kind is StepKind.LISTEN:
            return await self._listen(args)
        if kind is StepKind.ACCEPT:
            return await self._accept(float(args.get("timeout", DEFAULT_TIMEOUT)))
        return await self._assert(args)

    def _target(self, args: dict[str, Any]) -> tuple[str, SessionOptions]:
        """The URL and options of a connect or listen step, variables filled in."""
        if "endpoint" not in args:
            return str(args["url"]), SessionOptions()
        saved = self.workspace.endpoint(str(args["endpoint"]))
        assert saved is not None  # checked before the run
        where = f"endpoint {saved.name!r}"
        url = self.scope.fill(saved.url, where)
        headers = tuple(
            (h, self.scope.fill(v, f"{where} header {h}")) for h, v in saved.options.headers
        )
        return url, dataclasses.replace(saved.options, headers=headers)

    async def _connect(self, args: dict[str, Any]) -> str:
        await self._end_session()
        url, options = self._target(args)
        endpoint = parse_endpoint(url)
        clock = SessionClock()
        watch = ClosedWatch(self.sinks.open(endpoint, options, clock))
        self.recorder = Recorder(watch, clock=clock, consumed=False)
        session = create_session(endpoint, options, self.recorder)
        self.peer, self.endpoint = ClientPeer(session, watch, self._arrived.set), endpoint
        self._inbox.clear()
        if watch.store is not None:
            self._stores.append((watch.store, session))
        if not await session.open():
            raise StepFailed(f"to connect to {endpoint.url}", session.failure or "no session")
        return f"connected to {endpoint.url}"

    async def _listen(self, args: dict[str, Any]) -> str:
        await self._stop_listener()
        url, options = self._target(args)
        endpoint = parse_endpoint(url, listen=True)
        clock = SessionClock()
        sink = self.sinks.open(endpoint, options, clock, {"role": "listener"})
        self.recorder = Recorder(sink, clock=clock, consumed=False)

        def recorder_for(number: int, peer: str) -> Recorder:
            conn_clock = SessionClock()
            role = {"role": "server", "conn": number, "peer": peer}
            watch = ClosedWatch(self.sinks.open(endpoint, options, conn_clock, role))
            self._watches[number] = watch
            return Recorder(watch, clock=conn_clock, consumed=False)

        listener = create_listener(endpoint, options, self.recorder, recorder_for)
        listener.on_connection = self._on_connection
        self.listener, self.endpoint = listener, endpoint
        if sink is not None:
            self._stores.append((sink, listener))
        await listener.start()
        self.scope.extracted["listen_url"] = listener.url
        return f"listening on {listener.url}"

    def _on_connection(self, conn: Connection) -> None:
        self._accepted.append(conn)
        watch = self._watches.get(conn.number)
        if watch is not None and watch.store is not None:
            self._stores.append((watch.store, conn))
        self._arrived.set()

    async def _accept(self, timeout: float) -> str:
        listener = self.listener
        if listener is None:
            raise StepFailed("a listener", "none (listen first)")
        await self._end_session()
        deadline = time.monotonic() + timeout
        while not self._accepted:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepFailed(f"a client on {listener.url}", f"none within {timeout:g} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._arrived.wait()
        conn = self._accepted.popleft()
        assert self.endpoint is not None
        watch = self._watches.get(conn.number) or ClosedWatch(None)
        self.peer = ServerPeer(conn, self.endpoint, watch, self._arrived.set)
        self._inbox.clear()
        self.recorder = conn.recorder
        return f"client {conn.number} from {conn.peer}"

    def _open_session(self) -> Peer:
        if self.peer is None or self.peer.ended:
            raise StepFailed(
                "an open session",
                "none (connect or accept first)"
                if self.peer is None
                else f"the session ended ({self.peer.failure or 'closed'})",
            )
        return self.peer

    def _send(self, args: dict[str, Any]) -> str:
        session = self._open_session()
        assert self.endpoint is not None
        if "message" in args:
            saved = self.workspace.message(str(args["message"]))
            assert saved is not None
            data, text = message_payload(saved, self.scope, self.workspace.root)
        elif "hex" in args:
            try:
                data, text = bytes.fromhex(str(args["hex"])), False
            except ValueError:
                raise StepFailed("hexadecimal digits", repr(args["hex"])) from None
        else:
            data, text = str(args.get("text", args.get("json", ""))).encode("utf-8"), True
        self._sent_at = time.monotonic_ns()
        session.send(data, text)
        self.sent += 1
        return f"sent {counted(len(data), 'byte')}"

    def _pull(self) -> None:
        if self.peer is not None:
            taken = self.peer.take()
            self.received += len(taken)
            self._inbox.extend(taken)

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
        if self.peer is not None and self.peer.ended:
            got = f"the session ended ({self._close_text()})"
        else:
            got = f"no message within {timeout:g} s"
        if seen:
            others = counted(seen, "other message")
            got += f" after {others} (last {script_match.preview(last or b'')})"
        raise StepFailed(want, got)

    def _close_text(self) -> str:
        code = self.peer.watch.close_code if self.peer is not None else None
        failure = self.peer.failure if self.peer is not None else None
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
            return counted(int(args["times"]), "round")
        bound = int(args["max"])
        for round_ in range(1, bound + 1):
            await self._steps(step.body)
            until = self._fill(step.args["until"], step)
            if self._last is not None and script_match.matches(until, self._last, self.endpoint):
                return f"until held after {counted(round_, 'round')}"
        raise StepFailed(
            f"{script_match.describe(step.args['until'])} within {counted(bound, 'round')}",
            f"{script_match.preview(self._last or b'')} last",
        )

    async def _close(self, args: dict[str, Any]) -> str:
        peer = self._open_session()
        timeout = float(args.get("timeout", DEFAULT_TIMEOUT))
        code = int(args["code"]) if "code" in args else None
        await peer.close(code, str(args.get("reason", "")), timeout)
        self._pull()
        return f"closed ({self._close_text()})"

    async def _assert(self, args: dict[str, Any]) -> str:
        checks: list[str] = []
        if "close_code" in args:
            peer = self.peer
            if peer is not None and not peer.ended:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DEFAULT_TIMEOUT):
                        await peer.wait_closed()
            code = peer.watch.close_code if peer is not None else None
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
                raise StepFailed(f"{counted(int(args[key]), 'message')} {key}", str(actual))
        if "received_min" in args and self.received < int(args["received_min"]):
            raise StepFailed(
                f"at least {counted(int(args['received_min']), 'message')} received",
                str(self.received),
            )
        return ", ".join(checks) or f"{self.received} received, {self.sent} sent"

    # -- the end ---------------------------------------------------------------------

    async def _end_session(self) -> None:
        """Close the current conversation (a client session; an accepted client)."""
        peer = self.peer
        if peer is None or peer.ended:
            return
        with contextlib.suppress(InspectorError):
            await peer.close(None, "", 2.0)

    async def _stop_listener(self) -> None:
        await self._end_session()
        if self.listener is not None:
            with contextlib.suppress(InspectorError):
                await self.listener.stop(2.0)

    def _close_capture(self) -> None:
        for sink, session in self._stores:
            with contextlib.suppress(InspectorError):
                self.sinks.finish(sink, session)
        self.sinks.close()
