"""``inspector workspace import FILE DIR``: a Postman or Insomnia export as a workspace
folder; what does not map is listed on stderr, one line each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from inspector.cli.args import OneLineParser
from inspector.core.errors import InspectorError
from inspector.core.render import counted
from inspector.core.workspace import ENDPOINTS, ENVIRONMENTS, MARKER, MESSAGES, save_workspace
from inspector.core.workspace_import import import_file


def build_workspace_parser() -> argparse.ArgumentParser:
    """The ``inspector workspace`` subcommands."""
    parser = OneLineParser(prog="inspector workspace", description="Workspace folders.")
    commands = parser.add_subparsers(dest="action", required=True)
    imp = commands.add_parser("import", help="a Postman collection v2.1 or Insomnia export")
    imp.add_argument("file", help="the exported JSON file")
    imp.add_argument("dir", help="the workspace folder to write (new, or without workspace files)")
    return parser


def run_workspace(argv: Sequence[str], stdout: TextIO | None, stderr: TextIO) -> int:
    """Run ``inspector workspace …``; 0 done, 1 the file could not be read, 2 usage."""
    out = stdout if stdout is not None else sys.stdout
    args = build_workspace_parser().parse_args(list(argv))
    root = Path(args.dir)
    held = [name for name in (MARKER, ENDPOINTS, MESSAGES, ENVIRONMENTS) if (root / name).exists()]
    if held:  # every file is optional: any one of them is a workspace not to overwrite
        stderr.write(
            f"inspector workspace: {root} already holds a workspace ({held[0]}; "
            "choose a new folder)\n"
        )
        return 2
    try:
        imported = import_file(args.file, root)
        save_workspace(imported.workspace)
    except InspectorError as exc:
        stderr.write(f"inspector workspace: {exc}\n")
        return 1
    ws = imported.workspace
    out.write(
        f"{root}: {counted(len(ws.endpoints), 'endpoint')}, "
        f"{counted(len(ws.messages), 'message')}, "
        f"{counted(len(ws.environments), 'environment')}\n"
    )
    for line in imported.not_mapped:
        stderr.write(f"not imported: {line}\n")
    return 0
