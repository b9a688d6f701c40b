"""The ``socket_inspector.decoders`` entry-point group: a tiny distribution put on
sys.path (its module and an ``entry_points.txt``) adds a decoder that ``auto`` chooses
by subprotocol and ``inspector show --decode`` uses; a broken one is reported, not fatal."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.cli.output import json_line
from inspector.core.records import Direction, Kind, make_record
from inspector.protocols.decoders import (
    DecodeContext,
    choose,
    decoders,
    plugin_errors,
    reload_plugins,
)

PLUGIN = """
from inspector.protocols.decoders import Decoded, Decoder, Field


def decode(payload, context):
    text = payload.decode("utf-8", "replace")[::-1]
    return Decoded("reverse", f"reversed {text!r}", (Field("text", text, "string", text, 0,
                   len(payload)),), facts={"reversed": text})


DECODER = Decoder("reverse", "reversed text", decode, subprotocols=("reverse.v1",))


def broken():
    raise RuntimeError("no luck")
"""


def install(folder: Path, entry_points: str) -> Path:
    """A distribution on ``folder``: the module and its dist-info with entry points."""
    (folder / "tiny_reverse.py").write_text(PLUGIN)
    info = folder / "tiny_reverse-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-reverse\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return folder


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    folder = install(tmp_path, "[socket_inspector.decoders]\nreverse = tiny_reverse:DECODER\n"
                     "broken = tiny_reverse:broken\nmissing = tiny_reverse:NOPE\n")  # fmt: skip
    # Not monkeypatch.syspath_prepend: it calls pkg_resources when that is loaded, and
    # kosoku (the in-process Autobahn client) loads a pkg_resources shim of its own.
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    reload_plugins()
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("tiny_reverse", None)
        reload_plugins()


def test_plugin_decoder_is_registered_and_chosen(plugin_dir: Path) -> None:
    decoder = decoders()["reverse"]
    assert decoder.run(b"abc", DecodeContext()).summary == "reversed 'cba'"
    chosen = choose(DecodeContext(subprotocol="reverse.v1"))
    assert chosen is not None and chosen.name == "reverse"
    errors = plugin_errors()
    assert len(errors) == 2
    assert errors[0].startswith("decoder plugin 'broken' (tiny_reverse:broken): no luck")
    assert errors[1].startswith("decoder plugin 'missing' (tiny_reverse:NOPE): ")


def test_show_uses_a_plugin(plugin_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    frame = make_record(1, 1, Direction.IN, Kind.FRAME, b"\x81\x03oll", b"oll",
                        {"opcode": "text"})  # fmt: skip
    path.write_text(json_line(frame) + "\n")
    env = {**os.environ, "PYTHONPATH": str(plugin_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "show", str(path), "--decode", "reverse"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("⇒ reversed 'llo'")
    assert result.stderr.count("decoder plugin") == 2  # the broken ones, one line each
