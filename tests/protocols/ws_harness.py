"""An in-memory pair: our WebSocketConnection against websockets' ServerProtocol.

No sockets: bytes written by one side are fed to the other. ``bytewise=True`` feeds
every read to the client one byte at a time, so each test runs both ways.
"""

from __future__ import annotations

from typing import Any

from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.server import ServerProtocol

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.session import record_closed
from inspector.protocols.ws import WebSocketConnection

URL = "ws://127.0.0.1:8765/chat?room=1"


class Pair:
    """A client under test wired to a real websockets server protocol object."""

    def __init__(
        self,
        options: SessionOptions | None = None,
        *,
        bytewise: bool = False,
        server_compression: bool = True,
        server_subprotocols: list[str] | None = None,
    ) -> None:
        self.options = options or SessionOptions()
        self.recorder = Recorder()
        self.client = WebSocketConnection(parse_endpoint(URL), self.options, self.recorder)
        self.server = ServerProtocol(
            extensions=[ServerPerMessageDeflateFactory()] if server_compression else None,
            subprotocols=server_subprotocols,  # type: ignore[arg-type]
            max_size=None,
        )
        self.bytewise = bytewise
        self.t_ns = 1_000
        self.server_events: list[Any] = []
        self.written: list[bytes] = []
        self._closed_written = False

    # -- moving bytes ------------------------------------------------------------

    def to_client(self, data: bytes) -> bytes:
        """Feed bytes to the client as one read (or byte by byte); deliver its answer."""
        self.t_ns += 1_000
        out = b""
        if self.bytewise:
            for i in range(len(data)):
                out += self.client.receive_data(data[i : i + 1], self.t_ns)
        else:
            out = self.client.receive_data(data, self.t_ns)
        if out:
            self.to_server(out)
        return out

    def to_server(self, data: bytes) -> None:
        """Deliver bytes the client wrote to the server."""
        self.written.append(data)
        self.server.receive_data(data)
        self.server_events.extend(self.server.events_received())

    def server_out(self) -> bytes:
        """What the server queued to write (its EOF marker dropped)."""
        return b"".join(self.server.data_to_send())

    def flush_server(self) -> bytes:
        """Send whatever the server queued to the client."""
        data = self.server_out()
        return self.to_client(data) if data else b""

    def send(self, data: bytes) -> None:
        """Write bytes the client's send_* returned."""
        self.to_server(data)

    # -- steps -------------------------------------------------------------------

    def handshake(self) -> None:
        """Run the opening handshake; the server accepts the request."""
        request_bytes = self.client.start(self.t_ns)
        self.to_server(request_bytes)
        request = self.server_events.pop(0)
        response = self.server.accept(request)
        self.server.send_response(response)
        self.flush_server()

    def server_frames(self) -> list[Frame]:
        """Frames the server received since the last call."""
        frames = [e for e in self.server_events if isinstance(e, Frame)]
        self.server_events = [e for e in self.server_events if not isinstance(e, Frame)]
        return frames

    def records(self) -> list[Record]:
        """The records made since the last call; once the client ended, its CLOSED
        record, written from its ending as the session writes it."""
        ending = self.client.ending
        if ending is not None and not self._closed_written:
            self._closed_written = True
            record_closed(self.recorder, ending, self.t_ns, 0)
        return self.recorder.drain()


def of_kind(records: list[Record], kind: Kind, direction: Direction | None = None) -> list[Record]:
    """The records of one kind (and direction)."""
    return [
        r for r in records if r.kind is kind and (direction is None or r.direction is direction)
    ]
