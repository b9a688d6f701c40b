"""The headless commands (``inspector probe``, ``listen``, ``show``, ``export``): argument parsing
and running, no Qt."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from inspector.cli.args import (
    COMMANDS,
    UsageExit,
    build_export_parser,
    build_main_parser,
    build_probe_parser,
    build_show_parser,
    fail_usage,
)
from inspector.core.errors import EndpointError, InspectorError, UsageError

__all__ = [
    "COMMANDS",
    "build_export_parser",
    "build_main_parser",
    "build_probe_parser",
    "build_show_parser",
    "run_command",
]


def run_command(
    argv: Sequence[str], stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one headless command (``argv[0]`` is its name); return the exit status.

    Usage errors are one line and status 2; anything unexpected is one line and
    status 1, never a traceback.
    """
    err = stderr if stderr is not None else sys.stderr
    command, rest = argv[0], list(argv[1:])
    try:
        if command == "probe":
            return _probe(rest, stdout, err)
        if command == "show":
            return _show(rest, stdout, err)
        if command == "export":
            return _export(rest, stdout, err)
        if command == "listen":
            from inspector.cli.listen import run_listen

            return run_listen(rest, stdout, err)
        if command == "relay":
            from inspector.cli.relay import run_relay

            return run_relay(rest, stdout, err)
        if command == "compare":
            from inspector.cli.compare import run_compare_command

            return run_compare_command(rest, stdout, err)
        if command == "run":
            from inspector.cli.run import run_run

            return run_run(rest, stdout, err)
        if command == "workspace":
            from inspector.cli.workspace import run_workspace

            return run_workspace(rest, stdout, err)
        return fail_usage(f"inspector: unknown command {command!r}")
    except UsageExit as exc:
        err.write(f"{exc}\n")
        return 2
    except InspectorError as exc:
        err.write(f"inspector: {exc}\n")
        return 1
    except KeyboardInterrupt:
        err.write("inspector: interrupted\n")
        return 130
    except Exception as exc:  # the promise: one line, never a traceback
        err.write(f"inspector: unexpected error: {type(exc).__name__}: {exc}\n")
        return 1


def _probe(argv: list[str], stdout: TextIO | None, stderr: TextIO) -> int:
    from inspector.cli.probe import run_probe
    from inspector.core.endpoints import parse_endpoint

    args = build_probe_parser().parse_args(argv)
    if not args.compression:
        for flag, value in (("--compression-level", args.compression_level),
                            ("--deflate-offer", args.deflate_offer)):  # fmt: skip
            if value is not None:
                stderr.write(f"inspector probe: {flag} asks for compression; --no-compress "
                             "turns it off (drop one of them)\n")  # fmt: skip
                return 2
    try:
        endpoint = parse_endpoint(args.url)
    except EndpointError as exc:
        stderr.write(f"inspector probe: {exc}\n")
        return 2
    try:
        return run_probe(endpoint, args, stdout, stderr)
    except UsageError as exc:
        stderr.write(f"inspector probe: {exc}\n")
        return 2


def _show(argv: list[str], stdout: TextIO | None, stderr: TextIO) -> int:
    from inspector.cli.show import run_show

    args = build_show_parser().parse_args(argv)
    try:
        return run_show(args, stdout if stdout is not None else sys.stdout, stderr)
    except UsageError as exc:
        stderr.write(f"inspector show: {exc}\n")
        return 2


def _export(argv: list[str], stdout: TextIO | None, stderr: TextIO) -> int:
    from inspector.cli.export import run_export

    args = build_export_parser().parse_args(argv)
    try:
        return run_export(args, stdout, stderr)
    except UsageError as exc:
        stderr.write(f"inspector export: {exc}\n")
        return 2
