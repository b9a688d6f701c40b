"""STOMP 1.2 as a client: its frames, and the client's side.

The client opens with CONNECT (or STOMP) and is ready once CONNECTED comes; an ERROR
frame is the server's refusal or complaint, one line from its ``message`` header. Both
sides offer heart-beats in ``heart-beat: cx,cy`` (ms); the client sends an EOL every
``max(cx, sy)`` ms when both it and the server agreed to (STOMP 1.2 "Heart-beating").
Over TCP the frames of the stream are cut at their NUL (or ``content-length``).
"""

from __future__ import annotations

import re

from inspector.core.errors import UsageError
from inspector.protocols.speakers.base import NOTHING, Heard, Outgoing, SpeakOptions

OPTIONS = ("host", "login", "passcode", "heart_beat", "accept_version", "command")
#: The most bytes held of an unfinished frame before the conversation is given up.
MAX_PENDING = 1 << 20
_UNESCAPES = {"n": "\n", "r": "\r", "c": ":", "\\": "\\"}
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", ":": "\\c"})


def frame(command: str, headers: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
          body: bytes = b"") -> bytes:  # fmt: skip
    """One frame: the command, headers (escaped as 1.2 says, except in CONNECT), a blank
    line, the body and NUL; a body gets its ``content-length``."""
    if not command or "\n" in command:
        raise UsageError(f"{command!r} is not a STOMP command")
    escape = command not in ("CONNECT", "CONNECTED")
    lines = [command]
    names = {name for name, _ in headers}
    for name, value in headers:
        if not escape and ("\n" in name + value or ":" in name):
            raise UsageError(f"the {command} header {name!r} cannot hold ':' or a newline")
        lines.append(f"{name.translate(_ESCAPES)}:{value.translate(_ESCAPES)}" if escape
                     else f"{name}:{value}")  # fmt: skip
    if body and "content-length" not in names:
        lines.append(f"content-length:{len(body)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8") + bytes(body) + b"\0"


def connect(host: str, login: str | None = None, passcode: str | None = None,
            heart_beat: str = "10000,10000", accept_version: str = "1.0,1.1,1.2",
            command: str = "CONNECT") -> bytes:  # fmt: skip
    """A CONNECT (or STOMP) frame."""
    headers = [("accept-version", accept_version), ("host", host)]
    if login is not None:
        headers.append(("login", login))
    if passcode is not None:
        headers.append(("passcode", passcode))
    if heart_beat:
        headers.append(("heart-beat", heart_beat))
    return frame(command, headers)


def send(destination: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (),
         receipt: str | None = None) -> bytes:  # fmt: skip
    """A SEND frame to ``destination``."""
    extra = [("receipt", receipt)] if receipt else []
    return frame("SEND", [("destination", destination), *headers, *extra], body)


def subscribe(
    destination: str,
    ident: str,
    ack: str = "auto",
    headers: tuple[tuple[str, str], ...] = (),
    receipt: str | None = None,
) -> bytes:
    """A SUBSCRIBE frame."""
    extra = [("receipt", receipt)] if receipt else []
    return frame("SUBSCRIBE", [("destination", destination), ("id", ident), ("ack", ack),
                               *headers, *extra])  # fmt: skip


def unsubscribe(ident: str, receipt: str | None = None) -> bytes:
    """An UNSUBSCRIBE frame."""
    return frame("UNSUBSCRIBE", [("id", ident), *([("receipt", receipt)] if receipt else [])])


def disconnect(receipt: str | None = None) -> bytes:
    """A DISCONNECT frame."""
    return frame("DISCONNECT", [("receipt", receipt)] if receipt else [])


def heart_beat_pair(text: str) -> tuple[int, int]:
    """``"cx,cy"`` as two non-negative integers (ms)."""
    parts = text.split(",")
    try:
        pair = (int(parts[0]), int(parts[1])) if len(parts) == 2 else None
    except ValueError:
        pair = None
    if pair is None or min(pair) < 0:
        raise UsageError(f"a STOMP heart-beat is 'cx,cy' in milliseconds (not {text!r})")
    return pair


class StompSpeaker:
    """The client side of STOMP (see the module docstring)."""

    name = "stomp"

    def __init__(self, options: SpeakOptions, host: str, websocket: bool) -> None:
        self.host = options.text("host", host or "localhost")
        self.login = options.optional("login")
        self.passcode = options.optional("passcode")
        self.heart_beat = options.text("heart_beat", "10000,10000")
        self.offer = heart_beat_pair(self.heart_beat) if self.heart_beat else (0, 0)
        self.accept_version = options.text("accept_version", "1.0,1.1,1.2")
        self.command = options.text("command", "CONNECT").upper()
        if self.command not in ("CONNECT", "STOMP"):
            raise UsageError("--speak stomp: command is CONNECT or STOMP")
        self.text = websocket  # STOMP over WebSocket goes in text messages
        self.ready = False
        self.interval: float | None = None
        self._buffer = bytearray()
        #: The receipt asked for by the user's DISCONNECT: its RECEIPT ends the session.
        self._goodbye: str | None = None

    def opening(self) -> list[Outgoing]:
        """CONNECT (or STOMP) with the heart-beats offered."""
        data = connect(self.host, self.login, self.passcode, self.heart_beat,
                       self.accept_version, self.command)  # fmt: skip
        return [Outgoing(data, self.text)]

    def receive(self, payload: bytes, text: bool) -> Heard:
        """Take the frames of a message or read: CONNECTED sets the heart-beat, ERROR
        is the server's complaint."""
        del text
        buffer = self._buffer
        buffer += payload
        error: str | None = None
        while error is None:
            while buffer[:1] in (b"\n", b"\r"):  # heart-beats between frames
                del buffer[:1]
            found = _whole_frame(buffer)
            if found is None:
                break
            command, headers, body, end = found
            del buffer[:end]
            if command == "CONNECTED":
                self.ready = True
                self._agree(headers.get("heart-beat", "0,0"))
            elif command == "RECEIPT" and self._goodbye is not None and (
                headers.get("receipt-id") == self._goodbye):  # fmt: skip
                return Heard(done=True)
            elif command == "ERROR":
                why = headers.get("message") or body.decode("utf-8", "replace").strip()
                why = " ".join(why.split())[:200] or "(no message)"
                error = f"the STOMP server sent ERROR: {why}"
        if error is None and len(buffer) > MAX_PENDING:
            error = f"the STOMP server sent over {MAX_PENDING} bytes of an unfinished frame"
        return Heard(error=error) if error else NOTHING

    def sent(self, payload: bytes) -> None:
        """Remember the receipt of a DISCONNECT: the client closes once it comes (1.2)."""
        head = payload.lstrip(b"\r\n")
        if not head.startswith(b"DISCONNECT"):
            return
        found = _whole_frame(bytearray(head))
        if found is not None and found[0] == "DISCONNECT" and found[1].get("receipt"):
            self._goodbye = found[1]["receipt"]

    def _agree(self, server: str) -> None:
        """The client's heart-beat period from both offers (0 on either side: none)."""
        try:
            _sx, sy = heart_beat_pair(server)
        except UsageError:
            return
        cx = self.offer[0]
        self.interval = max(cx, sy) / 1000 if cx and sy else None

    def keepalive_interval(self) -> float | None:
        """The agreed heart-beat period, once CONNECTED came."""
        return self.interval

    def keepalive(self) -> list[Outgoing]:
        """One EOL: a heart-beat."""
        return [Outgoing(b"\n", self.text)]


def _unescape(value: str) -> str:
    """A header value as STOMP 1.2 escapes it, read back (an unknown escape kept)."""
    if "\\" not in value:
        return value
    return re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(0)), value)


def _whole_frame(buffer: bytearray) -> tuple[str, dict[str, str], bytes, int] | None:
    """(command, headers, body, end) of the whole frame at the start of ``buffer``."""
    head_end = buffer.find(b"\n\n")
    crlf = buffer.find(b"\r\n\r\n")
    if crlf >= 0 and (head_end < 0 or crlf < head_end):
        head_end, gap = crlf, 4
    else:
        gap = 2
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    headers: dict[str, str] = {}
    escaped = lines[0].strip() not in ("CONNECT", "CONNECTED")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name, _unescape(value) if escaped else value)
    start = head_end + gap
    length = headers.get("content-length", "")
    if length.isdigit():
        end = start + int(length)
        if len(buffer) <= end:
            return None
    else:
        end = buffer.find(b"\0", start)
        if end < 0:
            return None
    return lines[0].strip(), headers, bytes(buffer[start:end]), end + 1
