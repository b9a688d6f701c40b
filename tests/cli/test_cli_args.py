"""The command-line grammar: escapes, hex, headers, ordered sends, usage errors (exit 2)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.__main__ import main
from inspector.cli.args import Send, build_probe_parser, parse_header, parse_hex, unescape


def test_unescape_understands_the_documented_escapes() -> None:
    assert unescape("plain") == b"plain"
    assert unescape(r"a\r\nb\tc\\d") == b"a\r\nb\tc\\d"
    assert unescape(r"\x00\xFF\x7f") == b"\x00\xff\x7f"
    assert unescape("héllo") == "héllo".encode()
    assert unescape(r"\xc3\xa9") == "é".encode()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (r"ab\q", "position 3"),
        ("abc\\", "position 4"),
        (r"\x4", "position 1"),
        (r"x\xzz", "position 2"),
    ],
)
def test_unescape_rejects_bad_escapes_naming_the_position(text: str, where: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=where):
        unescape(text)


def test_parse_hex_allows_spaces_and_colons() -> None:
    assert parse_hex("81 05 68656c 6c6f") == b"\x81\x05hello"
    assert parse_hex("de:ad:BE:ef") == b"\xde\xad\xbe\xef"
    assert parse_hex("") == b""


def test_parse_hex_errors_name_position_or_odd_count() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'g' at position 4"):
        parse_hex("01 g2")
    with pytest.raises(argparse.ArgumentTypeError, match="odd number"):
        parse_hex("012")


def test_parse_header() -> None:
    assert parse_header("Authorization: Bearer x:y") == ("Authorization", "Bearer x:y")
    for bad in ("no colon", ": value", "bad name: v"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_header(bad)


def test_sends_keep_command_line_order() -> None:
    args = build_probe_parser().parse_args(
        ["ws://h/", "--send-hex", "01", "--send", "a", "--send-file", "f", "--send", r"b\n"]
    )
    assert args.sends == [
        Send("hex", b"\x01"), Send("text", b"a"), Send("file", "f"), Send("text", b"b\n"),
    ]  # fmt: skip


def test_defaults() -> None:
    args = build_probe_parser().parse_args(["ws://h/"])
    assert args.sends == [] and args.headers == [] and args.subprotocols == []
    assert args.compression and args.auto_pong and not args.insecure
    assert args.timeout == 10.0 and args.wait is None and args.count is None


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *argv], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["probe"], "URL"),
        (["probe", "ws://h/", "--send-hex", "0x1"], "'x' at position 2"),
        (["probe", "ws://h/", "--send", "\\q"], "unknown escape"),
        (["probe", "ws://h/", "--count", "0"], "--count"),
        (["probe", "ws://h/", "--timeout", "-1"], "--timeout"),
        (["probe", "ws://h/", "--framing", "xml"], "--framing"),
        (["probe", "ws://h/", "--compression-level", "10"], "--compression-level"),
        (["probe", "ws://h/", "--deflate-offer", "zip=1"], "unknown permessage-deflate"),
        (["probe", "ws://h/", "--no-compress", "--compression-level", "1"], "--no-compress"),
        (["probe", "ws://h/", "--deflate-offer", "", "--no-compress"], "--deflate-offer asks"),
        (["probe", "ws://h/", "--bogus"], "--bogus"),
        (["probe", "ftp://h/"], "unknown scheme"),
        (["probe", "tcp://h"], "needs a port"),
        (["--nope"], "--nope"),
        (["--capture-dir"], "--capture-dir"),
        (["ws://a/", "ws://b/"], "unrecognized"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and words in captured.err


def test_send_file_missing_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "ws://127.0.0.1:9/", "--send-file", "/nonexistent/x.bin"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/nonexistent/x.bin" in err


def test_websocket_text_must_be_utf8(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "ws://127.0.0.1:9/", "--send", r"\xff"]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"socket-inspector \d+\.\d+\.\d+\n", result.stdout)


def test_probe_help_mentions_every_option() -> None:
    parser = build_probe_parser()
    result = _run("probe", "--help")
    assert result.returncode == 0
    options = [s for action in parser._actions for s in action.option_strings]
    assert len(options) > 20
    for option in options:
        assert option in result.stdout, option
    assert "examples:" in result.stdout and "exit status" in result.stdout


def test_probe_help_shows_escapes_as_typed_and_sockcap_examples() -> None:
    result = _run("probe", "--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    # the framing note names the escape a user types, on one line
    assert any("a missing \\n is added;" in line for line in lines), result.stdout
    assert not any(line.rstrip().endswith("a missing") for line in lines)
    outputs = re.findall(r"(?:-o|--output) (\S+)", result.stdout.split("examples:", 1)[1])
    assert outputs and all(name.endswith(".sockcap") for name in outputs), outputs


def test_main_help_lists_commands_options_and_examples() -> None:
    result = _run("--help")
    assert result.returncode == 0
    words_expected = (
        "probe", "--capture-dir", "--version", "examples:", "--send-hex", "--json",
        "inspector show", "inspector export", "--filter-dir", "--include-secrets",
    )  # fmt: skip
    for words in words_expected:
        assert words in result.stdout


def test_probe_path_does_not_import_qt() -> None:
    """Nor, for tcp://, websockets or cryptography: a probe in a script starts fast."""
    code = (
        "import sys; from inspector.__main__ import main; "
        "rc = main(['probe', 'tcp://127.0.0.1:1', '--timeout', '2', '--quiet']); "
        "assert 'PySide6' not in sys.modules and 'qasync' not in sys.modules, 'Qt loaded'; "
        "assert not {'websockets', 'cryptography'} & set(sys.modules), 'loaded unused'; "
        "print('rc', rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "Qt loaded" not in result.stderr and "loaded unused" not in result.stderr
    assert result.stdout.strip() == "rc 1", result.stderr
    assert "refused" in result.stderr


def test_show_and_export_paths_do_not_import_qt(tmp_path: Path) -> None:
    har = Path(__file__).parent.parent / "capture" / "formats" / "data" / "chrome_websocket.har"
    out = tmp_path / "out.pcapng"
    code = (
        "import sys; from inspector.__main__ import main; "
        f"shown = main(['show', {str(har)!r}, '--json']); "
        f"exported = main(['export', {str(har)!r}, '-o', {str(out)!r}]); "
        "assert 'PySide6' not in sys.modules and 'qasync' not in sys.modules, 'Qt loaded'; "
        "print('rc', shown, exported, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "Qt loaded" not in result.stderr
    assert result.stderr.splitlines()[-1] == "rc 0 0", result.stderr
    assert '"kind": "frame"' in result.stdout
    assert out.stat().st_size > 0


def test_compression_level_reaches_the_session_options() -> None:
    from inspector.cli.probe import options_from_args

    args = build_probe_parser().parse_args(["ws://127.0.0.1:1/", "--compression-level", "1"])
    assert options_from_args(args).compression_level == 1
    default = build_probe_parser().parse_args(["ws://127.0.0.1:1/"])
    assert options_from_args(default).compression_level is None
    offer = "client_no_context_takeover"
    args = build_probe_parser().parse_args(["ws://127.0.0.1:1/", "--deflate-offer", offer])
    assert options_from_args(args).deflate_offer == offer
