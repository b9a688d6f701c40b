"""Endpoint options in endpoints.toml: every option the app writes reads back, and a
value the session could not use is one line when the file is read, not a failure later."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inspector.core.options import SessionOptions
from inspector.core.workspace import SavedEndpoint, Workspace, load_workspace, save_workspace
from inspector.core.workspace_toml import WorkspaceError


def test_options_without_a_default_value_round_trip(tmp_path: Path) -> None:
    options = dataclasses.replace(
        SessionOptions(),
        ping_interval=5.0,
        ping_timeout=2.5,
        keepalive=30.0,
        keepalive_text="ping\n",
        reconnect=True,
        reconnect_max=3,
        compression_level=9,
        speak_options=(("keepalive", "30"),),
    )
    workspace = Workspace(tmp_path, "w", (SavedEndpoint("live", "ws://127.0.0.1:9/", options),))
    save_workspace(workspace)
    assert load_workspace(tmp_path).endpoints == workspace.endpoints


def test_whole_numbers_in_a_float_option_are_read(tmp_path: Path) -> None:
    (tmp_path / "endpoints.toml").write_text(
        '[[endpoint]]\nname = "a"\nurl = "ws://h/"\nping_interval = 5\nreconnect_max = 2\n'
    )
    (endpoint,) = load_workspace(tmp_path).endpoints
    assert (endpoint.options.ping_interval, endpoint.options.reconnect_max) == (5.0, 2)


@pytest.mark.parametrize(
    ("option", "line"),
    [
        ("connect_timeout = inf", "connect_timeout: a positive number"),
        ("ping_interval = -1", "ping_interval: a positive number"),
        ("compression_level = 99", "compression_level: a whole number from 0 to 9"),
        ("max_size = 99999999999999999999", "max_size: a whole number from 0 to "),
        ("reconnect_max = 1.5", "reconnect_max: a whole number from 0 to "),
        ("headers = { a = { b = 1 } }", "headers: a table of name = value, or [name, value]"),
        ('headers = [["a"]]', "headers: a table of name = value, or [name, value]"),
    ],
)
def test_option_values_a_session_cannot_use_are_one_line(
    tmp_path: Path, option: str, line: str
) -> None:
    (tmp_path / "endpoints.toml").write_text(
        f'[[endpoint]]\nname = "a"\nurl = "ws://h/"\n{option}\n'
    )
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/endpoints.toml: [[endpoint]] 1: {line}"), message


def test_json_with_braces_but_no_variable_is_checked_when_read(tmp_path: Path) -> None:
    (tmp_path / "messages.toml").write_text('[[message]]\nname = "m"\njson = "{{oops"\n')
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path)
    assert "messages.toml: [[message]] 1 (m): json is not JSON" in str(caught.value)
