"""Tell the files a capture may come in apart by their content: native capture (SQLite),
HAR or JSON Lines. Shared by the command line and the desktop app."""

from __future__ import annotations

import os
import re
import stat
from enum import StrEnum
from pathlib import Path

from inspector.capture.schema import SQLITE_MAGIC
from inspector.core.errors import CaptureError

#: Bytes looked at to tell the file type.
SNIFF_BYTES = 4096

_HAR_START = re.compile(rb'\A\{\s*"log"\s*:')
_JSONL_START = re.compile(rb'\A\{\s*"seq"\s*:')


class InputKind(StrEnum):
    """What kind of file an input is."""

    CAPTURE = "capture"
    HAR = "HAR"
    JSONL = "JSON Lines"


def detect_format(path: str | os.PathLike[str]) -> InputKind:
    """Tell a native capture, a HAR file and JSON Lines apart by their first bytes."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CaptureError(f"{path} is a directory, not a capture file")
        if not stat.S_ISREG(info.st_mode):
            raise CaptureError(f"{path} is not a regular file")
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise CaptureError(f"cannot open {path}: {exc.strerror or exc}") from None
    if not head:
        raise CaptureError(f"{path} is empty")
    if head.startswith(SQLITE_MAGIC[:13]):
        return InputKind.CAPTURE
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not text:
        raise CaptureError(f"{path} holds only white space")
    if _HAR_START.match(text):
        return InputKind.HAR
    if _JSONL_START.match(text):
        return InputKind.JSONL
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        if b'"kind"' in first and b'"dir"' in first:
            return InputKind.JSONL
        return InputKind.HAR  # the HAR reader names what is wrong with it
    raise CaptureError(f"{path} is not a capture, HAR or JSON Lines file")
