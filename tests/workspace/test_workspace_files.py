"""Workspace files: every kind written and read back the same; hostile files give one
line naming the file and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.core.options import Framing, SessionOptions
from inspector.core.script import dump_script, load_script, script_from_data
from inspector.core.variables import Scope, VariableError
from inspector.core.workspace import (
    MessageFormat,
    SavedEndpoint,
    SavedMessage,
    Workspace,
    load_workspace,
    message_payload,
    save_workspace,
)
from inspector.core.workspace_toml import WorkspaceError, dumps

FULL_OPTIONS = SessionOptions(
    headers=(("Authorization", "Bearer {{token}}"), ("X-Trace", 'a "quoted" \\ value')),
    subprotocols=("graphql-transport-ws", "chat.v1"),
    origin="https://app.example",
    compression=False,
    compression_level=1,
    deflate_offer="client_no_context_takeover",
    max_size=1024,
    auto_pong=False,
    framing=Framing.LEN16,
    verify=False,
    cafile="certs/ca.pem",
    connect_timeout=2.5,
)


def sample_workspace(root: Path) -> Workspace:
    return Workspace(
        root,
        "team probes",
        endpoints=(
            SavedEndpoint("chat", "wss://{{host}}/chat?room=1", FULL_OPTIONS),
            SavedEndpoint("plain", "tcp://127.0.0.1:7"),
            SavedEndpoint("twice", "ws://h/", SessionOptions(headers=(("A", "1"), ("A", "2")))),
        ),
        messages=(
            SavedMessage("hello", MessageFormat.TEXT, 'hello\n\t"you" ünïcode'),
            SavedMessage("order", MessageFormat.JSON, '{"op": "order", "n": [1, 2.5, null]}'),
            SavedMessage("blob", MessageFormat.HEX, "00 01 ff"),
            SavedMessage("echoed", MessageFormat.TEXT, "as sent: {{who}}", verbatim=True),
            SavedMessage("image", MessageFormat.FILE, "files/logo.png"),
            SavedMessage(
                "chat",
                MessageFormat.SOCKETIO,
                event="chat",
                args=("hi", {"n": 1, "tags": ["a"]}),
                namespace="/admin",
            ),
        ),
        environments={"dev": {"host": "localhost:8765", "token": "t"}, "prod": {"host": "x.y"}},
    )


def test_every_workspace_file_round_trips(tmp_path: Path) -> None:
    workspace = sample_workspace(tmp_path / "ws")
    save_workspace(workspace)
    assert load_workspace(tmp_path / "ws") == workspace
    save_workspace(load_workspace(tmp_path / "ws"))
    assert load_workspace(tmp_path / "ws") == workspace


def test_messages_become_bytes_with_variables(tmp_path: Path) -> None:
    workspace = sample_workspace(tmp_path)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "logo.png").write_bytes(b"\x89PNG")
    scope = Scope(environment={"who": "ann"})
    payload = {m.name: message_payload(m, scope, tmp_path) for m in workspace.messages}
    assert payload["blob"] == (b"\x00\x01\xff", False)
    assert payload["image"] == (b"\x89PNG", False)
    assert payload["chat"] == (b'42/admin,["chat","hi",{"n":1,"tags":["a"]}]', True)
    assert payload["echoed"] == (b"as sent: {{who}}", True)  # verbatim: nothing filled
    templated = SavedMessage("t", MessageFormat.JSON, '{"user": "{{who}}"}')
    assert message_payload(templated, scope, tmp_path) == (b'{"user": "ann"}', True)


SCRIPT = """
name = "login"
description = "log in, then ask for the time"

[[step]]
do = "connect"
endpoint = "chat"

[[step]]
do = "send"
name = "log in"
json = '{"op": "login", "token": "{{env.API_TOKEN}}"}'

[[step]]
do = "expect"
within = "any"
json_path = "$.status"
equals = "ok"
timeout = 3

[[step]]
do = "repeat"
max = 4
until = { where = 'event == "done"', decoder = "socketio" }

[[step]]
do = "repeat"
times = 2

[[step]]
do = "wait"
seconds = 0.5

[[step]]
do = "end"

[[step]]
do = "end"

[[step]]
do = "close"
code = 4001
reason = "bye"

[[step]]
do = "assert"
close_code = 4001
latency_ms_max = 250
received_min = 1
"""


def test_a_script_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "login.toml"
    path.write_text(SCRIPT)
    script = load_script(path)
    assert [s.kind for s in script.steps] == [
        "connect",
        "send",
        "expect",
        "repeat",
        "close",
        "assert",
    ]
    assert [s.number for s in script.walk()] == [1, 2, 3, 4, 5, 6, 9, 10]
    again = tmp_path / "again.toml"
    again.write_text(dump_script(script))
    assert load_script(again).steps == script.steps
    assert load_script(again).description == script.description


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[step]\ndo = "send"', "{path}: not valid TOML: "),
        ('[[step]]\ndo = "jump"', "{path}: step 1: unknown step 'jump' (use connect, send,"),
        (
            '[[step]]\ndo = "repeat"\ntimes = 2\n[[step]]\ndo = "wait"\nseconds = 1',
            "{path}: step 1: repeat without an end",
        ),
        ('[[step]]\ndo = "end"', "{path}: step 1: end without a repeat"),
        (
            '[[step]]\ndo = "repeat"\nuntil = { text = "x" }',
            "{path}: step 1: repeat until needs max (a bound on the rounds)",
        ),
        (
            '[[step]]\ndo = "send"\ntext = "a"\nhex = "00"',
            "{path}: step 1: send needs one of message, text, json or hex",
        ),
        ('[[step]]\ndo = "expect"\ntimeout = 1', "{path}: step 1: says nothing to match"),
        ('[[step]]\ndo = "expect"\nregex = "("', "{path}: step 1: bad regex: "),
        ('[[step]]\ndo = "wait"\nseconds = -1', "{path}: step 1: seconds must be a number of 0"),
        ('[[step]]\ndo = "close"\nbogus = 1', "{path}: step 1: close has no key 'bogus'"),
        ('name = "x"', "{path}: no [[step]] tables"),
        (b"\xff\xfe", "{path}: not UTF-8 (byte 0)"),
    ],
)
def test_hostile_scripts_are_one_line(tmp_path: Path, text: str | bytes, line: str) -> None:
    path = tmp_path / "bad.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(WorkspaceError) as caught:
        load_script(path)
    message = str(caught.value)
    assert message.startswith(line.format(path=path)), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (
            "endpoints.toml",
            '[[endpoint]]\nname = "a"\nurl = "ws://h/"\nverify = "no"',
            "endpoints.toml: [[endpoint]] 1: verify: true or false",
        ),
        (
            "endpoints.toml",
            '[[endpoint]]\nname = "a"\nurl = "ws://h/"\nproxie = "x"',
            "endpoints.toml: [[endpoint]] 1: unknown key 'proxie' (options: headers,",
        ),
        (
            "endpoints.toml",
            '[[endpoint]]\nname = "a"',
            "endpoints.toml: [[endpoint]] 1: url is missing",
        ),
        (
            "messages.toml",
            '[[message]]\nname = "m"\ntext = "a"\nhex = "00"',
            "messages.toml: [[message]] 1 (m): give exactly one of",
        ),
        (
            "messages.toml",
            '[[message]]\nname = "m"\njson = "{oops"',
            "messages.toml: [[message]] 1 (m): json is not JSON",
        ),
        (
            "messages.toml",
            '[[message]]\nname = "m"\ntext = "a"\n[[message]]\nname = "m"\ntext = ""',
            "messages.toml: two messages are called 'm'",
        ),
        (
            "messages.toml",
            '[[message]]\nname = "m"\ntext = "a"\nverbatim = "yes"',
            "messages.toml: [[message]] 1 (m): verbatim: true or false",
        ),
        (
            "messages.toml",
            '[[message]]\nname = "m"\nfile = "a.bin"\nverbatim = true',
            "messages.toml: [[message]] 1 (m): unknown key 'verbatim'",
        ),
        ("environments.toml", "environment = 3", "environments.toml: environments must be"),
        ("workspace.toml", "version = 9", "workspace.toml: version 9 is not 1"),
        ("workspace.toml", "version = ", "workspace.toml: not valid TOML"),
    ],
)
def test_hostile_workspace_files_are_one_line(
    tmp_path: Path, name: str, text: str, line: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/{line}"), message


def test_variables_refer_to_each_other_but_not_in_a_circle() -> None:
    scope = Scope(
        environment={"host": "h:1", "url": "ws://{{host}}/", "a": "{{b}}", "b": "{{a}}"},
        overrides={"host": "override:2"},
        process={"TOKEN": "{{not expanded}}"},
    )
    assert scope.fill("{{url}}x{{ env.TOKEN }}", "here") == "ws://override:2/x{{not expanded}}"
    with pytest.raises(
        VariableError, match=r"^here: variable \{\{a\}\} refers to itself \(a → b → a\)$"
    ):
        scope.fill("{{a}}", "here")
    with pytest.raises(
        VariableError, match=r"^there: unknown variable \{\{nope\}\} \(known: a, b, host, url\)$"
    ):
        scope.fill("{{nope}}", "there")
    scope.check([("{{later}} {{host}}", "step")], later=["later"])
    assert (
        script_from_data({"step": [{"do": "wait", "seconds": 1}]}, "s").steps[0].args["seconds"]
        == 1
    )


def test_the_writer_reads_back_what_it_wrote() -> None:
    import tomllib

    doc = {
        "a": 'x"\\\n\u0001',
        "b": [1, 2.5, True],
        "t": {"k.k": {"n": "v"}, "z": []},
        "s": [{"x": 1}],
    }
    assert tomllib.loads(dumps(doc)) == doc
