"""The intercept console's line for a message lost with its connection."""

from __future__ import annotations

import io
import json

from inspector.cli.intercept import InterceptConsole
from inspector.net.intercept import Interceptor, Way


def test_a_lost_message_is_one_line_and_one_json_object() -> None:
    interceptor = Interceptor()
    lines: list[str] = []
    InterceptConsole(interceptor, lines.append, io.StringIO())
    objects: list[str] = []
    InterceptConsole(interceptor, objects.append, io.StringIO(), as_json=True)
    interceptor.lost(3, Way.S2C, "an injected message server → client (2 B) was not sent")
    assert lines == ["#3 an injected message server → client (2 B) was not sent\n"]
    (text,) = objects
    assert json.loads(text) == {
        "kind": "intercept",
        "event": "not_sent",
        "conn": 3,
        "way": "s2c",
        "reason": "an injected message server → client (2 B) was not sent",
    }
