"""A workspace: a folder of TOML files a team can review — endpoints, saved messages,
environments (named variable sets) and scripts.

::

    workspace.toml      version = 1, name = "…"
    endpoints.toml      [[endpoint]] name, url and any SessionOptions field
    messages.toml       [[message]]  name and one of text / json / hex / file / socketio
    environments.toml   [environment.<name>] variables
    scripts/*.toml      a script each (core.script)
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from inspector.core.options import Framing, SessionOptions
from inspector.core.variables import PLACEHOLDER, Scope
from inspector.core.workspace_toml import WorkspaceError, load_file, save_file

FORMAT_VERSION = 1
MARKER = "workspace.toml"
ENDPOINTS, MESSAGES, ENVIRONMENTS, SCRIPTS = (
    "endpoints.toml",
    "messages.toml",
    "environments.toml",
    "scripts",
)

_OPTION_FIELDS = {f.name: f for f in dataclasses.fields(SessionOptions)}
_DEFAULT_OPTIONS = SessionOptions()


def _value_type(hint: Any) -> Any:
    """``float`` for ``float | None``: the type an option's value has when it is set."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


#: What each option holds when set, from its annotation (a default of None says nothing).
_OPTION_TYPES = {k: _value_type(v) for k, v in typing.get_type_hints(SessionOptions).items()}


class MessageFormat(StrEnum):
    """How a saved message's body is written in the file."""

    TEXT = "text"
    JSON = "json"  # JSON text, checked when read (after variables, when it has any)
    HEX = "hex"
    FILE = "file"  # a path, relative to the workspace folder
    SOCKETIO = "socketio"  # event + args (+ namespace): an EVENT packet, 42["event",…]


@dataclass(frozen=True, slots=True)
class SavedEndpoint:
    """A named URL and the options to open it with."""

    name: str
    url: str
    options: SessionOptions = _DEFAULT_OPTIONS


@dataclass(frozen=True, slots=True)
class SavedMessage:
    """A named message; ``body`` is the text, JSON text, hex or file path of its format."""

    name: str
    format: MessageFormat
    body: str = ""
    event: str = ""
    args: tuple[Any, ...] = ()
    namespace: str = "/"
    #: Sent exactly as written: ``{{…}}`` in the body is text, not a variable (a
    #: payload saved from a record, which came from a peer as it is).
    verbatim: bool = False


@dataclass(frozen=True, slots=True)
class Workspace:
    """Everything a workspace folder holds (scripts are read when run)."""

    root: Path
    name: str = ""
    endpoints: tuple[SavedEndpoint, ...] = ()
    messages: tuple[SavedMessage, ...] = ()
    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def endpoint(self, name: str) -> SavedEndpoint | None:
        """The endpoint called ``name``, if any."""
        return next((e for e in self.endpoints if e.name == name), None)

    def message(self, name: str) -> SavedMessage | None:
        """The message called ``name``, if any."""
        return next((m for m in self.messages if m.name == name), None)

    def scripts(self) -> list[Path]:
        """The script files, by name."""
        folder = self.root / SCRIPTS
        return sorted(folder.glob("*.toml")) if folder.is_dir() else []

    def scope(self, environment: str | None, overrides: Mapping[str, str] | None = None) -> Scope:
        """The variables of ``environment`` (None: no environment) and ``--var`` values."""
        values: Mapping[str, str] = {}
        if environment is not None:
            if environment not in self.environments:
                known = ", ".join(sorted(self.environments)) or "none"
                raise WorkspaceError(
                    f"{self.root / ENVIRONMENTS}: no environment {environment!r} (known: {known})"
                )
            values = self.environments[environment]
        return Scope(environment=dict(values), overrides=dict(overrides or {}))


# -- reading ---------------------------------------------------------------------------


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        if value is None:
            raise WorkspaceError(f"{where}: {key} is missing")
        raise WorkspaceError(f"{where}: {key} must be a string, not {type(value).__name__}")
    return value


def options_from_table(table: Mapping[str, Any], where: str) -> SessionOptions:
    """SessionOptions from an endpoint table's option keys (headers as a table or pairs)."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("name", "url"):
            continue
        if key not in _OPTION_FIELDS:
            raise WorkspaceError(
                f"{where}: unknown key {key!r} (options: {', '.join(_OPTION_FIELDS)})"
            )
        values[key] = _option_value(key, value, f"{where}: {key}")
    return SessionOptions(**values)


def _option_value(key: str, value: Any, where: str) -> Any:
    if key in ("headers", "speak_options"):
        pairs = value.items() if isinstance(value, Mapping) else value
        try:
            items = [(name, text) for name, text in pairs]
        except (TypeError, ValueError):
            items = [({}, {})]  # not pairs: said below
        if any(isinstance(part, Mapping | list) for item in items for part in item):
            raise WorkspaceError(f"{where}: a table of name = value, or [name, value] pairs")
        return tuple((str(name), str(text)) for name, text in items)
    if key == "subprotocols":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise WorkspaceError(f"{where}: a list of strings")
        return tuple(value)
    if key == "framing":
        try:
            return Framing(value)
        except ValueError:
            raise WorkspaceError(f"{where}: one of {', '.join(Framing)}") from None
    kind = _OPTION_TYPES[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise WorkspaceError(f"{where}: true or false")
        return value
    if kind is float:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not 0 < value < math.inf:
            raise WorkspaceError(f"{where}: a positive number")
        return float(value)
    if kind is int:
        top = 9 if key == "compression_level" else sys.maxsize
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise WorkspaceError(f"{where}: a whole number from 0 to {top}")
        return value
    if not isinstance(value, str):
        raise WorkspaceError(f"{where}: a string")
    return value


def options_to_table(options: SessionOptions) -> dict[str, Any]:
    """The option keys that differ from the defaults (what an endpoint table writes)."""
    table: dict[str, Any] = {}
    for name in _OPTION_FIELDS:
        value = getattr(options, name)
        if value == getattr(_DEFAULT_OPTIONS, name) or value is None:
            continue
        if name in ("headers", "speak_options"):
            names = [h for h, _ in value]
            table[name] = dict(value) if len(set(names)) == len(names) else [list(p) for p in value]
        elif name == "subprotocols":
            table[name] = list(value)
        elif name == "framing":
            table[name] = str(value)
        else:
            table[name] = value
    return table


def _tables(doc: Mapping[str, Any], key: str, where: str) -> list[tuple[Mapping[str, Any], str]]:
    items = doc.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise WorkspaceError(f"{where}: {key} must be [[{key}]] tables")
    return [(item, f"{where}: [[{key}]] {n}") for n, item in enumerate(items, 1)]


def _unique(names: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise WorkspaceError(f"{where}: two {what}s are called {name!r}")
        seen.add(name)


def endpoint_from_table(table: Mapping[str, Any], where: str) -> SavedEndpoint:
    """One ``[[endpoint]]``."""
    return SavedEndpoint(
        _text(table, "name", where), _text(table, "url", where), options_from_table(table, where)
    )


def message_from_table(table: Mapping[str, Any], where: str) -> SavedMessage:
    """One ``[[message]]``: exactly one of text, json, hex, file, or event (Socket.IO)."""
    name = _text(table, "name", where)
    where = f"{where} ({name})"
    given = [
        f
        for f in MessageFormat
        if (f.value if f is not MessageFormat.SOCKETIO else "event") in table
    ]
    if len(given) != 1:
        raise WorkspaceError(f"{where}: give exactly one of text, json, hex, file or event")
    fmt = given[0]
    allowed = {"name", "event" if fmt is MessageFormat.SOCKETIO else fmt.value}
    if fmt in (MessageFormat.TEXT, MessageFormat.JSON, MessageFormat.HEX):
        allowed.add("verbatim")
    if fmt is MessageFormat.SOCKETIO:
        allowed |= {"args", "namespace"}
    extra = sorted(set(table) - allowed)
    if extra:
        raise WorkspaceError(f"{where}: unknown key {extra[0]!r}")
    if fmt is MessageFormat.SOCKETIO:
        args = table.get("args", [])
        if not isinstance(args, list):
            raise WorkspaceError(f"{where}: args must be a list")
        return SavedMessage(
            name,
            fmt,
            event=_text(table, "event", where),
            args=tuple(args),
            namespace=_text(table, "namespace", where, "/"),
        )
    body = _text(table, fmt.value, where)
    verbatim = table.get("verbatim", False)
    if not isinstance(verbatim, bool):
        raise WorkspaceError(f"{where}: verbatim: true or false")
    # a templated body is checked once filled in, when sent
    templated = not verbatim and PLACEHOLDER.search(body) is not None
    if fmt is MessageFormat.JSON and not templated:
        try:
            json.loads(body)
        except ValueError as exc:
            raise WorkspaceError(f"{where}: json is not JSON: {exc}") from None
    if fmt is MessageFormat.HEX:
        try:
            bytes.fromhex(body) if not templated else None
        except ValueError:
            raise WorkspaceError(f"{where}: hex is not hexadecimal digits") from None
    return SavedMessage(name, fmt, body, verbatim=verbatim)


def message_to_table(message: SavedMessage) -> dict[str, Any]:
    """The ``[[message]]`` table of a saved message."""
    if message.format is MessageFormat.SOCKETIO:
        table: dict[str, Any] = {
            "name": message.name,
            "event": message.event,
            "args": list(message.args),
        }
        if message.namespace != "/":
            table["namespace"] = message.namespace
        return table
    table = {"name": message.name, message.format.value: message.body}
    if message.verbatim:
        table["verbatim"] = True
    return table


def _doc(root: Path, name: str) -> tuple[dict[str, Any], str]:
    path = root / name
    return (load_file(path) if path.exists() else {}), str(path)


def read_head(root: Path) -> str:
    """workspace.toml: its name (the folder's when none is given); checks the version."""
    head, where = _doc(root, MARKER)
    version = head.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise WorkspaceError(
            f"{where}: version {version!r} is not {FORMAT_VERSION} (a newer program wrote it?)"
        )
    return str(head.get("name", root.name))


def read_endpoints(root: Path) -> tuple[SavedEndpoint, ...]:
    """endpoints.toml (empty when missing)."""
    data, where = _doc(root, ENDPOINTS)
    endpoints = tuple(endpoint_from_table(t, w) for t, w in _tables(data, "endpoint", where))
    _unique([e.name for e in endpoints], where, "endpoint")
    return endpoints


def read_messages(root: Path) -> tuple[SavedMessage, ...]:
    """messages.toml (empty when missing)."""
    data, where = _doc(root, MESSAGES)
    messages = tuple(message_from_table(t, w) for t, w in _tables(data, "message", where))
    _unique([m.name for m in messages], where, "message")
    return messages


def read_environments(root: Path) -> dict[str, dict[str, str]]:
    """environments.toml (empty when missing): plain values, numbers as their JSON text."""
    data, where = _doc(root, ENVIRONMENTS)
    envs = data.get("environment", {})
    if not isinstance(envs, Mapping) or not all(isinstance(v, Mapping) for v in envs.values()):
        raise WorkspaceError(f"{where}: environments must be [environment.NAME] tables")
    environments: dict[str, dict[str, str]] = {}
    for env_name, values in envs.items():
        for key, value in values.items():
            if isinstance(value, Mapping | list):
                raise WorkspaceError(f"{where}: [environment.{env_name}] {key}: a plain value")
        environments[env_name] = {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()
        }
    return environments


def load_workspace(root: str | Path) -> Workspace:
    """Read a workspace folder (missing files are empty); WorkspaceError names the file."""
    root = Path(root)
    if not root.is_dir():
        raise WorkspaceError(f"{root}: not a workspace folder")
    return Workspace(
        root, read_head(root), read_endpoints(root), read_messages(root), read_environments(root)
    )


def save_workspace(workspace: Workspace) -> None:
    """Write every file of a workspace (scripts are written by core.script)."""
    root = workspace.root
    save_file(root / MARKER, {"version": FORMAT_VERSION, "name": workspace.name})
    save_file(
        root / ENDPOINTS,
        {
            "endpoint": [
                {"name": e.name, "url": e.url, **options_to_table(e.options)}
                for e in workspace.endpoints
            ]
        },
    )
    save_file(root / MESSAGES, {"message": [message_to_table(m) for m in workspace.messages]})
    save_file(
        root / ENVIRONMENTS,
        {"environment": {k: dict(v) for k, v in workspace.environments.items()}},
    )


def find_root(script: Path) -> Path:
    """The workspace a script belongs to: the nearest folder up (at most three levels)
    holding workspace.toml; else the parent of a ``scripts`` folder; else the script's
    own folder."""
    folder = script.resolve().parent
    for candidate in (folder, *folder.parents[:2]):
        if (candidate / MARKER).is_file():
            return candidate
    return folder.parent if folder.name == SCRIPTS else folder


def socketio_event(event: str, args: tuple[Any, ...], namespace: str = "/") -> str:
    """The text of a Socket.IO v5 EVENT packet over Engine.IO 4: ``42["event",…]``."""
    prefix = "" if namespace in ("", "/") else f"{namespace},"
    return "42" + prefix + json.dumps([event, *args], ensure_ascii=False, separators=(",", ":"))


def message_payload(message: SavedMessage, scope: Scope, root: Path) -> tuple[bytes, bool]:
    """A saved message's bytes with its variables filled in, and whether it is text."""
    where = f"message {message.name!r}"
    fmt = message.format
    if fmt is MessageFormat.SOCKETIO:
        args = tuple(_fill_value(arg, scope, where) for arg in message.args)
        event = scope.fill(message.event, where)
        return socketio_event(event, args, message.namespace).encode(), True
    body = message.body if message.verbatim else scope.fill(message.body, where)
    if fmt is MessageFormat.HEX:
        try:
            return bytes.fromhex(body), False
        except ValueError:
            raise WorkspaceError(f"{where}: hex is not hexadecimal digits") from None
    if fmt is MessageFormat.FILE:
        path = root / body
        if path.exists() and not path.is_file():  # /dev/zero, a pipe: would never end
            raise WorkspaceError(f"{where}: cannot read {path}: not a regular file")
        try:
            return path.read_bytes(), False
        except OSError as exc:
            raise WorkspaceError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    if fmt is MessageFormat.JSON:
        try:
            json.loads(body)
        except ValueError as exc:
            raise WorkspaceError(f"{where}: json is not JSON after variables: {exc}") from None
    return body.encode("utf-8"), True


def _fill_value(value: Any, scope: Scope, where: str) -> Any:
    if isinstance(value, str):
        return scope.fill(value, where)
    if isinstance(value, list):
        return [_fill_value(v, scope, where) for v in value]
    if isinstance(value, Mapping):
        return {k: _fill_value(v, scope, where) for k, v in value.items()}
    return value
