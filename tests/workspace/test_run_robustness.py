"""``inspector run`` when things go wrong around the script: a signal mid-run, report
and capture paths that are pipes or missing folders, and values a peer sent."""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from servers import RunningServer

from inspector.capture.store import CaptureStore
from inspector.cli import run_command
from inspector.core.records import Kind

RUN_TIMEOUT = 60  # seconds: a bound on every subprocess and read, never an assertion

WAITING = """
name = "waiting"

[[step]]
do = "listen"
url = "tcp://127.0.0.1:0"

[[step]]
do = "accept"
timeout = 600

[[step]]
do = "send"
text = "never"
"""

QUICK = '[[step]]\ndo = "wait"\nseconds = 0\n'


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_command(["run", *argv], out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_and_keeps_its_capture_and_report(
    tmp_path: Path, sig: signal.Signals
) -> None:
    script = tmp_path / "waiting.toml"
    script.write_text(WAITING)
    capture, junit = tmp_path / "run.sockcap", tmp_path / "report.xml"
    argv = ["run", str(script), "-o", str(capture), "--junit", str(junit)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ok   step 1 (listen): listening on tcp://127.0.0.1:"), first
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=RUN_TIMEOUT)
    line = f"waiting: step 2 (accept): stopped by {sig.name}"
    assert (proc.returncode, err) == (128 + sig, f"inspector run: {line}\n")
    assert out.splitlines() == [f"FAIL {line}", "skip step 3 (send)"]
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")
    failure = suite.find("testcase[@name='step 2 (accept)']/failure")
    assert failure is not None and failure.get("message") == line
    store = CaptureStore.open(capture)
    try:
        records = list(store.records(0, store.count()))
    finally:
        store.close()
    assert [r.kind for r in records][-1] is Kind.CLOSED  # the listener was stopped


def test_a_junit_report_into_a_pipe_is_written_into_it(tmp_path: Path) -> None:
    script, pipe = tmp_path / "quick.toml", tmp_path / "report.pipe"
    script.write_text(QUICK)
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status, _, err = run(str(script), "--junit", str(pipe))
        report = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert (status, err) == (0, "")
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)  # not replaced by a regular file
    suite = ElementTree.fromstring(report).find("testsuite")
    assert suite is not None and suite.get("tests") == "1"


def test_a_junit_report_that_cannot_be_written_exits_2_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "quick.toml"
    script.write_text(QUICK)
    target = tmp_path / "missing" / "report.xml"
    status, out, err = run(str(script), "--junit", str(target))  # found before the run
    assert (status, out) == (2, "")
    assert err == f"inspector run: cannot write {target}: no folder {target.parent}\n"
    target.parent.mkdir()
    target.mkdir()  # a folder where the report should go: found when it is written
    status, out, err = run(str(script), "--junit", str(target))
    assert status == 2
    assert err == f"inspector run: cannot write {target}: Is a directory\n"
    assert out.splitlines() == ["ok   step 1 (wait)"]


def test_a_capture_path_that_is_a_pipe_is_refused_not_replaced(
    ws_server: RunningServer, tmp_path: Path
) -> None:
    script, pipe = tmp_path / "connect.toml", tmp_path / "capture.pipe"
    script.write_text(f'[[step]]\ndo = "connect"\nurl = "{ws_server.url}"\n')
    os.mkfifo(pipe)
    status, _, err = run(str(script), "-o", str(pipe))
    assert status == 1
    assert f"cannot create capture file {pipe}: not a regular file" in err
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_an_extracted_value_is_taken_as_it_came(ws_server: RunningServer, tmp_path: Path) -> None:
    script = tmp_path / "braces.toml"
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{ws_server.url}"

[[step]]
do = "send"
hex = "{b"{{nope}}".hex()}"

[[step]]
do = "expect"
contains = "nope"

[[step]]
do = "extract"
var = "got"
regex = "(.*)"

[[step]]
do = "send"
text = "echo {{{{got}}}}"

[[step]]
do = "expect"
regex = '^echo \\{{\\{{nope}}}}$'
"""
    )
    status, out, err = run(str(script))
    assert (status, err) == (0, ""), out


@pytest.mark.parametrize(
    ("steps", "line"),
    [
        ('do = "send"\nhex = "zz"', "s.toml: step 1: hex is not hexadecimal digits"),
        ('do = "extract"\nvar = "v"\nregex = "("', "s.toml: step 1: bad regex: missing ), "),
        ('do = "wait"\nseconds = inf', "s.toml: step 1: seconds must be a number of 0 or more"),
        ('do = "connect"\nurl = "htp://x"', "s: step 1 (connect): unknown scheme 'htp'"),
        ('do = "listen"\nurl = "tcp://127.0.0.1:99999"', "s: step 1 (listen): "),
    ],
)
def test_what_a_script_gets_wrong_is_found_before_the_run(
    tmp_path: Path, steps: str, line: str
) -> None:
    script = tmp_path / "s.toml"
    script.write_text(f"[[step]]\n{steps}\n")
    status, out, err = run(str(script))
    assert (status, out) == (2, "")
    assert err.startswith(f"inspector run: {script if 'toml' in line else ''}") and line in err
    assert err.count("\n") == 1, err


def test_a_regex_made_bad_by_a_variable_fails_its_step(
    ws_server: RunningServer, tmp_path: Path
) -> None:
    script = tmp_path / "paren.toml"
    script.write_text(
        f"""
[[step]]
do = "connect"
url = "{ws_server.url}"

[[step]]
do = "send"
text = "("

[[step]]
do = "expect"
text = "("

[[step]]
do = "extract"
var = "v"
regex = "(.*)"

[[step]]
do = "send"
text = "x"

[[step]]
do = "expect"
regex = "{{{{v}}}}"
"""
    )
    junit = tmp_path / "r.xml"
    status, out, err = run(str(script), "--junit", str(junit))
    line = "paren: step 6 (expect): bad regex: missing ), unterminated subpattern at position 0"
    assert (status, err) == (1, f"inspector run: {line}\n")
    assert out.splitlines()[-1] == f"FAIL {line}"
    assert junit.exists()


def test_a_url_that_is_bad_once_filled_in_is_found_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "environments.toml").write_text('[environment.dev]\nbase = "htp://x"\n')
    script = tmp_path / "s.toml"
    script.write_text('[[step]]\ndo = "connect"\nurl = "{{base}}/chat"\n')
    status, out, err = run(str(script), "--workspace", str(tmp_path), "--env", "dev")
    assert (status, out) == (2, "")
    assert err.startswith("inspector run: s: step 1 (connect): unknown scheme 'htp'"), err


def test_a_listening_script_may_use_its_listen_url(tmp_path: Path) -> None:
    script = tmp_path / "self.toml"
    script.write_text(
        '[[step]]\ndo = "listen"\nurl = "ws://127.0.0.1:0/"\n\n'
        '[[step]]\ndo = "connect"\nurl = "{{listen_url}}"\n'
    )
    status, out, err = run(str(script))
    assert (status, err) == (0, ""), out
    listening, connected = out.splitlines()[:2]
    url = listening.rsplit(" ", 1)[1]
    assert connected == f"ok   step 2 (connect): connected to {url}"


class _FullDisk(io.StringIO):
    """A stdout on a full disk."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    script, capture = tmp_path / "quick.toml", tmp_path / "run.sockcap"
    script.write_text('[[step]]\ndo = "listen"\nurl = "tcp://127.0.0.1:0"\n')
    err = io.StringIO()
    status = run_command(["run", str(script), "-o", str(capture)], _FullDisk(), err)
    assert (status, err.getvalue()) == (
        2,
        "inspector run: cannot write the output: No space left on device\n",
    )
    store = CaptureStore.open(capture)  # the listener was stopped, its capture finished
    try:
        assert [r.kind for r in store.records(0, store.count())][-1] is Kind.CLOSED
    finally:
        store.close()


def test_a_count_assertion_counts_in_words(tmp_path: Path) -> None:
    script = tmp_path / "one.toml"
    script.write_text(
        '[[step]]\ndo = "listen"\nurl = "tcp://127.0.0.1:0"\n\n'
        '[[step]]\ndo = "assert"\nreceived = 1\n'
    )
    status, _, err = run(str(script))
    assert (status, err) == (
        1,
        "inspector run: one: step 2 (assert): expected 1 message received, got 0\n",
    )
