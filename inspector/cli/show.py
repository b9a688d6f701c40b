"""``inspector show FILE``: print the records of a capture, HAR or JSON Lines file.

Records print exactly as ``inspector probe`` prints them (the same render functions),
read from the file a page at a time and written with one ``write`` per page, so a
million records stream in constant memory.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from inspector.cli.decoding import ShowDecoding, plugin_warnings
from inspector.cli.heap import keep_freed_memory
from inspector.cli.output import Printer
from inspector.cli.sources import (
    PAGE,
    RecordFilter,
    SessionEntry,
    StoreRecords,
    describe,
    filtered,
    header_line,
    open_input,
)
from inspector.core.errors import CaptureError, UsageError


def record_filter(args: argparse.Namespace) -> RecordFilter:
    """The filter the options ask for; UsageError for an invalid regular expression."""
    keep = RecordFilter(
        directions=frozenset(args.directions) if args.directions else None,
        kinds=frozenset(args.kinds) if args.kinds else None,
        text=args.grep or None,
        regex=args.regex or None,
        case_sensitive=not args.ignore_case,
    )
    try:
        keep.check()
    except CaptureError as exc:
        raise UsageError(str(exc)) from None
    return keep


def run_show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``inspector show`` for parsed arguments; return the exit status."""
    keep = record_filter(args)
    keep_freed_memory()
    source = open_input(args.file)
    try:
        entries = source.select(args.session)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None
    printer = Printer(stdout, as_json=args.json, quiet=False)
    with_headers = len(source.sessions) > 1 and args.session is None
    decoding = _decoding(args, stderr)
    for entry in entries:
        if decoding is not None:
            decoding.print_session(entry, keep, printer, len(source.sessions), with_headers)
        else:
            _print_session(entry, keep, printer, len(source.sessions), with_headers)
        if printer.gone:
            break
    return 0


def _decoding(args: argparse.Namespace, stderr: TextIO) -> ShowDecoding | None:
    """How to decode, filter on decoded fields or match, when the options ask for any."""
    if not (args.decode or args.where or args.stats or args.proto_descriptor):
        return None
    for line in plugin_warnings():
        stderr.write(line + "\n")
    return ShowDecoding(args)


def _print_session(
    entry: SessionEntry, keep: RecordFilter, printer: Printer, total: int, with_header: bool
) -> None:
    """Print one session's records (after its header line when asked), page by page."""
    with entry.open() as records:
        if with_header:
            printer.write(
                header_line(describe(entry, records.count(), total), printer.as_json) + "\n"
            )
        if keep.empty and isinstance(records, StoreRecords):
            for page in records.items():
                printer.emit(page)
                if printer.gone:
                    return
            return
        batch = []
        for record in filtered(records, keep, PAGE):
            batch.append(record)
            if len(batch) >= PAGE:
                printer.emit(batch)
                batch = []
                if printer.gone:
                    return
        printer.emit(batch)
