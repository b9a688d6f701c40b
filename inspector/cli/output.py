"""Printing records to a stream, shared by ``probe`` and ``show`` so both print alike.

Records are formatted by :mod:`inspector.core.render` and written a batch at a time:
one joined string and one ``write`` per batch, whatever the batch size. A reader that
goes away (``| head``) ends printing quietly, never with a traceback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from typing import TextIO

from inspector.core.evenruns import Item, expanded
from inspector.core.records import Record
from inspector.core.render import json_head, json_lines, json_tail, record_line, record_lines


def json_line(record: Record) -> str:
    """A record as one JSON line, exactly as ``probe --json`` and ``show --json`` print it
    (``json.dumps(record_to_json(record), ensure_ascii=False)``)."""
    return json_head(record) + json_tail(record.fields)


def line_formatter(as_json: bool) -> Callable[[Record], str]:
    """The function that turns a record into its output line."""
    return json_line if as_json else record_line


def batch_formatter(as_json: bool) -> Callable[[Iterable[Item]], list[str]]:
    """The function that turns a batch of records into their output lines."""
    return json_lines if as_json else record_lines


def _per_record(formatter: Callable[[Record], str]) -> Callable[[Iterable[Item]], list[str]]:
    """A batch formatter made of a per-record one (``probe --decode`` adds to each line)."""
    return lambda records: [formatter(record) for record in expanded(records)]


class Printer:
    """Writes records to a stream, as lines or JSON, in one write per batch."""

    def __init__(
        self,
        stream: TextIO,
        *,
        as_json: bool,
        quiet: bool,
        formatter: Callable[[Record], str] | None = None,
    ) -> None:
        self.stream = stream
        self.quiet = quiet
        self.gone = False  # the reader closed the pipe
        self.as_json = as_json
        self._format = _per_record(formatter) if formatter is not None else batch_formatter(as_json)

    def emit(self, records: list[Item]) -> None:
        """Print a batch of records and even runs (nothing when quiet or the reader went
        away)."""
        if self.quiet or not records:
            return
        lines = self._format(records)
        lines.append("")
        self.write("\n".join(lines))

    def write(self, text: str) -> None:
        """Write text and flush it; on a broken pipe stop printing for good."""
        if self.quiet:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            # The reader (e.g. `| head`) is gone: print no more. Point the descriptor at
            # /dev/null so the interpreter's own flush at exit does not complain.
            self.quiet = True
            self.gone = True
            with contextlib.suppress(OSError, ValueError, AttributeError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
                os.close(devnull)
