"""The records every listening thing writes: a listener's and a relay's own session.

:class:`~inspector.net.listenbase.Listener` and :class:`~inspector.net.relaybase.Relay`
bind, count and end their connections differently, but announce them the same way:
an ERROR when binding fails, LISTENING (and an INFO when every interface is open),
ACCEPTED or REFUSED per connection, and an INFO when one ends.
"""

from __future__ import annotations

from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.certs import ServerTLS
from inspector.net.resolve import family_name


def record_bind_failure(recorder: Recorder, message: str) -> None:
    """The ERROR of a bind that failed (``message`` from ``describe_listen_error``)."""
    recorder.record(Direction.META, Kind.ERROR, fields={"message": message, "phase": "listen"})


def record_listening(
    recorder: Recorder,
    endpoint: Endpoint,
    url: str,
    local: str,
    family: int,
    tls: ServerTLS | None,
    **more: Any,
) -> None:
    """LISTENING with the real address (``more``: max_connections, upstream, …), and an
    INFO when the wildcard address lets other machines in."""
    fields: dict[str, Any] = {"url": url, "local": local, "family": family_name(family), **more}
    if tls is not None:
        fields["cert_sha256"] = tls.fingerprint
        fields["self_signed"] = tls.self_signed
    recorder.record(Direction.META, Kind.LISTENING, fields=fields)
    if endpoint.host in ("0.0.0.0", "::", ""):
        recorder.record(
            Direction.META,
            Kind.INFO,
            fields={"message": "listening on every interface: other machines can connect"},
        )


def record_refused(recorder: Recorder, peer: str, message: str) -> None:
    """REFUSED: a client turned away (``message`` says why, in one line)."""
    recorder.record(Direction.META, Kind.REFUSED, fields={"peer": peer, "message": message})


def record_accepted(recorder: Recorder, number: int, peer: str, local: str) -> None:
    """ACCEPTED: connection (or pair) ``number`` from ``peer``."""
    recorder.record(
        Direction.META, Kind.ACCEPTED, fields={"conn": number, "peer": peer, "local": local}
    )


def record_ended(
    recorder: Recorder, what: str, number: int, peer: str, message: str | None, clean: bool | None
) -> None:
    """The INFO line when connection (or pair) ``number`` ended, and how."""
    recorder.record(
        Direction.META,
        Kind.INFO,
        fields={
            "message": f"{what} {number} ({peer}) ended: {message}",
            "conn": number,
            "peer": peer,
            "clean": clean,
        },
    )
