"""Hostile workspace content that used to hang or exhaust memory: variables that expand
exponentially, a file that never ends (``/dev/zero``) as a workspace file, a script or
a message's file. Each is one line; nothing is read without a bound."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from inspector.cli import run_command
from inspector.core.variables import Scope, VariableError
from inspector.core.workspace import MessageFormat, SavedMessage, message_payload
from inspector.core.workspace_toml import WorkspaceError, load_file


def test_variables_that_expand_exponentially_are_one_line() -> None:
    wide = "{{b}}" * 1000
    scope = Scope(environment={"a": wide, "b": "{{c}}" * 1000, "c": "{{d}}" * 1000, "d": ""})
    with pytest.raises(VariableError, match=r"^here: variables expand too far \("):
        scope.fill("{{a}}", "here")


def test_many_ordinary_variables_still_fill() -> None:
    scope = Scope(
        environment={"host": "h", "url": "ws://{{host}}/x"}, extracted={"big": "z" * 1_000_000}
    )
    text = " ".join(["{{url}}"] * 1000) + "{{big}}"
    assert scope.fill(text, "here").endswith("z" * 1_000_000)


def test_a_workspace_file_that_never_ends_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"^/dev/zero: larger than 16 MiB"):
        load_file(Path("/dev/zero"))


def test_a_script_that_never_ends_is_refused_with_status_2() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["run", "/dev/zero", "--workspace", "/tmp"], out, err) == 2
    assert (
        err.getvalue() == "inspector run: /dev/zero: larger than 16 MiB (not a workspace file?)\n"
    )


def test_a_message_file_that_is_not_a_regular_file_is_one_line(tmp_path: Path) -> None:
    message = SavedMessage("zeros", MessageFormat.FILE, "/dev/zero")
    with pytest.raises(
        WorkspaceError, match=r"^message 'zeros': cannot read /dev/zero: not a regular file$"
    ):
        message_payload(message, Scope(), tmp_path)


def test_a_junit_report_holds_what_xml_cannot_as_escapes(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    script, junit = tmp_path / "ctl.toml", tmp_path / "r.xml"
    script.write_text(
        'name = "bell\\u0007"\n\n[[step]]\ndo = "wait"\nname = "esc\\u001b"\nseconds = 0\n'
    )
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["run", str(script), "--junit", str(junit)], out, err) == 0, err.getvalue()
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "bell\\x07"
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "step 1 (esc\\x1b)"


def test_an_export_that_never_ends_is_one_line(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["workspace", "import", "/dev/zero", str(tmp_path / "ws")]
    assert run_command(argv, out, err) == 1
    assert err.getvalue() == "inspector workspace: /dev/zero: larger than 64 MiB (not an export?)\n"
