"""``inspector run FILE``: run a workspace script headless, for people and for CI.

Exit status: 0 every step held; 1 a step failed (one line: which step, expected and
got); 2 the script or its workspace cannot be read, or names a variable, endpoint or
message that does not exist (found before anything is sent), or the JUnit report or
the output cannot be written (a full disk); 128 + the signal's number when SIGINT or
SIGTERM stopped the run (sessions closed and the capture finished first, as the
window's Stop does).

``--junit OUT.xml`` writes one ``<testcase>`` per step (classname = the script's
name, name = "step N (kind)"): a CI page then shows which step failed and which never
ran (skipped), which one test case per script would hide.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from xml.etree import ElementTree

from inspector.capture.store import CaptureStore
from inspector.cli.args import OneLineParser
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import RecordSink
from inspector.core.script import load_script
from inspector.core.workspace import find_root, load_workspace
from inspector.net.script_results import options_with_role
from inspector.net.script_runner import (
    ScriptResult,
    ScriptRunner,
    SessionSinks,
    StepResult,
    StepStatus,
)
from inspector.net.session import Session

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2

RUN_EXAMPLES = """\
variables: {{name}} in URLs, headers, messages and steps comes from --var, then the
environment chosen with --env (environments.toml), then {{env.NAME}} from the process
environment; values an extract step sets are known from then on.

exit status: 0 every step held; 1 a step failed; 2 the script cannot be read or names
something unknown, or the --junit report or the output cannot be written; 130 (SIGINT,
Ctrl+C) or 143 (SIGTERM) the run was stopped: its sessions are closed, the capture
finished and the report written, with the step in progress failed.

examples:
  inspector run ws/scripts/login.toml --env staging
  inspector run scripts/chat.toml --var user=alice --junit report.xml -o run.sockcap
"""


def build_run_parser() -> argparse.ArgumentParser:
    """The options of ``inspector run``."""
    parser = OneLineParser(
        prog="inspector run",
        description="Run a workspace script without a window.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the script (a .toml file, usually in a workspace's scripts/)")
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="the workspace folder (default: found from the script's folder)",
    )
    parser.add_argument("--env", metavar="NAME", help="the environment whose variables to use")
    parser.add_argument(
        "--var",
        metavar="K=V",
        action="append",
        default=[],
        help="a variable (repeatable; wins over the environment's)",
    )
    parser.add_argument("--junit", metavar="OUT.xml", help="write a JUnit XML report")
    parser.add_argument("-o", "--output", metavar="CAPTURE", help="record every session here")
    parser.add_argument("--json", action="store_true", help="one JSON object per step")
    return parser


class CaptureSinks(SessionSinks):
    """Every session of a run in one capture file (-o), a session each."""

    def __init__(self, path: str, stderr: TextIO) -> None:
        self.path = path
        self.stderr = stderr
        self.owner: CaptureStore | None = None
        self.stores: list[CaptureStore] = []

    def open(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        clock: SessionClock,
        role: Mapping[str, Any] | None = None,
    ) -> RecordSink:
        common = {
            "endpoint": endpoint.url,
            "scheme": str(endpoint.scheme),
            "options": options_with_role(options, role),
            "clock": clock,
        }
        if self.owner is None:
            self.owner = CaptureStore.create(self.path, overwrite=True, **common)
            return self.owner
        store = self.owner.add_session(**common)
        self.stores.append(store)
        return store

    def finish(self, sink: RecordSink, session: Session) -> None:
        if isinstance(sink, CaptureStore):
            sink.finish(str(session.state), session.summary())

    def close(self) -> None:
        for store in self.stores:
            store.close()
        if self.owner is not None:
            self.owner.close()
            if self.owner.error is not None:
                self.stderr.write(f"inspector run: capture not fully written: {self.owner.error}\n")


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InspectorError(f"--var {pair!r}: give NAME=VALUE")
        values[name.strip()] = value
    return values


def step_line(result: StepResult) -> str:
    """One printed line per step."""
    return result.line()


def step_json(result: StepResult) -> str:
    """One JSON object per step (--json)."""
    return json.dumps(
        {
            "step": result.step.number,
            "kind": str(result.step.kind),
            "name": result.step.name,
            "status": str(result.status),
            "message": result.message,
            "seconds": round(result.duration_s, 6),
            "runs": result.runs,
        },
        ensure_ascii=False,
    )


#: What XML 1.0 cannot hold, even escaped (C0 controls but tab and newlines, lone
#: surrogates, U+FFFE/U+FFFF): such a character would make the whole report unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """``text`` with each character XML cannot hold written as ``\\xNN``/``\\uNNNN``."""
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def junit_xml(result: ScriptResult) -> bytes:
    """A JUnit XML report: one testsuite for the script, one testcase per step."""
    counts = {s: sum(1 for r in result.steps if r.status is s) for s in StepStatus}
    suites = ElementTree.Element("testsuites")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        {
            "name": _xml_safe(result.script.name),
            "tests": str(len(result.steps)),
            "failures": str(counts[StepStatus.FAILED]),
            "errors": "0",
            "skipped": str(counts[StepStatus.SKIPPED]),
            "time": f"{result.duration_s:.3f}",
        },
    )
    for step in result.steps:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            {
                "classname": _xml_safe(result.script.name),
                "name": _xml_safe(step.step.label),
                "time": f"{step.duration_s:.3f}",
            },
        )
        message = _xml_safe(step.message)
        if step.status is StepStatus.FAILED:
            ElementTree.SubElement(case, "failure", {"message": message}).text = message
        elif step.status is StepStatus.SKIPPED:
            ElementTree.SubElement(case, "skipped", {"message": "an earlier step failed"})
        elif step.message:
            ElementTree.SubElement(case, "system-out").text = message
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def _write_junit(path: str, result: ScriptResult) -> None:
    """Write the report through a temporary file beside it; a device or a pipe
    (``/dev/stdout``) is written into, since renaming over it would replace it."""
    target = Path(os.path.realpath(path))
    temp = target.with_name(f"{target.name}.partial")
    try:
        if target.exists() and not target.is_file():
            with open(target, "wb") as handle:
                handle.write(junit_xml(result))
            return
        with open(temp, "wb") as handle:
            handle.write(junit_xml(result))
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise InspectorError(f"cannot write {path}: {exc.strerror or exc}") from None


async def _run_until_signal(runner: ScriptRunner) -> tuple[ScriptResult, int]:
    """Run the script; SIGINT or SIGTERM stops it as the window's Stop does (sessions
    closed, capture finished). The result and the signal's number (0: none)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(runner.run())
    caught: list[signal.Signals] = []

    def stop(sig: signal.Signals) -> None:
        if not caught:  # a second signal does not cut the bounded clean-up short
            caught.append(sig)
            task.cancel()

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop, sig)
            installed.append(sig)
    try:
        return await task, 0
    except asyncio.CancelledError:
        if not caught:
            raise
        return runner.result(f"stopped by {caught[0].name}"), int(caught[0])
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_run(argv: Sequence[str], stdout: TextIO | None, stderr: TextIO) -> int:
    """Run ``inspector run`` for its arguments; return the exit status."""
    out = stdout if stdout is not None else sys.stdout
    args = build_run_parser().parse_args(list(argv))
    shown: set[int] = set()
    try:
        script = load_script(args.file)
        root = Path(args.workspace) if args.workspace else find_root(Path(args.file))
        workspace = load_workspace(root)
        scope = workspace.scope(args.env, _variables(args.var))

        def show(result: StepResult) -> None:
            shown.add(id(result))
            out.write((step_json(result) if args.json else step_line(result)) + "\n")
            out.flush()

        if args.junit and not Path(args.junit).absolute().parent.is_dir():
            raise InspectorError(f"cannot write {args.junit}: no folder {Path(args.junit).parent}")
        sinks = CaptureSinks(args.output, stderr) if args.output else None
        runner = ScriptRunner(script, workspace, scope, sinks, on_step=show)
        runner.check()
    except InspectorError as exc:
        stderr.write(f"inspector run: {exc}\n")
        return EXIT_UNREADABLE
    try:
        return _run_and_report(runner, args, show, shown, out, stderr)
    except OSError as exc:  # stdout: a full disk, a reader gone (the run was stopped)
        stderr.write(f"inspector run: cannot write the output: {exc.strerror or exc}\n")
        return EXIT_UNREADABLE


def _run_and_report(
    runner: ScriptRunner,
    args: argparse.Namespace,
    show: Callable[[StepResult], None],
    shown: set[int],
    out: TextIO,
    stderr: TextIO,
) -> int:
    """Run the script, print what is left to print, write the report; the exit status."""
    script = runner.script
    result, stopped_by = asyncio.run(_run_until_signal(runner))
    for step in result.steps:
        if step.status is not StepStatus.PASSED and id(step) not in shown:
            show(step)  # skipped, or in progress when a signal stopped the run
    unwritten = ""
    if args.junit:
        try:
            _write_junit(args.junit, result)
        except InspectorError as exc:
            unwritten = f"inspector run: {exc}\n"
    failure = result.failure
    passed = sum(1 for r in result.steps if r.status is StepStatus.PASSED)
    if failure is not None:
        stderr.write(f"inspector run: {failure.message}\n{unwritten}")
        return 128 + stopped_by if stopped_by else EXIT_FAILED
    if unwritten:
        stderr.write(unwritten)
        return EXIT_UNREADABLE
    if not args.json:
        out.write(f"{script.name}: {passed} of {len(result.steps)} steps passed\n")
    return EXIT_OK
