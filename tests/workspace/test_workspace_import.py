"""Postman v2.1 and Insomnia exports become workspaces; what does not map is listed.

The sample files in samples/ were written by hand from Postman's collection v2.1
schema and Insomnia's export format 4 (not exported by either application).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from inspector.cli import run_command
from inspector.core.workspace import MessageFormat, load_workspace
from inspector.core.workspace_import import import_file

SAMPLES = Path(__file__).parent / "samples"


def test_postman_collection_imports_with_its_messages(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = run_command(
        ["workspace", "import", str(SAMPLES / "postman_v21.json"), str(tmp_path / "ws")], out, err
    )
    assert status == 0, err.getvalue()
    assert out.getvalue() == f"{tmp_path / 'ws'}: 1 endpoint, 3 messages, 1 environment\n"
    ws = load_workspace(tmp_path / "ws")
    (endpoint,) = ws.endpoints
    assert endpoint.name == "Realtime / Chat socket"
    assert endpoint.url == "{{base}}/chat?room=lobby"
    assert endpoint.options.headers == (("Authorization", "Bearer {{token}}"),)
    assert [(m.name, m.format) for m in ws.messages] == [
        ("Realtime / Chat socket / body", MessageFormat.JSON),
        ("Realtime / Chat socket / say hello", MessageFormat.TEXT),
        ("Realtime / Chat socket / leave", MessageFormat.JSON),
    ]
    assert ws.environments == {"postman": {"base": "ws://127.0.0.1:8765", "token": "dev-token"}}
    skipped = err.getvalue().splitlines()
    assert "not imported: Realtime / Chat socket: header 'X-Debug' is disabled" in skipped
    assert (
        "not imported: Health: GET https://api.example.test/health is not a WebSocket request"
    ) in skipped
    assert len(skipped) == 2


def test_insomnia_export_imports_with_its_payloads(tmp_path: Path) -> None:
    imported = import_file(SAMPLES / "insomnia_v4.json", tmp_path)
    ws = imported.workspace
    (endpoint,) = ws.endpoints
    assert endpoint.url == "{{base}}/chat?room=lobby"
    assert endpoint.options.headers == (("Authorization", "Bearer {{token}}"),)
    assert [(m.name, m.format, m.body) for m in ws.messages] == [
        ("Chat socket / join", MessageFormat.JSON, '{"op": "join"}'),
        ("Chat socket / hello", MessageFormat.TEXT, "hello everyone"),
    ]
    assert ws.environments["Base Environment"] == {
        "base": "ws://127.0.0.1:8765",
        "token": "dev-token",
    }
    assert imported.not_mapped == (
        "Chat socket: basic authentication (add it as a header)",
        "Health: a request is not a WebSocket request",
        "environment 'Base Environment': variable 'nested': a nested value (not a plain one)",
    )


def test_files_that_are_not_exports_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for text, line in (
        ("{", "not JSON"),
        ("[]", "not a Postman collection or an Insomnia export"),
        (json.dumps({"info": {"schema": "v2.0.0"}}), "not a Postman collection v2.1"),
    ):
        bad.write_text(text)
        err = io.StringIO()
        status = run_command(
            ["workspace", "import", str(bad), str(tmp_path / "out")], io.StringIO(), err
        )
        assert status == 1
        assert err.getvalue().startswith(f"inspector workspace: {bad}: {line}"), err.getvalue()
        assert err.getvalue().count("\n") == 1


def test_postman_items_that_break_the_v21_schema_are_named_and_the_rest_imports(
    tmp_path: Path,
) -> None:
    doc = json.loads((SAMPLES / "postman_v21.json").read_text())
    folder = doc["item"][0]["item"]
    folder.append(
        {
            "name": "No key",
            "request": {"url": "ws://127.0.0.1:1/a", "header": [{"value": "x"}]},
        }
    )
    folder.append(
        {
            "name": "Odd body",
            "request": {"url": "ws://127.0.0.1:1/b", "body": {"mode": "telepathy"}},
        }
    )
    folder.append({"name": "No request"})
    doc["variable"].append({"value": "a value without a key"})
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(doc))
    imported = import_file(path, tmp_path / "ws")
    assert [e.name for e in imported.workspace.endpoints] == ["Realtime / Chat socket"]
    schema_lines = [line for line in imported.not_mapped if "schema" in line or "variable" in line]
    assert schema_lines == [
        "collection variable: variable[2]: needs a key (a string)",
        "Realtime / No key: does not fit the Postman v2.1 schema: "
        "item[0].item[1].request.header[0].key: required, a string",
        "Realtime / Odd body: does not fit the Postman v2.1 schema: "
        "item[0].item[2].request.body.mode: 'telepathy' is not one of "
        "file, formdata, graphql, raw, urlencoded",
        "Realtime / No request: does not fit the Postman v2.1 schema: "
        "item[0].item[3]: an item needs a request",
    ]

    # A document that is not a collection at all stops the import, in one line.
    del doc["item"]
    doc["info"]["name"] = 7
    path.write_text(json.dumps(doc))
    err = io.StringIO()
    status = run_command(
        ["workspace", "import", str(path), str(tmp_path / "out")], io.StringIO(), err
    )
    assert status == 1
    assert err.getvalue() == (
        f"inspector workspace: {path}: does not fit the Postman collection v2.1 schema: "
        "item: required; info.name: required, a string\n"
    )


def test_a_folder_with_any_workspace_file_is_not_overwritten(tmp_path: Path) -> None:
    mine = tmp_path / "ws" / "endpoints.toml"
    mine.parent.mkdir()
    mine.write_text("# mine\n")
    out, err = io.StringIO(), io.StringIO()
    argv = ["workspace", "import", str(SAMPLES / "postman_v21.json"), str(mine.parent)]
    assert run_command(argv, out, err) == 2
    assert err.getvalue() == (
        f"inspector workspace: {mine.parent} already holds a workspace (endpoints.toml; "
        "choose a new folder)\n"
    )
    assert mine.read_text() == "# mine\n"


def test_a_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    out, err = io.StringIO(), io.StringIO()
    argv = ["workspace", "import", str(SAMPLES / "postman_v21.json"), str(target)]
    assert run_command(argv, out, err) == 1
    assert err.getvalue().startswith(f"inspector workspace: cannot write {target}/"), err
    assert err.getvalue().count("\n") == 1
