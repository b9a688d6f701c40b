"""A workspace as the window keeps it: each file read on its own, problems with their
line, variables filled as far as known, one message appended without rewriting."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from inspector.core.variables import Scope
from inspector.core.workspace import MessageFormat, SavedMessage
from inspector.core.workspace_state import (
    append_message,
    fill_known,
    read_state,
    reorder_messages,
    unresolved_line,
    with_line,
)
from inspector.core.workspace_toml import WorkspaceError

ENDPOINTS = '[[endpoint]]\nname = "a"\nurl = "ws://h/"\n'


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_broken_file_keeps_what_was_read_before_and_the_rest_works(tmp_path: Path) -> None:
    write(tmp_path, "endpoints.toml", ENDPOINTS)
    write(tmp_path, "messages.toml", '[[message]]\nname = "m"\ntext = "hi"\n')
    first = read_state(tmp_path)
    assert first.problems == ()
    assert [e.name for e in first.workspace.endpoints] == ["a"]

    path = write(tmp_path, "endpoints.toml", ENDPOINTS + '\n[[endpoint]]\nname = "b"\n')
    write(
        tmp_path,
        "messages.toml",
        '[[message]]\nname = "m"\ntext = "hi"\n\n[[message]]\nname = "n"\ntext = "new"\n',
    )
    second = read_state(tmp_path, first)
    assert second.problems == (f"{path}: [[endpoint]] 2: url is missing (line 5)",)
    assert [e.name for e in second.workspace.endpoints] == ["a"]
    assert [m.name for m in second.workspace.messages] == ["m", "n"]
    assert second.broken == {"endpoints.toml"}

    # Without an earlier read, the broken part is empty.
    assert read_state(tmp_path).workspace.endpoints == ()


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("endpoints.toml", ENDPOINTS + "\n[[endpoint]]\nname = 'b'\nurl = 'x'\nverify = 1\n", 8),
        ("endpoints.toml", ENDPOINTS + "bogus = 1\n", 4),
        ("messages.toml", '[[message]]\nname = "m"\njson = "{oops"\n', 3),
        ("environments.toml", "[environment.dev]\nx = 1\n\n[environment.qa]\ny = [1]\n", 5),
        ("workspace.toml", "name = 'w'\nversion = 9\n", 2),
        ("endpoints.toml", "[[endpoint]]\nname = \n", 2),
        ("scripts/s.toml", '[[step]]\ndo = "send"\ntext = "a"\n\n[[step]]\ndo = "jump"\n', 5),
        ("scripts/s.toml", '[[step]]\ndo = "close"\nbogus = 1\n', 3),
    ],
)
def test_problems_name_the_file_and_the_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = write(tmp_path, name, text)
    (problem,) = read_state(tmp_path).problems
    assert problem.startswith(f"{path}: ")
    assert f"line {line}" in problem, problem
    assert "\n" not in problem


def test_with_line_leaves_a_message_without_a_place_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "messages.toml", "")
    assert with_line(f"{path}: two messages are called 'm'", path) == (
        f"{path}: two messages are called 'm'"
    )
    assert with_line("anything", tmp_path / "missing.toml") == "anything"


def test_a_deleted_folder_is_said_plainly(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root, "endpoints.toml", ENDPOINTS)
    before = read_state(root)
    for path in root.iterdir():
        path.unlink()
    root.rmdir()
    after = read_state(root, before)
    assert after.missing
    assert after.problems == (
        f"{root}: the workspace folder is gone (deleted or moved); nothing here can be used",
    )
    assert after.workspace.endpoints == ()


def test_variables_are_filled_as_far_as_they_are_known() -> None:
    scope = Scope(environment={"user": "alice", "a": "{{b}}", "b": "{{a}}"}, process={"T": "t"})
    filled = fill_known("{{user}} {{token}} {{env.T}} {{a}} {{token}}", scope, "message 'm'")
    assert filled.text == "alice {{token}} t {{a}} {{token}}"
    assert filled.unresolved == ("token", "a")
    assert unresolved_line("message 'm'", filled.unresolved, "dev") == (
        "message 'm': no value for {{token}}, {{a}} (environment 'dev')"
    )
    assert unresolved_line("endpoint 'e'", ["base"], None) == (
        "endpoint 'e': no value for {{base}} (no environment chosen)"
    )
    assert unresolved_line("message 'm'", ["env.API_TOKEN", "user"], "dev") == (
        "message 'm': no value for {{user}} (environment 'dev'); "
        "{{env.API_TOKEN}} not set in the process environment"
    )


def test_appending_a_message_keeps_the_file_as_written(tmp_path: Path) -> None:
    # No messages.toml yet: created.
    append_message(tmp_path, SavedMessage("first", MessageFormat.TEXT, 'say "hi"\n'))
    assert tomllib.loads((tmp_path / "messages.toml").read_text()) == {
        "message": [{"name": "first", "text": 'say "hi"\n'}]
    }
    assert tomllib.loads((tmp_path / "workspace.toml").read_text()) == {
        "version": 1,
        "name": tmp_path.name,
    }
    path = tmp_path / "messages.toml"
    path.write_text("# ours\n" + path.read_text())
    append_message(tmp_path, SavedMessage("bytes", MessageFormat.HEX, "00 ff"))
    text = path.read_text()
    assert text.startswith("# ours\n")
    assert [m["name"] for m in tomllib.loads(text)["message"]] == ["first", "bytes"]

    with pytest.raises(WorkspaceError, match="already called 'first'"):
        append_message(tmp_path, SavedMessage("first", MessageFormat.TEXT, "again"))
    with pytest.raises(WorkspaceError, match="json is not JSON"):
        append_message(tmp_path, SavedMessage("bad", MessageFormat.JSON, "{oops"))
    path.write_text("[[message]\n")
    with pytest.raises(WorkspaceError, match="not valid TOML"):
        append_message(tmp_path, SavedMessage("x", MessageFormat.TEXT, "x"))
    assert path.read_text() == "[[message]\n"


def test_messages_are_reordered_whole_with_their_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "messages.toml",
        "# the file's own note\n\n"
        '[[message]]\nname = "a"\ntext = "1"\n\n'
        '# about b\n[[message]]\nname = "b"\njson = \'{"x": 1}\'\n\n'
        '[[message]]\nname = "c"\nevent = "chat"\nargs = ["hi", { n = 1 }]\n',
    )
    reorder_messages(tmp_path, ["c", "a", "b"])
    text = path.read_text()
    assert text == (
        "# the file's own note\n\n"
        '[[message]]\nname = "c"\nevent = "chat"\nargs = ["hi", { n = 1 }]\n\n'
        '[[message]]\nname = "a"\ntext = "1"\n\n'
        '# about b\n[[message]]\nname = "b"\njson = \'{"x": 1}\'\n'
    )
    with pytest.raises(WorkspaceError, match="changed on disk meanwhile"):
        reorder_messages(tmp_path, ["a", "b"])
    assert path.read_text() == text
    assert not list(tmp_path.glob(".*.partial"))
