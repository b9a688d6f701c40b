"""websockets' protocol objects with the two checks an inspector needs that they leave out."""

from __future__ import annotations

from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import BINARY, CONT, PING, TEXT, Frame
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from inspector.protocols.utf8 import TextValidator
from inspector.protocols.wslib import deliver, message_in_progress

_CLOSE_CODE_FOR = ((PayloadTooBig, 1009), (UnicodeDecodeError, 1007), (ProtocolError, 1002))


def close_code_for(exc: BaseException) -> int:
    """The close code RFC 6455 §7.4.1 gives for why the library's parser stopped."""
    return next((code for kind, code in _CLOSE_CODE_FOR if isinstance(exc, kind)), 1011)


class _Inspected(Protocol):
    """Validates UTF-8 in text messages and can leave pings unanswered.

    websockets checks UTF-8 only when its I/O layers assemble messages, so the Sans-I/O
    layer lets invalid text through; RFC 6455 §8.1 requires failing the connection with
    1007. Raising UnicodeDecodeError from ``recv_frame`` makes the library's own parser
    fail the connection the way it does for a bad close reason. With ``auto_pong`` off,
    a ping becomes an event without the pong RFC 6455 §5.5.2 asks for, so a person can
    test how a peer treats an endpoint that never answers.
    """

    def __init__(self, *args: Any, auto_pong: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auto_pong = auto_pong
        self.text = TextValidator()
        self.text_error: UnicodeDecodeError | None = None

    def recv_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        try:
            if opcode is TEXT:
                if not message_in_progress(self):
                    self.text.start(frame.data, frame.fin)
            elif opcode is CONT and message_in_progress(self):
                self.text.continue_(frame.data, frame.fin)
        except UnicodeDecodeError as exc:
            self.text_error = exc  # tells bad text apart from a bad close reason
            raise
        if opcode is BINARY:
            if not message_in_progress(self):
                self.text.reset()
        elif opcode is PING and not self.auto_pong:
            deliver(self, frame)
            return
        super().recv_frame(frame)


class InspectedClientProtocol(_Inspected, ClientProtocol):
    """ClientProtocol that validates UTF-8 in text messages and can leave pings unanswered."""


class InspectedServerProtocol(_Inspected, ServerProtocol):
    """ServerProtocol that validates UTF-8 in text messages and can leave pings unanswered."""
