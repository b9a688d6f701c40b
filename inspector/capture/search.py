"""Text and regular-expression search over record bytes, shared by SQL and in-memory reads.

The same predicate runs as an SQLite function over stored rows and in Python over
records not yet committed, so a search means one thing wherever a record lives.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from inspector.core.errors import CaptureError

Predicate = Callable[[bytes | None], bool]


def make_predicate(text: str | None, regex: str | None, case_sensitive: bool) -> Predicate | None:
    """A test on record bytes (payload, else wire), or None when nothing is searched.

    Bytes are decoded as UTF-8 with errors replaced, so any bytes can be searched. With
    both ``text`` and ``regex``, a record must match both. An invalid regex raises
    CaptureError with the reason on one line.
    """
    if not text and not regex:
        return None
    pattern: re.Pattern[str] | None = None
    if regex:
        try:
            pattern = re.compile(regex, 0 if case_sensitive else re.IGNORECASE)
        except (re.error, OverflowError, RecursionError) as exc:
            raise CaptureError(f"invalid regular expression {regex!r}: {exc}") from None
    # Case-sensitive text is a byte search (the same result as searching the decoded
    # text), unless it holds U+FFFD, which only appears once bad bytes are decoded.
    as_bytes = bool(text) and case_sensitive and "\ufffd" not in text
    needle_bytes = text.encode("utf-8") if text and as_bytes else None
    needle_text = None if not text or as_bytes else text if case_sensitive else text.casefold()

    def predicate(data: bytes | None) -> bool:
        if not isinstance(data, bytes):
            return False
        if needle_bytes is not None and needle_bytes not in data:
            return False
        if needle_text is None and pattern is None:
            return True
        decoded = data.decode("utf-8", "replace")
        if needle_text is not None:
            haystack = decoded if case_sensitive else decoded.casefold()
            if needle_text not in haystack:
                return False
        return pattern is None or pattern.search(decoded) is not None

    return predicate
