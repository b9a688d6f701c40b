"""The import's Postman v2.1 checks (inspector.core.postman_schema) against Postman's own
published schema: what the import accepts the schema accepts, and every breakage the
import names is one the schema refuses too.

samples/postman-collection-v2.1.0.schema.json is Postman's collection format v2.1.0
from postmanlabs/schemas (Apache License 2.0), compiled into one file the way
schema.getpostman.com serves it; its ``$comment`` says from which commit and how.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from inspector.core import postman_schema
from inspector.core.workspace_import import import_file

SAMPLES = Path(__file__).parent / "samples"
SCHEMA = json.loads((SAMPLES / "postman-collection-v2.1.0.schema.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)
SAMPLE = json.loads((SAMPLES / "postman_v21.json").read_text())


def schema_errors(doc: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(doc)]


def our_problems(doc: Any) -> list[str]:
    """Every problem the import's checks find in ``doc``, collection and items alike."""
    problems = postman_schema.collection_problems(doc)
    for n, variable in enumerate(doc.get("variable", []) or []):
        problem = postman_schema.variable_problem(variable, f"variable[{n}]")
        if problem:
            problems.append(problem)

    def walk(items: Any, path: str) -> None:
        for n, item in enumerate(items if isinstance(items, list) else []):
            problem = postman_schema.item_problem(item, f"{path}[{n}]")
            if problem:
                problems.append(problem)
            elif isinstance(item, dict) and isinstance(item.get("item"), list):
                walk(item["item"], f"{path}[{n}].item")

    walk(doc.get("item"), "item")
    return problems


def test_the_compiled_schema_is_a_valid_draft_4_schema() -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert set(SCHEMA["definitions"]) >= {"item", "item-group", "request", "url", "header"}


def test_the_sample_collection_fits_the_published_schema_and_imports_whole(
    tmp_path: Path,
) -> None:
    assert schema_errors(SAMPLE) == []
    assert our_problems(SAMPLE) == []
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(SAMPLE))
    imported = import_file(path, tmp_path / "ws")
    assert not [line for line in imported.not_mapped if "schema" in line]


def _chat(doc: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = doc["item"][0]["item"][0]
    return item


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        path(doc)[key] = value

    return change


def _delete(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Any:
    def change(doc: dict[str, Any]) -> None:
        del path(doc)[key]

    return change


BREAKAGES = {
    "no info": _delete(lambda d: d, "info"),
    "no item": _delete(lambda d: d, "item"),
    "info not an object": _set(lambda d: d, "info", "Chat service"),
    "info.name not a string": _set(lambda d: d["info"], "name", 7),
    "no info.schema": _delete(lambda d: d["info"], "schema"),
    "item not a list": _set(lambda d: d, "item", {"name": "x"}),
    "variable not a list": _set(lambda d: d, "variable", {"key": "base"}),
    "an item without a request": _delete(_chat, "request"),
    "a request that is a number": _set(_chat, "request", 42),
    "a url that is a number": _set(lambda d: _chat(d)["request"], "url", 42),
    "url.raw not a string": _set(lambda d: _chat(d)["request"]["url"], "raw", ["x"]),
    "a method that is a number": _set(lambda d: _chat(d)["request"], "method", 1),
    "header not a list": _set(lambda d: _chat(d)["request"], "header", {"key": "a"}),
    "a header without a key": _delete(lambda d: _chat(d)["request"]["header"][0], "key"),
    "a header value that is a number": _set(
        lambda d: _chat(d)["request"]["header"][0], "value", 3
    ),
    "a body that is a string": _set(lambda d: _chat(d)["request"], "body", "hello"),
    "an unknown body mode": _set(lambda d: _chat(d)["request"]["body"], "mode", "telepathy"),
    "a folder whose item is not a list": _set(lambda d: d["item"][0], "item", "x"),
    "a variable that is a string": _set(lambda d: d, "variable", ["base"]),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_each_breakage_the_import_names_the_published_schema_refuses(name: str) -> None:
    doc = copy.deepcopy(SAMPLE)
    BREAKAGES[name](doc)
    assert our_problems(doc), f"the import's checks accept: {name}"
    assert schema_errors(doc), f"Postman's schema accepts: {name}"
