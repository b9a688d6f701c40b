"""JSON as a tree of fields with the byte range of every value.

``json.loads`` checks the payload (fast, and its messages say where it is wrong); a
small scanner then walks the text once more to build the tree, using the standard
decoder's ``raw_decode`` for each scalar, so strings and numbers are read exactly as
``json`` reads them. Offsets are characters while scanning and are turned into byte
offsets at the end (the same numbers for ASCII).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

_WHITESPACE = " \t\n\r"
_SCALAR = json.JSONDecoder()


def parse_json(payload: bytes, what: str = "JSON") -> Any:
    """The value of a JSON payload; Malformed with one line when it is not JSON."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise tree.Malformed(f"not UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise tree.Malformed("nested too deeply") from None
    except ValueError as exc:
        raise tree.Malformed(str(exc)) from None


def json_fields(payload: bytes, base: int = 0, name: str = "value") -> tree.Field:
    """The tree of a JSON payload (which must be valid JSON), ranges shifted by ``base``."""
    text = payload.decode("utf-8")
    scanner = _Scanner(text, tree.Budget())
    start = scanner.skip_ws(0)
    root = scanner.value(start, name, 0)
    if not text.isascii():
        root = _to_bytes(root, text)
    return root.shifted(base) if base else root


def describe(value: Any) -> str:
    """A short display text for a JSON value."""
    if isinstance(value, dict):
        return f"{{…}} {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"[…] {len(value)} item{'s' if len(value) != 1 else ''}"
    return tree.short(json.dumps(value, ensure_ascii=False))


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


class _Scanner:
    """Walks valid JSON text and builds fields (character offsets)."""

    def __init__(self, text: str, budget: tree.Budget) -> None:
        self.text = text
        self.budget = budget

    def skip_ws(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i] in _WHITESPACE:
            i += 1
        return i

    def value(self, i: int, name: str, depth: int) -> tree.Field:
        """The field of the value starting at ``i`` (its ``end`` is where it stops)."""
        text = self.text
        ch = text[i]
        if ch not in "[{" or depth >= tree.MAX_DEPTH or self.budget.left <= 0:
            value, end = _SCALAR.raw_decode(text, i)
            if isinstance(value, dict | list):
                self.budget.take()
                return tree.Field(name, describe(value), "object" if isinstance(value, dict)
                                  else "array", None, i, end)  # fmt: skip
            self.budget.take()
            return tree.Field(name, describe(value), _type_of(value), value, i, end)
        self.budget.take()
        children: list[tree.Field] = []
        j = self.skip_ws(i + 1)
        closing = "}" if ch == "{" else "]"
        index = 0
        hidden = 0
        while text[j] != closing:
            if self.budget.left <= 0:  # past the budget: skip values, count them
                if ch == "{":
                    _, j = _SCALAR.raw_decode(text, j)
                    j = self.skip_ws(self.skip_ws(j) + 1)
                _, j = _SCALAR.raw_decode(text, j)
                hidden += 1
                index += 1
                j = self.skip_ws(j)
                if text[j] == ",":
                    j = self.skip_ws(j + 1)
                continue
            if ch == "{":
                key, j = _SCALAR.raw_decode(text, j)
                j = self.skip_ws(j)
                j = self.skip_ws(j + 1)  # the colon
                child = self.value(j, str(key), depth + 1)
            else:
                child = self.value(j, f"[{index}]", depth + 1)
            children.append(child)
            index += 1
            assert child.end is not None
            j = self.skip_ws(child.end)
            if text[j] == ",":
                j = self.skip_ws(j + 1)
        if hidden:
            children.append(tree.Field("…", f"{hidden} more not shown"))
        kind = "object" if ch == "{" else "array"
        label = f"{{…}} {index} key{'s' if index != 1 else ''}" if ch == "{" else (
            f"[…] {index} item{'s' if index != 1 else ''}")  # fmt: skip
        return tree.Field(name, label, kind, None, i, j + 1, tuple(children))


def _to_bytes(root: tree.Field, text: str) -> tree.Field:
    """The same tree with character offsets turned into UTF-8 byte offsets."""
    offsets = [0] * (len(text) + 1)
    total = 0
    for index, ch in enumerate(text):
        offsets[index] = total
        total += len(ch.encode("utf-8", "surrogatepass"))
    offsets[len(text)] = total

    def convert(field: tree.Field) -> tree.Field:
        return replace(
            field,
            start=None if field.start is None else offsets[field.start],
            end=None if field.end is None else offsets[field.end],
            children=tuple(convert(c) for c in field.children),
        )

    return convert(root)


def decode_json(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A JSON payload as a tree with byte ranges (:class:`tree.Malformed` for what is
    not JSON: Decoder.run says it in one line)."""
    del context
    value = parse_json(payload)
    root = json_fields(payload, name="JSON")
    return tree.Decoded("json", describe(value), (root,))


def _looks_like_json(payload: bytes) -> bool:
    head = payload[:1].strip() or payload.lstrip()[:1]
    if head not in (b"{", b"["):
        return False
    try:
        json.loads(payload)
    except (ValueError, RecursionError):
        return False
    return True


JSON = register(Decoder("json", "JSON", decode_json, sniff=_looks_like_json))
