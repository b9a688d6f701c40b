"""The queue of completed inbound messages a consumer takes (``--echo``, ``--count``).

Every record already holds the message; this queue is only for a consumer that acts on
messages. One that never takes them (a window that shows records) must not make the
session keep its whole traffic in memory, so the queue is bounded: past
:data:`MAX_QUEUED_BYTES` or :data:`MAX_QUEUED_MESSAGES` the oldest messages are let go
and counted in :attr:`MessageQueue.dropped`.
"""

from __future__ import annotations

from collections import deque

#: Bytes of message bodies kept for a consumer that has not taken them yet.
MAX_QUEUED_BYTES = 8 << 20
#: Messages kept for a consumer that has not taken them yet.
MAX_QUEUED_MESSAGES = 10_000


class MessageQueue:
    """Completed inbound messages as (kind, body), oldest first, bounded in size."""

    __slots__ = ("_bytes", "_queue", "dropped", "max_bytes", "max_messages")

    def __init__(
        self, max_bytes: int = MAX_QUEUED_BYTES, max_messages: int = MAX_QUEUED_MESSAGES
    ) -> None:
        self._queue: deque[tuple[str, bytes]] = deque()
        self._bytes = 0
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.dropped = 0

    def append(self, kind: str, body: bytes) -> None:
        """Queue one message; let the oldest go while the queue is over its bounds."""
        self._queue.append((kind, body))
        self._bytes += len(body)
        self._trim()

    def extend(self, messages: list[tuple[str, bytes]], size: int) -> None:
        """Queue several messages of ``size`` bytes in all, as :meth:`append` would."""
        self._queue.extend(messages)
        self._bytes += size
        self._trim()

    def _trim(self) -> None:
        """Let the oldest messages go while the queue is over its bounds."""
        queue = self._queue
        while len(queue) > 1 and (self._bytes > self.max_bytes or len(queue) > self.max_messages):
            _kind, old = queue.popleft()
            self._bytes -= len(old)
            self.dropped += 1

    def take(self) -> list[tuple[str, bytes]]:
        """Every queued message, oldest first; the queue is empty afterwards."""
        messages = list(self._queue)
        self._queue.clear()
        self._bytes = 0
        return messages

    def __len__(self) -> int:
        return len(self._queue)
