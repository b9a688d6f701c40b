"""``inspector probe --capture-limit-…`` keeps what it may and says how much it did not;
``--log-level`` is accepted before or after the command and logs to the given file."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
import servers

from inspector.__main__ import main
from inspector.capture.store import CaptureStore
from inspector.cli.logsetup import start_logging
from inspector.core import logs


def test_capture_limit_records(ws_server: servers.RunningServer, tmp_path: Path) -> None:
    out = tmp_path / "limited.sockcap"
    sends = [arg for n in range(6) for arg in ("--send", f"message {n}")]
    rc = main(
        ["probe", ws_server.url, *sends, "--count", "6", "--quiet", "-o", str(out),
         "--capture-limit-records", "3"]
    )  # fmt: skip
    assert rc == 0
    store = CaptureStore.open(out)
    try:
        recs = store.records(0, store.count())
        summary = store.session.summary or {}
    finally:
        store.close()
    traffic = [r for r in recs if r.kind.value in ("handshake", "frame")]
    not_kept = summary["not_kept"]["records"]
    assert len(traffic) == 3  # the upgrade request and answer, and one frame
    assert not_kept >= 12 - 1  # six messages out, six echoes in, then the close
    messages = [str(r.fields.get("message", "")) for r in recs if r.kind.value == "info"]
    assert any(m.startswith(f"{not_kept} records (") and "not kept" in m for m in messages)


def test_capture_limit_needs_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "ws://127.0.0.1:9/", "--capture-limit-mb", "0"]) == 2
    assert "--capture-limit-mb" in capsys.readouterr().err


def test_log_level_goes_to_the_file_and_current_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_file_handler", None)
    root = logging.getLogger()
    level = root.level
    try:
        path = start_logging("info", tmp_path / "logs")
        assert path == tmp_path / "logs" / logs.LOG_FILE_NAME
        swapped = io.StringIO()
        monkeypatch.setattr("sys.stderr", swapped)
        logging.getLogger("inspector.test").info("hello\nthere")
        assert swapped.getvalue().strip().endswith("hello there")
        assert "hello" in path.read_text(encoding="utf-8")
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_inspector_handler", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def test_bad_log_level_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "x.sockcap", "--log-level", "chatty"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown level 'chatty'" in err


def test_the_log_folder_can_be_moved(private_log_dir: Path, monkeypatch) -> None:
    from inspector.cli.logsetup import log_dir

    assert log_dir() == private_log_dir  # tests never write to the user's data folder
    monkeypatch.delenv("INSPECTOR_LOG_DIR")
    assert log_dir().parts[-2:] == ("socket-inspector", "logs")
