"""Acting as an application protocol's client: openings, answers and keep-alives.

Each module holds one protocol's message builders (used by the composer and ``probe
--send-as`` too) and its :class:`~inspector.protocols.speakers.base.Speaker`.
:func:`make_speaker` makes the speaker a session asks for, by the decoder's name;
``auto`` picks it as the decoder is picked (subprotocol, URL, port, framing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inspector.core.errors import UsageError
from inspector.protocols.speakers import graphql, mqtt, signalr, socketio, stomp
from inspector.protocols.speakers.base import Heard, Outgoing, Speaker, SpeakOptions

#: The name that asks for the speaker of the decoder chosen for the session.
AUTO = "auto"

#: The options each speaker takes (``--speak-option KEY=VALUE``).
SPEAKER_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "socketio": socketio.OPTIONS,
    "mqtt": mqtt.OPTIONS,
    "stomp": stomp.OPTIONS,
    "graphql": graphql.OPTIONS,
    "signalr": signalr.OPTIONS,
}


@dataclass(frozen=True, slots=True)
class SpeakContext:
    """What a speaker may know of its session: the host, the negotiated subprotocol,
    and whether it runs over WebSocket (text messages) or a stream."""

    host: str = ""
    subprotocol: str | None = None
    websocket: bool = True


def speaker_names() -> list[str]:
    """Every name ``--speak`` takes, "auto" first."""
    return [AUTO, *sorted(SPEAKER_OPTIONS)]


def check_speak(name: str, pairs: Mapping[str, str]) -> None:
    """Raise UsageError (one line) for an unknown speaker or option, before connecting."""
    if name == AUTO:
        return
    make_speaker(name, pairs, SpeakContext())


def make_speaker(name: str, pairs: Mapping[str, str], context: SpeakContext) -> Speaker:
    """The speaker called ``name`` with its options; UsageError for a bad name or option."""
    known = SPEAKER_OPTIONS.get(name)
    if known is None:
        raise UsageError(f"no protocol client {name!r} (known: {', '.join(speaker_names())})")
    options = SpeakOptions(name, pairs, known)
    if name == "socketio":
        return socketio.SocketIOSpeaker(options)
    if name == "mqtt":
        return mqtt.MqttSpeaker(options)
    if name == "stomp":
        return stomp.StompSpeaker(options, context.host, context.websocket)
    if name == "graphql":
        return graphql.GraphQLSpeaker(options, context.subprotocol)
    return signalr.SignalRSpeaker(options)


__all__ = [
    "AUTO",
    "SPEAKER_OPTIONS",
    "Heard",
    "Outgoing",
    "SpeakContext",
    "SpeakOptions",
    "Speaker",
    "check_speak",
    "make_speaker",
    "speaker_names",
]
