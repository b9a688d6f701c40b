"""Reading the files a person hands the inspector (rules, workspace files, exports):
bounded, so that a device such as /dev/zero or a huge file is one line, not a hang or
an exhausted memory, and every failure is one line in the caller's own error type."""

from __future__ import annotations

from pathlib import Path

from inspector.core.errors import InspectorError


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 and not limit % (1 << 20) else f"{limit} bytes"


def read_bounded(
    path: Path, limit: int, error: type[InspectorError], *, label: str = "", hint: str = ""
) -> bytes:
    """At most ``limit`` bytes of ``path``; ``error`` with one line when it cannot be
    read or holds more. ``label`` names the file before its path ("rules file "),
    ``hint`` is added to the too-large line ("not a workspace file?")."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {label}{path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        more = f" ({hint})" if hint else ""
        raise error(f"{label}{path}: larger than {_size(limit)}{more}")
    return data


def read_text(
    path: Path, limit: int, error: type[InspectorError], *, label: str = "", hint: str = ""
) -> str:
    """:func:`read_bounded`, decoded as UTF-8 (``error`` naming the first bad byte)."""
    data = read_bounded(path, limit, error, label=label, hint=hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{label}{path}: not UTF-8 (byte {exc.start})") from None
