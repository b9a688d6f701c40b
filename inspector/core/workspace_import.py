"""Import the collections people already have: Postman collection v2.1 files and
Insomnia exports (format 4), their WebSocket requests and saved messages, as far as
they map. What does not map is listed, one line each, never silently dropped.

Postman v2.1 (``info.schema`` ends in ``v2.1.0/collection.json``): an item whose
``request.url`` is ws:// or wss:// becomes an endpoint (enabled headers kept); its raw
body and its ``messages`` (saved messages: ``name`` and ``content``/``message``/``body``)
become saved messages; collection ``variable`` values an environment "postman";
folders flatten into names "Folder / Request". Insomnia: ``websocket_request``
resources become endpoints, ``websocket_payload`` saved messages, ``environment``
resources environments. Postman's ``{{name}}`` is this workspace's spelling;
Insomnia's ``{{ _.name }}`` becomes ``{{name}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.core.options import SessionOptions
from inspector.core.postman_schema import collection_problems, item_problem, variable_problem
from inspector.core.userfiles import read_bounded
from inspector.core.variables import PLACEHOLDER
from inspector.core.workspace import MessageFormat, SavedEndpoint, SavedMessage, Workspace
from inspector.core.workspace_toml import WorkspaceError

POSTMAN_SCHEMA = "v2.1.0/collection.json"
_WS = ("ws://", "wss://")


@dataclass(frozen=True, slots=True)
class Imported:
    """A workspace made from an export, and what could not be carried over."""

    workspace: Workspace
    not_mapped: tuple[str, ...]


class _Builder:
    def __init__(self) -> None:
        self.endpoints: list[SavedEndpoint] = []
        self.messages: list[SavedMessage] = []
        self.environments: dict[str, dict[str, str]] = {}
        self.skipped: list[str] = []

    def _unique(self, name: str, taken: set[str]) -> str:
        base, n = name.strip() or "unnamed", 1
        name = base
        while name in taken:
            n += 1
            name = f"{base} {n}"
        return name

    def endpoint(
        self, name: str, url: str, headers: list[tuple[str, str]], protocols: tuple[str, ...] = ()
    ) -> str:
        name = self._unique(name, {e.name for e in self.endpoints})
        options = SessionOptions(headers=tuple(headers), subprotocols=protocols)
        self.endpoints.append(SavedEndpoint(name, url, options))
        return name

    def message(self, name: str, body: str, json_hint: bool = False) -> None:
        name = self._unique(name, {m.name for m in self.messages})
        fmt = MessageFormat.TEXT
        if json_hint or body.lstrip()[:1] in ("{", "["):
            try:
                json.loads(body)
                fmt = MessageFormat.JSON
            except ValueError:
                fmt = MessageFormat.TEXT
        self.messages.append(SavedMessage(name, fmt, body))

    def environment(self, name: str, values: Mapping[str, Any], where: str) -> None:
        kept: dict[str, str] = {}
        for key, value in values.items():
            if isinstance(value, str | int | float | bool):
                kept[str(key)] = value if isinstance(value, str) else json.dumps(value)
            else:
                self.skipped.append(f"{where}: variable {key!r}: a nested value (not a plain one)")
        name = self._unique(name, set(self.environments))
        self.environments[name] = kept

    def result(self, root: Path, name: str) -> Imported:
        workspace = Workspace(
            root, name, tuple(self.endpoints), tuple(self.messages), self.environments
        )
        return Imported(workspace, tuple(self.skipped))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _postman_url(url: Any) -> str:
    if isinstance(url, Mapping):
        return _text(url.get("raw"))
    return _text(url)


def _expanded(url: str, variables: Mapping[str, str]) -> str:
    """A URL with the collection's variables filled in (only to tell its scheme)."""
    return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), url)


_INSOMNIA_VARIABLE = re.compile(r"\{\{\s*_\.([A-Za-z_][\w.-]*)\s*\}\}")


def _from_insomnia(text: str) -> str:
    """Insomnia's ``{{ _.name }}`` as this workspace's ``{{name}}``."""
    return _INSOMNIA_VARIABLE.sub(r"{{\1}}", text)


def _postman_items(
    items: Any, prefix: str, build: _Builder, variables: Mapping[str, str], path: str = "item"
) -> None:
    for n, item in enumerate(items if isinstance(items, list) else []):
        here = f"{path}[{n}]"
        name = (_text(item.get("name")) if isinstance(item, Mapping) else "") or "unnamed"
        full = f"{prefix}{name}"
        problem = item_problem(item, here)
        if problem is not None:
            build.skipped.append(f"{full}: does not fit the Postman v2.1 schema: {problem}")
            continue
        if isinstance(item.get("item"), list):
            _postman_items(item["item"], f"{full} / ", build, variables, f"{here}.item")
            continue
        request = item.get("request")
        url = _postman_url(request.get("url") if isinstance(request, Mapping) else request)
        if not _expanded(url, variables).lower().startswith(_WS):
            method = request.get("method", "GET") if isinstance(request, Mapping) else "GET"
            build.skipped.append(f"{full}: {method} {url or '(no URL)'} is not a WebSocket request")
            continue
        headers: list[tuple[str, str]] = []
        request = request if isinstance(request, Mapping) else {}
        for header in request.get("header", []) or []:
            if not isinstance(header, Mapping):
                continue
            if header.get("disabled"):
                build.skipped.append(f"{full}: header {header.get('key')!r} is disabled")
                continue
            headers.append((_text(header.get("key")), _text(header.get("value"))))
        for key in ("auth", "event"):
            if item.get(key) or request.get(key):
                what = "authentication settings" if key == "auth" else "pre-request/test scripts"
                build.skipped.append(f"{full}: {what} (write them as headers or script steps)")
        build.endpoint(full, url, headers)
        body = request.get("body")
        if isinstance(body, Mapping) and _text(body.get("raw")):
            build.message(f"{full} / body", _text(body["raw"]))
        for message in item.get("messages", []) or []:
            if isinstance(message, Mapping):
                text = next(
                    (
                        _text(message.get(k))
                        for k in ("content", "message", "body")
                        if _text(message.get(k))
                    ),
                    "",
                )
                build.message(f"{full} / {_text(message.get('name')) or 'message'}", text)
        for response in item.get("response", []) or []:
            label = _text(response.get("name")) if isinstance(response, Mapping) else ""
            build.skipped.append(f"{full}: saved response {label!r} (an HTTP example response)")


def import_postman(doc: Mapping[str, Any], root: Path, where: str) -> Imported:
    """A Postman collection v2.1 document."""
    info = doc.get("info")
    schema = _text(info.get("schema")) if isinstance(info, Mapping) else ""
    if not schema.endswith(POSTMAN_SCHEMA):
        raise WorkspaceError(f"{where}: not a Postman collection v2.1 (info.schema is {schema!r})")
    problems = collection_problems(doc)
    if problems:
        raise WorkspaceError(
            f"{where}: does not fit the Postman collection v2.1 schema: {'; '.join(problems)}"
        )
    build = _Builder()
    variables: dict[str, Any] = {}
    for n, variable in enumerate(doc.get("variable", []) or []):
        problem = variable_problem(variable, f"variable[{n}]")
        if problem is not None:
            build.skipped.append(f"collection variable: {problem}")
            continue
        key = _text(variable.get("key", variable.get("id")))
        if key:
            variables[key] = variable.get("value", "")
    plain = {k: v for k, v in variables.items() if isinstance(v, str)}
    _postman_items(doc.get("item"), "", build, plain)
    if variables:
        build.environment("postman", variables, "collection variables")
    for key in ("auth", "event"):
        if doc.get(key):
            build.skipped.append(f"collection: its {key} (write it as headers or script steps)")
    name = _text(info.get("name")) if isinstance(info, Mapping) else ""
    return build.result(root, name or root.name)


def import_insomnia(doc: Mapping[str, Any], root: Path, where: str) -> Imported:
    """An Insomnia export (``_type = "export"``, format 4)."""
    resources = doc.get("resources")
    if not isinstance(resources, list):
        raise WorkspaceError(f"{where}: an Insomnia export without resources")
    build = _Builder()
    names: dict[str, str] = {}
    for res in resources:
        if not isinstance(res, Mapping):
            continue
        kind = _text(res.get("_type"))
        name = _text(res.get("name")) or _text(res.get("_id")) or kind
        if kind == "websocket_request":
            headers = [
                (_text(h.get("name")), _from_insomnia(_text(h.get("value"))))
                for h in res.get("headers", []) or []
                if isinstance(h, Mapping) and not h.get("disabled")
            ]
            url = _from_insomnia(_text(res.get("url")))
            params = [
                p
                for p in res.get("parameters", []) or []
                if isinstance(p, Mapping) and not p.get("disabled")
            ]
            if params:
                query = "&".join(f"{_text(p.get('name'))}={_text(p.get('value'))}" for p in params)
                url = f"{url}{'&' if '?' in url else '?'}{query}"
            auth = res.get("authentication")
            if isinstance(auth, Mapping) and auth.get("type") and not auth.get("disabled"):
                build.skipped.append(
                    f"{name}: {auth.get('type')} authentication (add it as a header)"
                )
            names[_text(res.get("_id"))] = build.endpoint(name, url, headers)
        elif kind == "websocket_payload":
            parent = names.get(_text(res.get("parentId")), "")
            label = f"{parent} / {name}" if parent else name
            value = _from_insomnia(_text(res.get("value")))
            build.message(label, value, "json" in _text(res.get("mode")))
        elif kind == "environment":
            data = res.get("data")
            if isinstance(data, Mapping) and data:
                build.environment(name, data, f"environment {name!r}")
        elif kind in ("workspace", "request_group", "cookie_jar", "api_spec"):
            continue
        else:
            build.skipped.append(f"{name}: a {kind or 'resource'} is not a WebSocket request")
    return build.result(root, root.name)


#: The largest export read (a path to something that never ends must not be read for ever).
MAX_EXPORT = 64 << 20


def import_file(path: str | Path, root: str | Path) -> Imported:
    """Read a Postman or Insomnia export (told by content) into a workspace at ``root``."""
    path, root = Path(path), Path(root)
    data = read_bounded(path, MAX_EXPORT, WorkspaceError, hint="not an export?")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise WorkspaceError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise WorkspaceError(f"{path}: not a Postman collection or an Insomnia export")
    if doc.get("_type") == "export" or "resources" in doc:
        return import_insomnia(doc, root, str(path))
    if "info" in doc:
        return import_postman(doc, root, str(path))
    raise WorkspaceError(f"{path}: not a Postman collection v2.1 or an Insomnia export")
