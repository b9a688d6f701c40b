"""Decode as…: a tab's choice of payload decoder, and the decoded records it caches.

:class:`ViewDecoding` holds one records view's choice ("Automatic", a registered
decoder, or "None", as Wireshark's "Decode As…" does), the session's facts learnt from
its handshake, and a small cache of decoded records. It decodes only what is shown,
filtered or paired, never on the receive path. :func:`fill_decode_menu` builds the
checkable menu the table's context menu and the Session menu share.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from inspector.core.records import Kind, Record
from inspector.protocols.decoders import AUTO, Decoded, Exchange, decoders
from inspector.protocols.decoders.session import SessionDecoder, context_for

#: "Decode as" choice that decodes nothing.
NONE = "none"
#: Decoded records kept per view (the rows on screen and the selected record).
CACHE_SIZE = 2048


def choices() -> list[tuple[str, str]]:
    """(name, menu text) of every choice: Automatic, each registered decoder, None."""
    named = sorted(decoders().values(), key=lambda d: d.name)
    return [
        (AUTO, "Automatic"),
        *((d.name, f"{d.name} — {d.title}") for d in named),
        (NONE, "None"),
    ]


class ViewDecoding:
    """One view's decoder choice, the session's facts, and decoded records by seq."""

    def __init__(self, choice: str = AUTO) -> None:
        self._choice = choice
        self._endpoint = ""
        self._scheme = ""
        self._framing = ""
        self._speak = ""
        self._handshakes: list[Record] = []
        self._cache: OrderedDict[int, Decoded | None] = OrderedDict()
        self._decoder: SessionDecoder | None = None
        self._rebuild()

    @property
    def choice(self) -> str:
        """``auto``, a decoder's name, or ``none``."""
        return self._choice

    @property
    def chosen(self) -> str:
        """The decoder in use: a name, "by content" (automatic, per payload) or "none"."""
        return self._decoder.chosen if self._decoder is not None else NONE

    @property
    def settled(self) -> bool:
        """True when one decoder reads the whole session (chosen by hand or by its facts)."""
        return self._decoder is not None and self.chosen != "by content"

    def set_choice(self, choice: str) -> None:
        """Decode with ``choice`` from now on (forgets what was decoded)."""
        self._choice = choice
        self._rebuild()

    def set_session(self, endpoint: str, scheme: str) -> None:
        """The session's endpoint text and scheme (host, port and URL choose a decoder)."""
        self._endpoint, self._scheme = endpoint, scheme
        self._handshakes = []
        self._rebuild()

    def set_framing(self, framing: str) -> None:
        """The session's stream framing (``mqtt`` chooses the MQTT decoder)."""
        if framing != self._framing:
            self._framing = framing
            self._rebuild()

    def set_speak(self, speak: str) -> None:
        """The protocol the session speaks as a client (``stomp`` chooses the STOMP
        decoder; ``auto`` follows the facts)."""
        if speak != self._speak:
            self._speak = speak
            self._rebuild()

    def observe(self, record: Record) -> None:
        """Learn the session's facts (target, subprotocol) from a handshake record."""
        if record.kind is Kind.HANDSHAKE:
            self._handshakes.append(record)
            self._rebuild()

    def session_decoder(self) -> SessionDecoder | None:
        """A fresh decoder for reading the session in order (pairing), or None."""
        if self._choice == NONE:
            return None
        try:
            decoder = SessionDecoder(
                self._choice,
                context_for(self._endpoint, self._scheme, framing=self._framing, speak=self._speak),
            )
        except KeyError:  # a plugin decoder that is gone
            decoder = SessionDecoder(AUTO, context_for(self._endpoint, self._scheme))
        for record in self._handshakes:
            decoder.observe(record)
        return decoder

    def _rebuild(self) -> None:
        self._cache.clear()
        self._decoder = self.session_decoder()

    def decode(self, record: Record) -> Decoded | None:
        """The record decoded (cached), or None when nothing decodes it."""
        cache = self._cache
        if record.seq in cache:
            cache.move_to_end(record.seq)
            return cache[record.seq]
        decoder = self._decoder
        decoded = None
        if decoder is not None and record.kind is not Kind.HANDSHAKE:
            decoded = decoder.decode(record)
        cache[record.seq] = decoded
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return decoded

    def summary(self, record: Record) -> str | None:
        """The decoder's one-line summary for the preview column, when the session has
        one decoder (a payload merely recognised as JSON keeps its plain preview)."""
        if not self.settled:
            return None
        decoded = self.decode(record)
        return decoded.summary if decoded is not None else None

    def exchanges(self, record: Record) -> tuple[Exchange, ...]:
        """The pairing ids of a record already decoded for display."""
        decoded = self.decode(record)
        return decoded.exchanges if decoded is not None else ()


def fill_decode_menu(menu: QMenu, decoding: ViewDecoding, choose: Callable[[str], None]) -> None:
    """Fill ``menu`` with the checkable "Decode as" choices; ``choose(name)`` applies one."""
    menu.clear()
    group = QActionGroup(menu)
    group.setExclusive(True)
    listed = choices()
    for name, text in listed:
        action = QAction(text, menu)
        action.setCheckable(True)
        action.setChecked(name == decoding.choice)
        action.setData(name)
        action.setObjectName(f"decodeAs_{name}")
        action.triggered.connect(lambda _=False, n=name: choose(n))
        group.addAction(action)
        menu.addAction(action)
        if name == AUTO or name == listed[-2][0]:
            menu.addSeparator()
