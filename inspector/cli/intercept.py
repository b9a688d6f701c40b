"""``inspector relay --intercept``: held messages printed one line each, commands on stdin.

Each held message is printed as ``held #ID  #CONN c2s text 5 B  hello`` (with ``--json``,
one JSON object with ``"kind": "intercept"`` and ``"event": "held"``, beside the records'
objects); the user answers on stdin, one command a
line (see :data:`HELP`). Each resolution is printed too (``#ID forwarded``, ``#ID
dropped: …``). A command that cannot be done is one line on stderr and the relay goes
on. End of stdin forwards everything still held and turns intercept off, so a relay fed
by a pipe or a file never holds a message for good.

Lines are read by a daemon thread (stdin may be a terminal, a pipe or a file, and a
blocked read must not keep the process alive) and handled on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from inspector.core.errors import InspectorError
from inspector.net.intercept import (
    HeldMessage,
    InterceptMode,
    InterceptObserver,
    Interceptor,
    MessageFilterError,
    MessageKind,
    Resolution,
    Way,
)

HELP = """\
intercept commands (one a line; ID is a held message's number):
  f ID            forward it unchanged          fa   forward every held message
  e ID TEXT       send TEXT in its place        da   drop every held message
  eb ID HEX       send these bytes in its place l    list the held messages
  d ID            drop it                       help this text
  i c2s|s2c [#CONN] TEXT    inject TEXT (to the server for c2s, to the client for s2c)
  ib c2s|s2c [#CONN] HEX    inject bytes (a binary message on WebSocket)
  on c2s|s2c|both|off       change which way is held
  filter [EXPR]             hold only what EXPR picks (empty: every message)
TEXT takes \\n, \\r, \\t, \\\\ and \\xNN escapes. End of input forwards what is held."""


class CommandError(ValueError):
    """A command line that cannot be done; ``str()`` is the one line to show."""


@dataclass(frozen=True, slots=True)
class Command:
    """One parsed command line: its verb and arguments."""

    verb: str
    ids: tuple[int, ...] = ()
    way: Way | None = None
    conn: int | None = None
    payload: bytes = b""
    binary: bool = False
    text: str = ""


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[nrt0\\])")
_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\"}
_VERBS = {
    "f": "forward", "forward": "forward", "e": "edit", "edit": "edit", "eb": "edit-bytes",
    "d": "drop", "drop": "drop", "fa": "forward-all", "da": "drop-all", "l": "list",
    "list": "list", "i": "inject", "inject": "inject", "ib": "inject-bytes", "on": "on",
    "filter": "filter", "help": "help", "h": "help", "?": "help",
}  # fmt: skip


def unescape(text: str) -> bytes:
    """TEXT with backslash escapes (\\n, \\r, \\t, \\0, \\\\, \\xNN) as bytes; the rest
    as UTF-8, and an unknown escape as typed."""
    out = bytearray()
    pos = 0
    for found in _ESCAPE.finditer(text):
        out += text[pos : found.start()].encode("utf-8")
        code = found.group(1)
        out += bytes([int(code[1:], 16)]) if code[0] == "x" else _ESCAPES[code]
        pos = found.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def _hex(text: str) -> bytes:
    digits = "".join(ch for ch in text if not (ch.isspace() or ch == ":"))
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise CommandError(f"{text!r} is not hex (two digits a byte, e.g. '01 ff')") from None


def _id(text: str) -> int:
    value = text.lstrip("#")
    if not value.isdigit():
        raise CommandError(f"{text!r} is not a held message's number")
    return int(value)


def parse_command(line: str) -> Command | None:
    """Parse one line; None for a blank one, CommandError for a bad one."""
    stripped = line.strip()
    if not stripped:
        return None
    word, _, rest = stripped.partition(" ")
    verb = _VERBS.get(word.lower())
    if verb is None:
        raise CommandError(f"unknown command {word!r}: type help")
    rest = rest.strip()
    if verb in ("forward", "drop"):
        if not rest:
            raise CommandError(f"{word} needs a held message's number: {word} ID")
        return Command(verb, tuple(_id(part) for part in rest.split()))
    if verb in ("edit", "edit-bytes"):
        number, _, body = rest.partition(" ")
        if not number or not body:
            raise CommandError(f"{word} needs a number and the new content: {word} ID TEXT")
        payload = _hex(body) if verb == "edit-bytes" else unescape(body)
        return Command("edit", (_id(number),), payload=payload, binary=verb == "edit-bytes")
    if verb in ("inject", "inject-bytes"):
        way_text, _, body = rest.partition(" ")
        if way_text not in ("c2s", "s2c"):
            raise CommandError(f"{word} needs a way first: {word} c2s|s2c [#CONN] TEXT")
        conn = None
        body = body.strip()
        if body.startswith("#"):
            number, _, body = body.partition(" ")
            conn = _id(number)
        if not body:
            raise CommandError(f"{word} needs something to send: {word} {way_text} TEXT")
        binary = verb == "inject-bytes"
        payload = _hex(body) if binary else unescape(body)
        return Command("inject", way=Way(way_text), conn=conn, payload=payload, binary=binary)
    if verb == "on":
        if rest not in ("c2s", "s2c", "both", "off"):
            raise CommandError("on needs c2s, s2c, both or off")
        return Command("on", text=rest)
    if verb == "filter":
        return Command("filter", text=rest)
    if rest:
        raise CommandError(f"{word} takes nothing after it")
    return Command(verb)


def held_line(message: HeldMessage) -> str:
    """One held message as the console shows it."""
    size = len(message.payload)
    return (
        f"held #{message.id}  #{message.conn} {message.way} {message.kind} {size} B  "
        f"{message.preview()}"
    )


def resolution_line(resolution: Resolution) -> str:
    """What became of a held message, in one line."""
    return f"#{resolution.message.id} {resolution.reason}"


class InterceptConsole(InterceptObserver):
    """Prints held messages and resolutions; runs the commands typed on stdin."""

    def __init__(
        self,
        interceptor: Interceptor,
        out: Callable[[str], None],
        err: TextIO,
        *,
        as_json: bool = False,
        before_print: Callable[[], None] = lambda: None,
    ) -> None:
        self.interceptor = interceptor
        self._out = out
        self._err = err
        self._json = as_json
        self._before = before_print
        self._lines: asyncio.Queue[str | None] | None = None
        self._task: asyncio.Task[None] | None = None
        interceptor.subscribe(self)

    # -- observer ----------------------------------------------------------------

    def held(self, message: HeldMessage) -> None:
        self._before()
        if self._json:
            self._emit_json(
                {
                    "kind": "intercept",
                    "event": "held",
                    "id": message.id,
                    "conn": message.conn,
                    "way": str(message.way),
                    "type": str(message.kind),
                    "size": len(message.payload),
                    "preview": message.preview(),
                }
            )
        else:
            self._out(held_line(message) + "\n")

    def resolved(self, resolution: Resolution) -> None:
        if self._json:
            self._emit_json(
                {
                    "kind": "intercept",
                    "event": str(resolution.outcome),
                    "id": resolution.message.id,
                    "conn": resolution.message.conn,
                    "reason": resolution.reason,
                }
            )
        else:
            self._out(resolution_line(resolution) + "\n")

    def not_sent(self, conn: int, way: Way, line: str) -> None:
        if self._json:
            self._emit_json(
                {
                    "kind": "intercept",
                    "event": "not_sent",
                    "conn": conn,
                    "way": str(way),
                    "reason": line,
                }
            )
        else:
            self._out(f"#{conn} {line}\n")

    def _emit_json(self, obj: dict[str, Any]) -> None:
        self._out(json.dumps(obj, ensure_ascii=False) + "\n")

    # -- input -------------------------------------------------------------------

    def start(self, stream: TextIO | None = None) -> None:
        """Read commands from ``stream`` (stdin) on a daemon thread from now on."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._lines = lines
        source = stream if stream is not None else sys.stdin

        def read() -> None:
            try:
                for line in source:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError):
                pass
            finally:
                with contextlib.suppress(RuntimeError):  # the loop is gone: relay stopped
                    loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="intercept-stdin", daemon=True).start()
        self._task = loop.create_task(self._consume(lines))

    def stop(self) -> None:
        """Stop handling commands (the reading thread dies with the process)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _consume(self, lines: asyncio.Queue[str | None]) -> None:
        while True:
            line = await lines.get()
            if line is None:
                self.end_of_input()
                return
            self.handle(line)

    def end_of_input(self) -> None:
        """stdin ended: forward what is held and stop holding."""
        self.interceptor.set_mode(InterceptMode.OFF)
        count = len(self.interceptor.forward_all())
        self._err.write(
            f"intercept: end of input: forwarded {count} held message"
            f"{'' if count == 1 else 's'}, intercept off\n"
        )
        self._err.flush()

    def handle(self, line: str) -> None:
        """Run one command line; a problem is one line on stderr."""
        try:
            command = parse_command(line)
            if command is not None:
                self._run(command)
        except (CommandError, InspectorError, MessageFilterError) as exc:
            self._err.write(f"intercept: {exc}\n")
            self._err.flush()

    def _run(self, command: Command) -> None:
        interceptor = self.interceptor
        verb = command.verb
        if verb == "forward":
            for number in command.ids:
                interceptor.forward(number)
        elif verb == "drop":
            for number in command.ids:
                interceptor.drop(number)
        elif verb == "edit":
            (number,) = command.ids
            held = interceptor.get(number)
            kind = None
            if command.binary and held.kind is MessageKind.TEXT:
                kind = MessageKind.BINARY
            interceptor.edit(number, command.payload, kind)
        elif verb == "forward-all":
            interceptor.forward_all()
        elif verb == "drop-all":
            interceptor.drop_all()
        elif verb == "inject":
            self._inject(command)
        elif verb == "list":
            held = interceptor.queue
            lines = [held_line(m) for m in held] or ["nothing is held"]
            self._out("\n".join(lines) + "\n")
        elif verb == "on":
            interceptor.set_mode(command.text)
            self._err.write(f"intercept: {command.text}\n")
        elif verb == "filter":
            interceptor.set_filter(command.text)
            shown = command.text or "(every message)"
            self._err.write(f"intercept: filter {shown}\n")
        else:
            self._err.write(HELP + "\n")
        self._err.flush()

    def _inject(self, command: Command) -> None:
        interceptor = self.interceptor
        open_ = interceptor.connections()
        conn = command.conn
        if conn is None:
            if not open_:
                raise CommandError("no connection is open to inject into")
            if len(open_) > 1:
                listed = ", ".join(f"#{c}" for c in open_)
                raise CommandError(f"{len(open_)} connections are open ({listed}): say which, "
                                   f"e.g. i {command.way} #{open_[-1]} TEXT")  # fmt: skip
            conn = open_[0]
        assert command.way is not None
        kind = None
        if command.binary and MessageKind.BINARY in interceptor.kinds_of(conn):
            kind = MessageKind.BINARY
        interceptor.inject(conn, command.way, command.payload, kind)
        size = len(command.payload)
        self._err.write(f"intercept: injected {size} B into #{conn} {command.way}\n")
