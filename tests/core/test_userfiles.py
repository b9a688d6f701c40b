"""Files a person hands the inspector are read bounded, each failure one line in the
caller's error type: a device that never ends, a missing file, bytes that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.core.rulefile import load_rules
from inspector.core.rules import RuleError
from inspector.core.userfiles import read_bounded, read_text
from inspector.core.workspace_toml import WorkspaceError


def test_a_device_that_never_ends_is_one_line_not_a_hang() -> None:
    with pytest.raises(RuleError) as caught:
        load_rules("/dev/zero")
    assert str(caught.value) == "rules file /dev/zero: larger than 1 MiB"


def test_each_failure_is_one_line_in_the_callers_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    with pytest.raises(WorkspaceError, match=r"^cannot read .*gone\.toml: No such file"):
        read_text(missing, 100, WorkspaceError)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"ok\xff")
    with pytest.raises(WorkspaceError) as caught:
        read_text(bad, 100, WorkspaceError, label="workspace file ")
    assert str(caught.value) == f"workspace file {bad}: not UTF-8 (byte 2)"
    with pytest.raises(WorkspaceError) as caught:
        read_bounded(bad, 2, WorkspaceError, hint="not a workspace file?")
    assert str(caught.value) == f"{bad}: larger than 2 bytes (not a workspace file?)"
    assert read_bounded(bad, 3, WorkspaceError) == b"ok\xff"
