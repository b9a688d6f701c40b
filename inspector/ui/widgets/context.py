"""What the detail panes need to know besides the selected record."""

from __future__ import annotations

from dataclasses import dataclass

from inspector.core.records import Record


@dataclass(frozen=True, slots=True)
class RecordContext:
    """The session around a selected record: scheme, upgrade request/response, phases.

    The window builds one per session (and refreshes it when the handshake or a phase
    record arrives) and passes it with every ``show_record`` call.
    """

    scheme: str = ""
    request: Record | None = None
    response: Record | None = None
    phases: tuple[Record, ...] = ()
