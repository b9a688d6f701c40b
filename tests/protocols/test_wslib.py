"""The adapter's hold on websockets: every undocumented attribute it relies on exists.

When a websockets release renames or retypes one, the failure names it, and
inspector/protocols/wslib.py is the one file to change.
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from inspector.protocols import wslib
from inspector.protocols.wslib import RELIED_ON


def _owners() -> dict[str, list[Any]]:
    """Real objects of every kind the adapter reads: both roles, and a deflate extension."""
    return {
        "Protocol": [ClientProtocol(parse_uri("ws://127.0.0.1/")), ServerProtocol()],
        "PerMessageDeflate": [PerMessageDeflate(False, False, 15, 15)],
    }


@pytest.mark.parametrize("attribute", RELIED_ON, ids=lambda a: f"{a.owner}.{a.path}")
def test_each_private_attribute_exists_with_its_type(attribute: wslib.Attribute) -> None:
    for owner in _owners()[attribute.owner]:
        value: Any = owner
        for part in attribute.path.split("."):
            assert hasattr(value, part), (
                f"websockets changed: {type(owner).__name__}.{attribute.path} is gone "
                "(update inspector/protocols/wslib.py)"
            )
            value = getattr(value, part)
        assert isinstance(value, attribute.types), (
            f"websockets changed: {type(owner).__name__}.{attribute.path} is now "
            f"{type(value).__name__}, not {'/'.join(t.__name__ for t in attribute.types)} "
            "(update inspector/protocols/wslib.py)"
        )


def test_the_adapter_reads_the_state_it_names() -> None:
    """The attributes change as documented in wslib when a fragmented message arrives."""
    client = Protocol(Side.CLIENT, max_size=(1000, 100))  # OPEN: reads frames at once
    assert wslib.at_frame_start(client) and not wslib.message_in_progress(client)
    assert wslib.size_limit(client) == 100
    client.receive_data(Frame(Opcode.TEXT, b"part", fin=False).serialize(mask=False))
    assert wslib.message_in_progress(client) and not wslib.at_frame_start(client)
    client.receive_data(b"\x81")  # half the header of a new text frame
    assert wslib.parser_error(client) is None
    client.receive_data(Frame(Opcode.TEXT, b"x", fin=True).serialize(mask=False)[1:])
    assert isinstance(wslib.parser_error(client), Exception)  # text where CONT was due


def test_failing_as_the_parser_would_holds_the_error_and_queues_the_close() -> None:
    client = Protocol(Side.CLIENT)
    exc = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    wslib.fail_as_parser(client, exc)
    assert wslib.parser_error(client) is exc
    (close,) = client.data_to_send()
    assert close[0] == 0x88 and client.close_sent is not None
    assert client.close_sent.code == 1007
    assert wslib.peer_closed_first(client) is False
