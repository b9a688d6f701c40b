"""Rules on a relay direction: a matching message is answered by the relay, not forwarded.

The listening rules (:mod:`inspector.core.rules`, the same file format) applied to the
messages of one relay direction (tcp/tls: each read; udp: each datagram). A message no
rule matches (or one an ``ignore`` rule stops) is forwarded unchanged. A match keeps it
from the other side and performs the rule's steps from the relay: a reply (or echo,
broadcast) goes back to the side that sent the message, after the rule's delay; a close
ends the pair gracefully, a drop resets both sides. The message's record says
``rule`` (the index of the rule that matched) and ``forwarded: false``; what the relay
sends is recorded with ``injected: true`` (so the wire bytes of one direction's records
without ``injected`` are still exactly what that side sent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.rules import RuleEngine, Step, StepKind


@dataclass(frozen=True, slots=True)
class RelayRules:
    """A rule engine and the directions it applies to ("c2s", "s2c")."""

    engine: RuleEngine
    directions: frozenset[str] = frozenset({"c2s"})

    def steps(self, c2s: bool, conn: int, data: bytes, text: bool | None = None) -> list[Step]:
        """The steps for one message going one way ([] : forward it unchanged)."""
        if ("c2s" if c2s else "s2c") not in self.directions:
            return []
        return self.engine.on_message(conn, data, text)


def perform(
    steps: list[Step],
    *,
    c2s: bool,
    recorder: Recorder,
    kind: Kind,
    answer: Callable[[bytes], None],
    close: Callable[[], None],
    reset: Callable[[], None],
    alive: Callable[[], bool],
    answer_step: Callable[[Step], None] | None = None,
    close_step: Callable[[Step], None] | None = None,
) -> None:
    """Do a matched message's steps: answer the sender, or close, or reset the pair.

    ``answer_step``, when given, sends and records an answer itself (a WebSocket
    relay frames it as a message); otherwise ``answer`` writes the bytes and they are
    recorded here. ``close_step``, when given, closes with the step's code and reason
    (a WebSocket close) in place of ``close``."""
    loop = asyncio.get_running_loop()
    towards_sender = Direction.IN if c2s else Direction.OUT
    for step in steps:

        def act(step: Step = step) -> None:
            if not alive():
                return
            if step.kind in (StepKind.SEND, StepKind.SEND_ALL) and answer_step is not None:
                answer_step(step)
            elif step.kind in (StepKind.SEND, StepKind.SEND_ALL):
                answer(step.data)
                recorder.record(
                    towards_sender,
                    kind,
                    None,
                    step.data,
                    step.data,
                    {"injected": True, "rule": step.rule},
                )
            elif step.kind is StepKind.CLOSE:
                recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={"message": f"rule {step.rule + 1} closes the pair", "rule": step.rule},
                )
                if close_step is not None:
                    close_step(step)
                else:
                    close()
            else:
                recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={"message": f"rule {step.rule + 1} resets the pair", "rule": step.rule},
                )
                reset()

        if step.delay_ms > 0:
            loop.call_later(step.delay_ms / 1000.0, act)
        else:
            act()
