"""What an expect (or a repeat's until, or an extract) asks of one inbound message.

Text equality, substring, regex search, a JSON path's value, and a decoded field of the
application protocol (``where = 'event == "chat"'``, the decoders' own conditions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from inspector.core import rules
from inspector.core.endpoints import Endpoint
from inspector.protocols.decoders import registry
from inspector.protocols.decoders.where import Condition

_INDEX = re.compile(r"\[(\d+)\]")


def json_at(document: Any, path: str) -> Any:
    """The value at ``a.b.0`` / ``$.a.b[0]``, or a marker object when there is none."""
    text = _INDEX.sub(r".\1", path.strip())
    text = text[1:] if text.startswith("$") else text
    return rules.json_at(document, tuple(p for p in text.split(".") if p))


def found(value: Any) -> bool:
    """True unless ``value`` is json_at's "no such path" marker."""
    return value is not rules.NO_VALUE


def as_text(value: Any) -> str:
    """A JSON value as a variable's text: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def preview(body: bytes, limit: int = 80) -> str:
    """A message as it appears in a failure line."""
    text = body.decode("utf-8", "replace")
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def describe(match: Mapping[str, Any]) -> str:
    """What a match asks for, in one phrase."""
    if "text" in match:
        return f"text {json.dumps(match['text'], ensure_ascii=False)}"
    if "contains" in match:
        return f"a message containing {json.dumps(match['contains'], ensure_ascii=False)}"
    if "regex" in match:
        return f"a message matching /{match['regex']}/"
    if "json_path" in match:
        return f"{match['json_path']} == {json.dumps(match['equals'], ensure_ascii=False)}"
    return f"decoded {match['where']}"


def matches(match: Mapping[str, Any], body: bytes, endpoint: Endpoint | None) -> bool:
    """True when ``body`` is what ``match`` asks for (its strings already filled in)."""
    text = body.decode("utf-8", "replace")
    if "text" in match and text != match["text"]:
        return False
    if "contains" in match and str(match["contains"]) not in text:
        return False
    if "regex" in match and re.search(str(match["regex"]), text) is None:
        return False
    if "json_path" in match:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if not rules.same_json(json_at(document, str(match["json_path"])), match["equals"]):
            return False
    if "where" in match:
        return _decoded_test(match, body, endpoint)
    return True


def condition(match: Mapping[str, Any]) -> Condition:
    """The decoders' condition of a ``where`` (ValueError with one line, also for an
    unknown ``decoder``)."""
    name = match.get("decoder")
    if name:
        try:
            registry.get(str(name))
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    return Condition.parse(str(match["where"]))


def _decoded_test(match: Mapping[str, Any], body: bytes, endpoint: Endpoint | None) -> bool:
    context = registry.DecodeContext()
    if endpoint is not None:
        context = registry.DecodeContext(scheme=str(endpoint.scheme), host=endpoint.host,
                                         port=endpoint.port, target=endpoint.target)  # fmt: skip
    name = match.get("decoder")
    try:
        decoder = registry.get(str(name)) if name else registry.choose(context, body)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    if decoder is None:
        return False
    return condition(match).test(decoder.run(body, context))
