"""Entry point: ``inspector probe|show|export …`` run headless; anything else opens the
desktop app.

The headless paths never import Qt, so they run on servers without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch the command line; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    from inspector.cli.args import COMMANDS, UsageExit, build_main_parser
    from inspector.cli.logsetup import pop_log_level, start_logging

    try:
        level, rest = pop_log_level(args)
    except UsageExit as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    if rest and rest[0] in COMMANDS:
        from inspector.cli import run_command

        start_logging(level)
        return run_command(rest)
    try:
        build_main_parser().parse_args(args)
    except UsageExit as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except SystemExit as exc:  # --help and --version end here
        return exc.code if isinstance(exc.code, int) else 0
    try:
        from inspector.app import run
    except ImportError as exc:
        sys.stderr.write(f"inspector: the desktop app cannot start: {exc}\n")
        return 1
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
