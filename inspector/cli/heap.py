"""Keep freed memory in the process while a command streams a big file through it.

``show`` and ``export`` build and drop a few megabytes of text per page. glibc gives
heap memory back to the system as soon as the top of the heap is free and hands
blocks over 128 KiB out as fresh mappings, so every page faults its memory in again:
measured, 380,000 page faults and a third of the CPU time of ``show --json`` of a
million records. Asking the allocator to keep 64 MiB of slack makes the next page
reuse the last one's memory. Elsewhere (another C library, no ctypes) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from contextlib import suppress

#: mallopt parameters (glibc malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_SLACK = 64 << 20


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep up to 64 MiB of freed memory; True when it did."""
    if not sys.platform.startswith("linux"):
        return False
    with suppress(OSError, AttributeError, TypeError, ValueError):
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
        params = (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD, _M_TOP_PAD)
        done = [mallopt(param, _SLACK) for param in params]  # each, whatever the others do
        return all(result == 1 for result in done)
    return False
