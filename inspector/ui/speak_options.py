"""The application-protocol client of a tab's session (``SessionOptions.speak``): a panel
of the Options dialog, and its words in the options summary."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QWidget

from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.protocols.speakers import AUTO, SPEAKER_OPTIONS, check_speak

#: (combo label, the speak option it stands for)
SPEAK_CHOICES: tuple[tuple[str, str | None], ...] = (
    ("None: send only what I send", None),
    ("Chosen as the decoder is (subprotocol, URL, port)", AUTO),
    ("Socket.IO (Engine.IO 4)", "socketio"),
    ("MQTT", "mqtt"),
    ("STOMP", "stomp"),
    ("GraphQL over WebSocket", "graphql"),
    ("SignalR (JSON hub protocol)", "signalr"),
)


def parse_settings(text: str) -> tuple[tuple[str, str], ...]:
    """``key=value, key=value`` (or one per line) into pairs; ValueError naming a bad one."""
    pairs: list[tuple[str, str]] = []
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"Client settings: {part.strip()!r} is not key=value")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


class SpeakOptionsBox(QGroupBox):
    """Which protocol's client the session acts as, and that client's settings."""

    def __init__(self, options: SessionOptions, parent: QWidget | None = None) -> None:
        super().__init__("Application protocol client", parent)
        self.setObjectName("speakOptions")
        form = QFormLayout(self)
        self.protocol = QComboBox()
        self.protocol.setObjectName("speakProtocol")
        self.protocol.setAccessibleName("Act as the client of")
        self.protocol.setToolTip(
            "Send the protocol's opening (CONNECT, connection_init, the namespace connect…),\n"
            "answer its pings and send its keep-alives; all recorded and marked automatic"
        )
        for label, value in SPEAK_CHOICES:
            self.protocol.addItem(label, value)
        values = [value for _label, value in SPEAK_CHOICES]
        self.protocol.setCurrentIndex(values.index(options.speak) if options.speak in values
                                      else 0)  # fmt: skip
        form.addRow("Act as client", self.protocol)
        self.settings = QLineEdit(", ".join(f"{k}={v}" for k, v in options.speak_options))
        self.settings.setObjectName("speakSettings")
        self.settings.setAccessibleName("Client settings")
        self.settings.setPlaceholderText("keepalive=30, client_id=me")
        self.settings.setToolTip("\n".join(f"{name}: {', '.join(keys)}"
                                           for name, keys in SPEAKER_OPTIONS.items()))  # fmt: skip
        form.addRow("Client settings", self.settings)

    def apply(self, options: SessionOptions) -> SessionOptions:
        """``options`` with this panel's choices; ValueError with one line if one is bad."""
        speak = self.protocol.currentData()
        pairs = parse_settings(self.settings.text())
        if speak is None and pairs:
            raise ValueError("Client settings need a protocol client to act as")
        if speak is not None:
            try:
                check_speak(str(speak), dict(pairs))
            except InspectorError as exc:
                raise ValueError(str(exc).replace("--speak ", "")) from None
        return dataclasses.replace(options, speak=speak, speak_options=pairs)


def speak_summary(options: SessionOptions, defaults: SessionOptions) -> list[str]:
    """The words for the protocol client in the connect bar's summary (no password)."""
    if options.speak == defaults.speak or not options.speak:
        return []
    return ["speaks " + ("auto" if options.speak == AUTO else options.speak)]
