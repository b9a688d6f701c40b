"""The permessage-deflate offer a client sends (RFC 7692 §7.1), written as in the header.

A person testing how a server negotiates compression needs to choose the offer: for
example ``client_no_context_takeover; server_max_window_bits=10``. websockets builds
the offer from keyword arguments; this module turns the header form into them and
says in one line what is wrong with a bad one.
"""

from __future__ import annotations

from typing import Any

_FLAGS = ("client_no_context_takeover", "server_no_context_takeover")
_BITS = {"client_max_window_bits": 9, "server_max_window_bits": 8}  # lowest allowed
_KNOWN = ", ".join((*_FLAGS, *_BITS))


def parse_deflate_offer(text: str) -> dict[str, Any]:
    """Keyword arguments of websockets' ``ClientPerMessageDeflateFactory`` for ``text``.

    ``text`` lists the parameters to offer, separated by ";"; an empty text offers
    plain ``permessage-deflate``. Raises ValueError with one line naming the problem.
    """
    kwargs: dict[str, Any] = {"client_max_window_bits": None}
    seen: set[str] = set()
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name in seen:
            raise ValueError(f"{name} is given twice (RFC 7692 §7.1)")
        seen.add(name)
        if name in _FLAGS:
            if equals:
                raise ValueError(f"{name} takes no value")
            kwargs[name] = True
        elif name in _BITS:
            lowest = _BITS[name]
            if not equals and name == "client_max_window_bits":
                kwargs[name] = True  # "I support it", no limit asked
                continue
            if not value.isdigit() or not lowest <= int(value) <= 15:
                raise ValueError(f"{name} needs a number from {lowest} to 15, got {value!r}")
            kwargs[name] = int(value)
        else:
            raise ValueError(f"unknown permessage-deflate parameter {name!r} (known: {_KNOWN})")
    return kwargs
