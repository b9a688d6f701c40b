"""``inspector run`` against the real echo servers: passing scripts, a failing assertion
(exit 1, the right step), variables, captures and JUnit XML read as CI tools read it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from servers import RunningServer

from inspector.capture.store import CaptureStore
from inspector.cli import run_command
from inspector.core.records import Direction, Kind

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess and read, never an assertion


def make_workspace(root: Path, ws_url: str, tcp_url: str = "") -> Path:
    """A small workspace: endpoints, messages, two environments and a scripts folder."""
    (root / "scripts").mkdir(parents=True)
    (root / "workspace.toml").write_text('version = 1\nname = "echo"\n')
    (root / "endpoints.toml").write_text(
        f"""
[[endpoint]]
name = "echo"
url = "{{{{base}}}}/chat"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
subprotocols = ["chat.v1"]
connect_timeout = 5

[[endpoint]]
name = "line-echo"
url = "{tcp_url}"
framing = "lines"
"""
    )
    (root / "messages.toml").write_text(
        """
[[message]]
name = "hello"
text = "hello {{user}}"

[[message]]
name = "order"
json = '{"op": "order", "id": 7, "user": "{{user}}"}'

[[message]]
name = "blob"
hex = "00 01 ff"
"""
    )
    (root / "environments.toml").write_text(
        f"""
[environment.dev]
base = "{ws_url.rstrip("/")}"
user = "alice"
token = "dev-token"

[environment.loop]
base = "{{{{base}}}}"
"""
    )
    return root


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_command(["run", *argv], out, err)
    return status, out.getvalue(), err.getvalue()


CHAT = """
name = "chat"

[[step]]
do = "connect"
endpoint = "echo"

[[step]]
do = "send"
message = "order"

[[step]]
do = "expect"
json_path = "$.op"
equals = "order"
timeout = 10

[[step]]
do = "extract"
var = "order_id"
json_path = "id"

[[step]]
do = "send"
text = "id={{order_id}} for {{user}}"

[[step]]
do = "expect"
within = "any"
regex = "^id=(\\\\d+) for alice$"

[[step]]
do = "repeat"
times = 3

[[step]]
do = "send"
message = "hello"

[[step]]
do = "expect"
text = "hello alice"

[[step]]
do = "end"

[[step]]
do = "send"
text = "close-me"

[[step]]
do = "assert"
close_code = 4000
received = 5
sent = 6
latency_ms_max = 30000
"""


def test_a_script_passes_against_the_echo_server(ws_server: RunningServer, tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    (root / "scripts" / "chat.toml").write_text(CHAT)
    capture = tmp_path / "run.sockcap"
    junit = tmp_path / "report.xml"
    status, out, err = run(
        str(root / "scripts" / "chat.toml"),
        "--env",
        "dev",
        "-o",
        str(capture),
        "--junit",
        str(junit),
    )
    assert (status, err) == (0, ""), out
    assert "chat: 11 of 11 steps passed" in out
    assert 'step 4 (extract): order_id = "7"' in out
    store = CaptureStore.open(capture)
    try:
        records = list(store.records(0, store.count()))
    finally:
        store.close()
    handshake = next(
        r for r in records if r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT
    )
    assert b"Authorization: Bearer dev-token" in handshake.wire
    assert b"GET /chat " in handshake.wire
    sent = [r.payload for r in records if r.kind is Kind.FRAME and r.direction is Direction.OUT]
    assert b"id=7 for alice" in sent
    steps = [r.fields["script_step"] for r in records if "script_step" in r.fields]
    assert steps[:3] == [1, 2, 3]
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("11", "0", "0")


def test_a_failing_expect_exits_1_naming_the_step(ws_server: RunningServer, tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    script = root / "scripts" / "wrong.toml"
    script.write_text(
        """
[[step]]
do = "connect"
url = "{{base}}/"

[[step]]
do = "send"
text = "pong?"

[[step]]
do = "expect"
text = "ping!"

[[step]]
do = "send"
text = "never sent"
"""
    )
    junit = tmp_path / "report.xml"
    status, out, err = run(str(script), "--env", "dev", "--junit", str(junit))
    assert status == 1
    assert err == 'inspector run: wrong: step 3 (expect): expected text "ping!", got "pong?"\n'
    assert out.splitlines()[-1].startswith("skip step 4 (send)")
    tree = ElementTree.parse(junit)
    cases = tree.getroot().iter("testcase")
    outcome = {c.get("name"): [child.tag for child in c] for c in cases}
    assert outcome["step 3 (expect)"] == ["failure"]
    assert outcome["step 4 (send)"] == ["skipped"]
    assert outcome["step 1 (connect)"] == ["system-out"]
    failure = tree.getroot().find("testsuite/testcase/failure")
    assert failure is not None and "ping!" in (failure.get("message") or "")


def test_a_wrong_close_code_and_a_timeout_fail(ws_server: RunningServer, tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    script = root / "scripts" / "close.toml"
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{ws_server.url}"

[[step]]
do = "send"
text = "close-me"

[[step]]
do = "assert"
close_code = 1000
"""
    )
    status, _, err = run(str(script))
    assert status == 1
    assert err.endswith("step 3 (assert): expected close code 1000, got close code 4000\n")
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{ws_server.url}"

[[step]]
do = "expect"
contains = "anything"
timeout = 0.2
"""
    )
    status, _, err = run(str(script), "--json")
    assert status == 1
    assert err.endswith('expected a message containing "anything", got no message within 0.2 s\n')


def test_tcp_lines_and_saved_endpoint_options(
    ws_server: RunningServer, tcp_echo_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url, tcp_echo_server.url)
    script = root / "scripts" / "tcp.toml"
    script.write_text(
        """
[[step]]
do = "connect"
endpoint = "line-echo"

[[step]]
do = "repeat"
max = 5
until = { text = "3" }

[[step]]
do = "send"
text = "{{n}}\\n"

[[step]]
do = "expect"
regex = "^\\\\d$"

[[step]]
do = "end"

[[step]]
do = "close"
"""
    )
    status, out, err = run(str(script), "--var", "n=3", "--json")
    assert (status, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    repeat = [line for line in lines if line["kind"] == "repeat"]
    assert repeat[0]["status"] == "passed" and repeat[0]["message"].endswith("after 1 round")


def test_unknown_and_self_referring_variables_stop_before_sending(
    ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    script = root / "scripts" / "vars.toml"
    script.write_text(
        '[[step]]\ndo = "connect"\nendpoint = "echo"\n\n'
        '[[step]]\ndo = "send"\ntext = "{{nobody}}"\n'
    )
    capture = tmp_path / "never.sockcap"
    status, out, err = run(str(script), "--env", "dev", "-o", str(capture))
    assert status == 2 and out == ""
    assert err.startswith("inspector run: vars: step 2 (send): unknown variable {{nobody}} (known:")
    assert not capture.exists()
    status, _, err = run(str(script), "--env", "loop")
    assert status == 2
    assert "variable {{base}} refers to itself (base → base)" in err
    status, _, err = run(str(script), "--env", "nope")
    assert status == 2 and "no environment 'nope' (known: dev, loop)" in err


def test_process_environment_variables(
    ws_server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    script = root / "scripts" / "token.toml"
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{ws_server.url}"

[[step]]
do = "send"
text = "token {{{{env.SI_TEST_TOKEN}}}}"

[[step]]
do = "expect"
text = "token s3cret"
"""
    )
    monkeypatch.delenv("SI_TEST_TOKEN", raising=False)
    status, _, err = run(str(script))
    assert status == 2 and "{{env.SI_TEST_TOKEN}}: SI_TEST_TOKEN is not set" in err
    monkeypatch.setenv("SI_TEST_TOKEN", "s3cret")
    status, _, err = run(str(script))
    assert (status, err) == (0, "")
    assert "s3cret" not in "".join(p.read_text() for p in root.glob("*.toml"))


def test_socketio_events_by_decoded_field(socketio_server: RunningServer, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "scripts").mkdir(parents=True)
    (root / "messages.toml").write_text(
        '[[message]]\nname = "chat"\nevent = "chat"\nargs = ["hi {{user}}"]\n'
    )
    script = root / "scripts" / "sio.toml"
    url = socketio_server.url_for("/socket.io/?EIO=4&transport=websocket")
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{url}"

[[step]]
do = "expect"
where = 'engine == "open"'
decoder = "socketio"

[[step]]
do = "send"
text = "40"

[[step]]
do = "expect"
where = 'type == "CONNECT"'

[[step]]
do = "send"
text = "421{{{{chat}}}}"

[[step]]
do = "expect"
within = "any"
regex = '^431\\['

[[step]]
do = "extract"
var = "echo"
regex = '"echo":"([^"]*)"'

[[step]]
do = "send"
message = "chat"

[[step]]
do = "expect"
where = 'event == "chat"'
timeout = 0.5
"""
    )
    status, out, err = run(str(script), "--var", "user=bo", "--var", 'chat=["chat","yo"]')
    # The server answers acks and emits nothing back for an event without an ack: the
    # last expect names its decoded condition and what came (nothing).
    assert status == 1, out + err
    assert 'step 7 (extract): echo = "yo"' in out
    assert err.endswith(
        'step 9 (expect): expected decoded event == "chat", got no message within 0.5 s\n'
    )


SERVER_SCRIPT = """
name = "greeter"

[[step]]
do = "listen"
url = "{scheme}://127.0.0.1:0"

[[step]]
do = "accept"
timeout = 60

[[step]]
do = "expect"
regex = "^hello (\\\\w+)"
timeout = 60

[[step]]
do = "extract"
var = "who"
regex = "^hello (\\\\w+)"

[[step]]
do = "send"
text = "welcome {{{{who}}}}"

[[step]]
do = "expect"
text = "bye"
timeout = 60

[[step]]
do = "close"
code = 4100
reason = "done"

[[step]]
do = "assert"
received = 2
sent = 1
"""


def start_run(script: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", "run", str(script), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_listening_script_answers_a_websocket_client(tmp_path: Path) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    script = tmp_path / "greeter.toml"
    script.write_text(SERVER_SCRIPT.format(scheme="ws"))
    capture = tmp_path / "server.sockcap"
    proc = start_run(script, "-o", str(capture), "--junit", str(tmp_path / "r.xml"))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ok   step 1 (listen): listening on ws://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        with connect(url, open_timeout=RUN_TIMEOUT) as client:
            client.send("hello ada")
            assert client.recv(timeout=RUN_TIMEOUT) == "welcome ada"
            client.send("bye")
            with pytest.raises(ConnectionClosed) as closed:
                client.recv(timeout=RUN_TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4100
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=RUN_TIMEOUT)
    assert (proc.returncode, err) == (0, ""), out
    assert "greeter: 8 of 8 steps passed" in out
    suite = ElementTree.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    store = CaptureStore.open(capture)
    try:
        kinds = {r.kind for r in store.records(0, store.count())}
    finally:
        store.close()
    assert Kind.LISTENING in kinds


def test_a_listening_tcp_script_fails_on_the_wrong_message(tmp_path: Path) -> None:
    import socket

    script = tmp_path / "greeter.toml"
    script.write_text(SERVER_SCRIPT.format(scheme="tcp"))
    proc = start_run(script)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        port = int(first.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=RUN_TIMEOUT) as client:
            client.sendall(b"goodbye\n")
            _, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=RUN_TIMEOUT)
    assert proc.returncode == 1
    expected = r"expected a message matching /^hello (\w+)/, got " + json.dumps("goodbye\n")
    assert err == f"inspector run: greeter: step 3 (expect): {expected}\n"


def test_bad_decoded_conditions_are_found_before_the_run(tmp_path: Path) -> None:
    script = tmp_path / "where.toml"
    for where, line in (
        ('decoder = "nonesuch"\nwhere = \'event == "x"\'', "no decoder 'nonesuch' (known: "),
        ("where = 'event ~ \"(\"'", "bad regular expression in 'event ~ \"(\"'"),
    ):
        script.write_text(
            f'[[step]]\ndo = "connect"\nurl = "ws://127.0.0.1:9/"\n\n'
            f'[[step]]\ndo = "expect"\n{where}\n'
        )
        status, out, err = run(str(script))
        assert (status, out) == (2, "")
        assert err.startswith(f"inspector run: where: step 2 (expect): {line}"), err


def test_usage_errors_are_one_line_and_status_2(tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[[step]]\ndo = "wait"\nseconds = 0\n')
    for argv, line in (
        ((), "inspector run: the following arguments are required: file"),
        ((str(tmp_path / "missing.toml"),), "inspector run: cannot read "),
        ((str(script), "--var", "novalue"), "inspector run: --var 'novalue': give NAME=VALUE"),
    ):
        status, _, err = run(*argv)
        assert status == 2 and err.startswith(line) and err.count("\n") == 1, err
    status, out, err = run(str(script))
    assert (status, err, out.splitlines()[-1]) == (0, "", "s: 1 of 1 steps passed")
