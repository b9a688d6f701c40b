"""Which messages a filter expression picks: the records filter's language, on one payload.

The records filter of the window (text, a regular expression, or tests on decoded
fields such as ``event == "chat" && id != 3``) applied to a message that has no record
yet: the relay's intercept switch uses it to decide which messages to hold. Text and
regex ignore case and search the payload decoded as UTF-8; field tests decode the
payload with the decoder the session's facts choose (``protocols.decoders``) and pass
when every test holds. An empty expression picks every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inspector.protocols.decoders.registry import DecodeContext, choose
from inspector.protocols.decoders.tree import Decoded
from inspector.protocols.decoders.where import Condition, passes

#: Text that is a test on decoded fields rather than a search: NAME then an operator.
_CONDITION_START = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*(==|!=|!~|~)")


class MessageFilterError(ValueError):
    """A filter expression that does not parse; ``str()`` is one line saying why."""


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """A parsed filter expression; :meth:`matches` tests one payload."""

    text: str = ""
    regex: bool = False
    pattern: re.Pattern[str] | None = None
    conditions: tuple[Condition, ...] = ()
    context: DecodeContext = field(default_factory=DecodeContext)

    @classmethod
    def parse(
        cls, text: str, regex: bool = False, context: DecodeContext | None = None
    ) -> MessageFilter:
        """Parse ``text`` as the records filter does; MessageFilterError when it is bad."""
        context = context or DecodeContext()
        if not text.strip():
            return cls(context=context)
        if regex:
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                position = f" at position {exc.pos}" if exc.pos is not None else ""
                raise MessageFilterError(
                    f"invalid regular expression{position}: {exc.msg}"
                ) from None
            return cls(text, True, pattern, context=context)
        parts = text.split("&&")
        if all(_CONDITION_START.match(part) for part in parts):
            try:
                conditions = tuple(Condition.parse(part) for part in parts)
            except ValueError as exc:
                raise MessageFilterError(f"invalid field test: {exc}") from None
            return cls(text, False, None, conditions, context)
        return cls(text, False, None, (), context)

    @property
    def empty(self) -> bool:
        """True when every message passes."""
        return not self.text.strip()

    def with_context(self, context: DecodeContext) -> MessageFilter:
        """The same expression, decoding with a session's facts (subprotocol, target)."""
        return MessageFilter(self.text, self.regex, self.pattern, self.conditions, context)

    def matches(self, payload: bytes) -> bool:
        """True when ``payload`` passes the expression."""
        if self.empty:
            return True
        if self.conditions:
            return passes(list(self.conditions), self._decode(payload))
        haystack = payload.decode("utf-8", errors="replace")
        if self.pattern is not None:
            return self.pattern.search(haystack) is not None
        return self.text.casefold() in haystack.casefold()

    def _decode(self, payload: bytes) -> Decoded | None:
        decoder = choose(self.context, payload)
        if decoder is None:
            return None
        return decoder.run(payload, self.context)
