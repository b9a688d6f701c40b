"""Incremental UTF-8 validation of text messages split across frames (RFC 6455 §8.1)."""

from __future__ import annotations

import codecs

_Decoder = codecs.getincrementaldecoder("utf-8")


class TextValidator:
    """Checks one text message at a time, fragment by fragment.

    RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
    that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
    _Fail the WebSocket Connection_." A character may be split between fragments, so the
    decoder keeps the unfinished bytes; invalid bytes raise at once, without waiting
    for the message to end. Raises :class:`UnicodeDecodeError`.
    """

    __slots__ = ("_decoder",)

    def __init__(self) -> None:
        self._decoder: codecs.IncrementalDecoder | None = None

    def start(self, data: bytes | bytearray, fin: bool) -> None:
        """The first frame of a text message."""
        if fin:
            self._decoder = None
            codecs.utf_8_decode(data, "strict", True)
        else:
            self._decoder = _Decoder()
            self._decoder.decode(data, False)

    def continue_(self, data: bytes | bytearray, fin: bool) -> None:
        """A continuation frame; ignored unless a text message is in progress."""
        decoder = self._decoder
        if decoder is None:
            return
        if fin:
            self._decoder = None
        decoder.decode(data, fin)

    def reset(self) -> None:
        """A binary message started: no text is in progress."""
        self._decoder = None

    @property
    def in_progress(self) -> bool:
        """True between the first and the last frame of a text message."""
        return self._decoder is not None
