"""cli.heap: asking the C library to keep freed memory never fails a command."""

from __future__ import annotations

import sys

from inspector.cli.heap import keep_freed_memory


def test_keeping_freed_memory_is_asked_for_on_linux_and_harmless_twice() -> None:
    first = keep_freed_memory()
    assert keep_freed_memory() == first
    if sys.platform.startswith("linux") and "musl" not in sys.version:
        assert first is True
