"""cli.filewriter: a file written by a thread keeps every byte in order and reports a
write error as the OSError it was, without hanging or leaking its thread."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from inspector.cli.filewriter import ThreadedFile

needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "file-writer"]


def test_small_and_big_writes_land_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    reused = bytearray(b"b" * 300)
    pieces: list[bytes] = []
    with ThreadedFile(os.open(path, os.O_WRONLY | os.O_CREAT), chunk=1024, depth=2) as out:
        for number in range(200):
            small = b"%05d;" % number
            big = bytes([number]) * 700  # half a chunk or more: handed over as it is
            assert out.write(small) == len(small)
            assert out.write(big) == 700
            reused[:] = bytes([number % 7]) * 300
            assert out.write(reused) == 300  # copied: changed again before it is written
            assert out.write(memoryview(b"mv")) == 2
            pieces += [small, big, bytes(reused), b"mv"]
            assert out.write(b"") == 0
        out.flush()
        assert os.fstat(out.fileno()).st_size == sum(map(len, pieces))
    assert path.read_bytes() == b"".join(pieces)
    assert _writer_threads() == []


def test_a_chunk_of_more_pieces_than_one_writev_takes(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    pieces = [b"%07d," % number for number in range(5000)]
    with ThreadedFile(os.open(path, os.O_WRONLY | os.O_CREAT), chunk=1 << 20) as out:
        for piece in pieces:
            out.write(piece)
    assert path.read_bytes() == b"".join(pieces)


@needs_dev_full
def test_a_full_disk_is_the_next_write_s_error_and_nothing_hangs() -> None:
    out = ThreadedFile(os.open("/dev/full", os.O_WRONLY), chunk=64, depth=1)
    fd = out.fileno()
    with pytest.raises(OSError) as raised:
        for _ in range(10_000):  # far more than the queue holds: the writer drops them
            out.write(b"x" * 100)
        out.flush()
    assert raised.value.errno == errno.ENOSPC
    with pytest.raises(OSError) as again:
        out.write(b"more")
    assert again.value.errno == errno.ENOSPC
    with pytest.raises(OSError) as closing:
        out.close()
    assert closing.value.errno == errno.ENOSPC
    out.close()  # a second close does nothing
    with pytest.raises(OSError) as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF
    assert _writer_threads() == []


@needs_dev_full
def test_a_full_disk_found_by_flush() -> None:
    out = ThreadedFile(os.open("/dev/full", os.O_WRONLY))
    out.write(b"a few bytes")  # gathered, not yet written
    with pytest.raises(OSError) as raised:
        out.flush()
    with pytest.raises(OSError):
        out.close()
    assert raised.value.errno == errno.ENOSPC
    assert _writer_threads() == []


def test_an_error_of_the_caller_stops_the_thread(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "out.bin", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(KeyError), ThreadedFile(fd, chunk=16) as out:
        out.write(b"0123456789" * 10)
        raise KeyError("the renderer failed")
    assert _writer_threads() == []
    with pytest.raises(OSError):
        os.fstat(fd)
    with pytest.raises(ValueError, match="closed"):
        out.write(b"late")
