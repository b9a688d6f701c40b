"""The permessage-deflate offer written as in the header (RFC 7692 §7.1)."""

from __future__ import annotations

import pytest
from ws_harness import Pair

from inspector.core.options import SessionOptions
from inspector.protocols.deflate import parse_deflate_offer
from inspector.protocols.ws import WebSocketSendError


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("", {"client_max_window_bits": None}),
        ("client_max_window_bits", {"client_max_window_bits": True}),
        (
            " Client_No_Context_Takeover ;server_max_window_bits=10",
            {
                "client_max_window_bits": None,
                "client_no_context_takeover": True,
                "server_max_window_bits": 10,
            },
        ),
        ('client_max_window_bits="12"; server_no_context_takeover',
         {"client_max_window_bits": 12, "server_no_context_takeover": True}),
    ],
)  # fmt: skip
def test_offers_parse_to_websockets_arguments(text: str, kwargs: dict[str, object]) -> None:
    assert parse_deflate_offer(text) == kwargs


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("server_max_window_bits", "needs a number from 8 to 15"),
        ("client_max_window_bits=8", "from 9 to 15"),
        ("server_max_window_bits=16", "from 8 to 15"),
        ("client_no_context_takeover=1", "takes no value"),
        ("client_no_context_takeover; client_no_context_takeover", "given twice"),
        ("x-webkit-deflate", "unknown permessage-deflate parameter 'x-webkit-deflate'"),
    ],
)
def test_bad_offers_are_one_line(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as info:
        parse_deflate_offer(text)
    assert "\n" not in str(info.value)


def test_the_offer_is_sent_and_what_the_server_accepts_is_used() -> None:
    """With client_no_context_takeover each message is compressed on its own: the same
    text twice gives the same bytes twice (with context takeover the second shrinks)."""
    sizes = {}
    for offer in ("client_no_context_takeover; server_max_window_bits=10", None):
        pair = Pair(SessionOptions(compression=True, deflate_offer=offer))
        pair.handshake()
        request, response = (r for r in pair.records() if r.fields.get("headers"))
        offered = dict(request.fields["headers"])["Sec-WebSocket-Extensions"]
        if offer is not None:
            assert offered == (  # in websockets' order of parameters
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"
            )
            accepted = dict(response.fields["headers"])["Sec-WebSocket-Extensions"]
            assert "server_max_window_bits=10" in accepted
        else:
            assert offered == "permessage-deflate; client_max_window_bits"
        text = "compress me the same way twice " * 8
        for _ in range(2):
            pair.send(pair.client.send_text(text))
        first, second = pair.records()
        assert [f.data for f in pair.server_frames()] == [text.encode()] * 2
        sizes[offer is not None] = (len(first.wire), len(second.wire))
    no_takeover, takeover = sizes[True], sizes[False]
    assert no_takeover[0] == no_takeover[1]
    assert takeover[1] < takeover[0]


def test_a_bad_offer_fails_the_session_with_one_line() -> None:
    with pytest.raises(WebSocketSendError, match="invalid permessage-deflate offer"):
        Pair(SessionOptions(compression=True, deflate_offer="bogus"))
