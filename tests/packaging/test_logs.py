"""inspector.core.logs: --log-level to stderr and a rotating file; unexpected errors as one line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was (pytest's own handlers stay)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    logs._file_handler = None


def _fail_deep() -> None:
    raise RuntimeError("the store went away\nsecond line")


def _raised() -> RuntimeError:
    try:
        _fail_deep()
    except RuntimeError as exc:
        return exc
    raise AssertionError("_fail_deep did not raise")


def test_setup_creates_the_directory_and_returns_the_file(tmp_path: Path) -> None:
    log_dir = tmp_path / "data" / "logs"
    path = logs.setup_logging("warning", log_dir, stream=io.StringIO())
    assert path == log_dir / logs.LOG_FILE_NAME
    assert path.is_file()
    assert logs.log_file() == path


def test_default_level_writes_warnings_to_both_and_drops_debug(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = logs.setup_logging(logs.DEFAULT_LOG_LEVEL, tmp_path, stream=stream)
    logging.getLogger("inspector.test").warning("disk %s is full", "sda1")
    logging.getLogger("inspector.test").debug("chatty detail")
    assert stream.getvalue() == "inspector: WARNING: inspector.test: disk sda1 is full\n"
    text = path.read_text(encoding="utf-8")
    assert "WARNING" in text and "disk sda1 is full" in text
    assert "chatty detail" not in text


def test_debug_level_shows_debug_records(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = logs.setup_logging("DEBUG", tmp_path, stream=stream)
    logging.getLogger("inspector.test").debug("chatty detail")
    assert "chatty detail" in stream.getvalue()
    assert "chatty detail" in path.read_text(encoding="utf-8")


def test_unknown_level_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown log level 'loud' \(choose from debug, "):
        logs.setup_logging("loud", tmp_path)
    assert not (tmp_path / logs.LOG_FILE_NAME).exists()


def test_stderr_gets_one_line_and_the_file_the_traceback(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = logs.setup_logging("warning", tmp_path, stream=stream)
    exc = _raised()
    logging.getLogger("inspector.ui").error("slot failed", exc_info=exc)
    assert stream.getvalue() == "inspector: ERROR: inspector.ui: slot failed\n"
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "_fail_deep" in text


def test_describe_unexpected_is_one_line_pointing_at_the_log(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = logs.setup_logging("critical", tmp_path, stream=stream)
    line = logs.describe_unexpected(_raised(), where="open capture")
    assert line == (
        f"unexpected error: RuntimeError: the store went away second line (details in {path})"
    )
    assert stream.getvalue() == ""
    text = path.read_text(encoding="utf-8")
    assert "unexpected error in open capture" in text
    assert "Traceback (most recent call last)" in text and "_fail_deep" in text


def test_describe_unexpected_without_a_message_and_too_long(tmp_path: Path) -> None:
    logs.setup_logging("warning", tmp_path, stream=io.StringIO())
    assert logs.describe_unexpected(KeyError()).startswith("unexpected error: KeyError (details")
    line = logs.describe_unexpected(ValueError("x" * 5000))
    assert "\n" not in line
    assert len(line) < logs.MAX_MESSAGE_CHARS + 200
    assert "…" in line


def test_describe_unexpected_before_setup_has_no_path() -> None:
    assert logs.log_file() is None
    line = logs.describe_unexpected(OSError("boom"))
    assert line == "unexpected error: OSError: boom"


def test_setting_up_twice_replaces_the_handlers(tmp_path: Path) -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.setup_logging("warning", tmp_path / "a", stream=first)
    path = logs.setup_logging("warning", tmp_path / "b", stream=second)
    logging.getLogger("inspector.test").warning("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert path.read_text(encoding="utf-8").count("once") == 1
    assert "once" not in (tmp_path / "a" / logs.LOG_FILE_NAME).read_text(encoding="utf-8")


def test_unwritable_directory_is_an_oserror_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(OSError, match=r"cannot write the log file .*not-a-directory"):
        logs.setup_logging("warning", blocker / "logs", stream=io.StringIO())


def test_the_file_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 4096)
    path = logs.setup_logging("info", tmp_path, stream=io.StringIO())
    for index in range(200):
        logging.getLogger("inspector.test").info("line %d %s", index, "x" * 60)
    backups = sorted(p.name for p in tmp_path.iterdir())
    assert backups == [
        logs.LOG_FILE_NAME,
        *(f"{logs.LOG_FILE_NAME}.{n}" for n in range(1, logs.LOG_BACKUPS + 1)),
    ]
    assert path.stat().st_size <= 4096
    assert "line 199" in path.read_text(encoding="utf-8")
