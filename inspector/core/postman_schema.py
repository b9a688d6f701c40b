"""The rules of Postman's collection v2.1 schema (schema.getpostman.com, draft-07) that
an import relies on, checked by hand, each problem with its JSON path.

Why not the ``jsonschema`` library at run time: core/ is standard library only
(DESIGN.md), and the import reads only a few of the schema's objects (info,
item/item-group, request, url, header, body, variable). A whole-document validator would
also stop at the first bad item; these checks let one malformed request be left out (and
named) while the rest imports. The tests hold these rules against Postman's published
schema (tests/workspace/test_postman_published_schema.py, with the schema compiled from
postmanlabs/schemas): what they accept it accepts, and each breakage they name it refuses.

Rules checked (schema ``definitions`` named in brackets):

- the collection: ``info`` and ``item`` are required; ``info.name`` and ``info.schema``
  are strings [info]; ``variable`` is a list of objects [variable-list];
- an item group has an ``item`` list [item-group]; an item's ``request`` is a URL string
  or an object [request];
- a request's ``url`` is a string or an object whose ``raw`` is a string [url];
  ``method`` a string; ``header`` a list of objects with string ``key`` and ``value``,
  or a string [header-list]; ``body`` an object whose ``mode`` is one of raw,
  urlencoded, formdata, file, graphql [request.body];
- a variable has a ``key`` (or ``id``) that is a string [variable].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BODY_MODES = frozenset({"raw", "urlencoded", "formdata", "file", "graphql"})


def collection_problems(doc: Mapping[str, Any]) -> list[str]:
    """What makes ``doc`` not a v2.1 collection at all (the import stops)."""
    problems = [f"{key}: required" for key in ("info", "item") if key not in doc]
    info = doc.get("info")
    if "info" in doc and not isinstance(info, Mapping):
        problems.append("info: must be an object")
    elif isinstance(info, Mapping):
        for key in ("name", "schema"):
            if not isinstance(info.get(key), str):
                problems.append(f"info.{key}: required, a string")
    if "item" in doc and not isinstance(doc["item"], list):
        problems.append("item: must be a list of items and folders")
    variables = doc.get("variable", [])
    if not isinstance(variables, list):
        problems.append("variable: must be a list")
    return problems


def variable_problem(variable: Any, path: str) -> str | None:
    """Why a collection variable does not fit [variable] (None: it fits)."""
    if not isinstance(variable, Mapping):
        return f"{path}: must be an object"
    key = variable.get("key", variable.get("id"))
    if not isinstance(key, str):
        return f"{path}: needs a key (a string)"
    return None


def item_problem(item: Any, path: str) -> str | None:
    """Why an item or item group does not fit [item], [item-group], [request] (None:
    it fits)."""
    if not isinstance(item, Mapping):
        return f"{path}: must be an object"
    if "item" in item:
        return None if isinstance(item["item"], list) else f"{path}.item: must be a list"
    if "request" not in item:
        return f"{path}: an item needs a request"
    request = item["request"]
    if isinstance(request, str):
        return None
    if not isinstance(request, Mapping):
        return f"{path}.request: must be a URL or an object"
    return _request_problem(request, f"{path}.request")


def _request_problem(request: Mapping[str, Any], path: str) -> str | None:
    url = request.get("url")
    if url is not None and not isinstance(url, str):
        if not isinstance(url, Mapping):
            return f"{path}.url: must be a string or an object"
        if "raw" in url and not isinstance(url["raw"], str):
            return f"{path}.url.raw: must be a string"
    method = request.get("method")
    if method is not None and not isinstance(method, str):
        return f"{path}.method: must be a string"
    headers = request.get("header")
    if headers is not None and not isinstance(headers, str):
        if not isinstance(headers, list):
            return f"{path}.header: must be a list of headers"
        for n, header in enumerate(headers):
            if not isinstance(header, Mapping):
                return f"{path}.header[{n}]: must be an object"
            for key in ("key", "value"):
                if not isinstance(header.get(key), str):
                    return f"{path}.header[{n}].{key}: required, a string"
    body = request.get("body")
    if body is not None:
        if not isinstance(body, Mapping):
            return f"{path}.body: must be an object"
        mode = body.get("mode")
        if mode is not None and mode not in BODY_MODES:
            return f"{path}.body.mode: {mode!r} is not one of {', '.join(sorted(BODY_MODES))}"
        if mode == "raw" and "raw" in body and not isinstance(body["raw"], str):
            return f"{path}.body.raw: must be a string"
    return None
