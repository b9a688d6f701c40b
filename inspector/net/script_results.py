"""What a script run reports (each step's status, the run's result) and where its
sessions' records go."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import RecordSink
from inspector.core.script import Script, Step
from inspector.net.connection import Connection
from inspector.net.listenbase import Listener
from inspector.net.session import Session


class StepStatus(StrEnum):
    """How a step ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def mark(self) -> str:
        """The step's mark in a printed line: "ok", "FAIL" or "skip"."""
        return _MARKS[self]


_MARKS = {StepStatus.PASSED: "ok", StepStatus.FAILED: "FAIL", StepStatus.SKIPPED: "skip"}


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's outcome; ``message`` is the failure line (or a note when it passed)."""

    step: Step
    status: StepStatus
    message: str = ""
    duration_s: float = 0.0
    runs: int = 0

    def line(self) -> str:
        """The step in one printed line: its mark, then its failure line, or its label
        (with the note it passed with)."""
        text = self.message or self.step.label
        if self.status is StepStatus.PASSED and self.message:
            text = f"{self.step.label}: {self.message}"
        return f"{self.status.mark:<4} {text}"


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


def options_with_role(
    options: SessionOptions, role: Mapping[str, Any] | None
) -> SessionOptions | dict[str, Any]:
    """A session's options as a capture keeps them: with a listening script's ``role``
    (so the capture opens as a server tab, as ``inspector listen -o`` writes it)."""
    return options if not role else {**dataclasses.asdict(options), **role}


class SessionSinks:
    """Where each session's records go besides the runner (a capture file, given by the
    command that runs the script: net/ does not know the capture package)."""

    def open(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        clock: SessionClock,
        role: Mapping[str, Any] | None = None,
    ) -> RecordSink | None:
        """The sink of a new session (None: keep no records). ``role`` says what a
        listening script's session is (``{"role": "listener"}``, or ``"server"`` with
        ``conn`` and ``peer`` for an accepted client), stored beside the options as a
        listen capture has it (see :func:`options_with_role`)."""
        return None

    def finish(self, sink: RecordSink, session: Session | Connection | Listener) -> None:
        """A session (a listener, an accepted client) ended: write its summary."""

    def close(self) -> None:
        """The run ended."""
