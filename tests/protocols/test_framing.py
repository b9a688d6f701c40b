"""Stream framers: every input is also fed one byte at a time, with the same result."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.options import Framing
from inspector.core.records import Direction, Kind
from inspector.core.runs import MessageRun
from inspector.protocols.framing import FramingError, make_framer


def feed_all(framing: Framing, data: bytes, max_size: int | None = None) -> tuple[list, bytes]:
    framer = make_framer(framing, max_size)
    return framer.feed(data), framer.leftover()


def feed_bytewise(framing: Framing, data: bytes, max_size: int | None = None) -> tuple[list, bytes]:
    framer = make_framer(framing, max_size)
    out: list = []
    for i in range(len(data)):
        out.extend(framer.feed(data[i : i + 1]))
    return out, framer.leftover()


def both(framing: Framing, data: bytes, max_size: int | None = None) -> tuple[list, bytes]:
    whole = feed_all(framing, data, max_size)
    assert feed_bytewise(framing, data, max_size) == whole
    return whole


def test_raw_each_read_is_one_message() -> None:
    framer = make_framer(Framing.RAW)
    assert framer.feed(b"abc") == [(b"abc", b"abc", [["payload", 0, 3]])]
    assert framer.feed(b"") == []
    assert framer.leftover() == b""


def test_lines_keep_cr_in_terminator() -> None:
    messages, rest = both(Framing.LINES, b"one\r\ntwo\n\npart")
    assert messages == [
        (b"one\r\n", b"one", [["payload", 0, 3], ["terminator", 3, 5]]),
        (b"two\n", b"two", [["payload", 0, 3], ["terminator", 3, 4]]),
        (b"\n", b"", [["terminator", 0, 1]]),
    ]
    assert rest == b"part"


def test_len16_and_len32() -> None:
    data = b"\x00\x03abc\x00\x00\x00"
    messages, rest = both(Framing.LEN16, data)
    assert messages == [
        (b"\x00\x03abc", b"abc", [["length", 0, 2], ["payload", 2, 5]]),
        (b"\x00\x00", b"", [["length", 0, 2], ["payload", 2, 2]]),
    ]
    assert rest == b"\x00"
    messages, rest = both(Framing.LEN32, b"\x00\x00\x00\x02hi\x00\x00")
    assert messages == [(b"\x00\x00\x00\x02hi", b"hi", [["length", 0, 4], ["payload", 4, 6]])]
    assert rest == b"\x00\x00"


@pytest.mark.parametrize("framing", [Framing.LEN16, Framing.LEN32])
def test_length_over_limit_is_an_error(framing: Framing) -> None:
    width = 2 if framing is Framing.LEN16 else 4
    data = (11).to_bytes(width, "big")
    with pytest.raises(FramingError, match="over the 10-byte limit"):
        feed_all(framing, data, max_size=10)
    with pytest.raises(FramingError):
        feed_bytewise(framing, data, max_size=10)
    assert both(framing, (10).to_bytes(width, "big") + b"x" * 10, max_size=10)[0]


def test_line_over_limit_is_an_error() -> None:
    assert both(Framing.LINES, b"x" * 10 + b"\r", max_size=10) == ([], b"x" * 10 + b"\r")
    with pytest.raises(FramingError, match="line longer than the 10-byte limit"):
        feed_all(Framing.LINES, b"x" * 11, max_size=10)
    with pytest.raises(FramingError):
        feed_bytewise(Framing.LINES, b"x" * 11 + b"\n", max_size=10)


def test_outgoing_frames() -> None:
    assert make_framer(Framing.LINES).frame(b"hi") == (
        b"hi\n",
        b"hi",
        [["payload", 0, 2], ["terminator", 2, 3]],
    )
    assert make_framer(Framing.LINES).frame(b"hi\r\n")[0] == b"hi\r\n"
    assert make_framer(Framing.LEN16).frame(b"abc")[0] == b"\x00\x03abc"
    assert make_framer(Framing.LEN32).frame(b"")[0] == b"\x00\x00\x00\x00"
    with pytest.raises(FramingError, match="does not fit"):
        make_framer(Framing.LEN16).frame(b"x" * 65536)


@given(
    st.lists(st.binary(max_size=300), max_size=8), st.sampled_from([Framing.LEN16, Framing.LEN32])
)
def test_length_prefixed_round_trip(bodies: list[bytes], framing: Framing) -> None:
    out = make_framer(framing)
    stream = b"".join(out.frame(body)[0] for body in bodies)
    messages, rest = both(framing, stream)
    assert [body for _, body, _ in messages] == bodies
    assert b"".join(wire for wire, _, _ in messages) == stream
    assert rest == b""


@given(st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"")), max_size=8))
def test_lines_round_trip(lines: list[bytes]) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    messages, rest = both(Framing.LINES, stream)
    assert [body + wire[len(body) : -1] for wire, body, _ in messages] == lines
    assert rest == b""


def test_error_keeps_messages_completed_before_it() -> None:
    framer = make_framer(Framing.LEN16, 4)
    with pytest.raises(FramingError) as info:
        framer.feed(b"\x00\x01a\x00\x09xyz")
    assert [body for _, body, _ in info.value.messages] == [b"a"]
    assert info.value.offending == b"\x00\x09xyz"
    framer = make_framer(Framing.LINES, 3)
    with pytest.raises(FramingError) as info:
        framer.feed(b"ok\nlong line\n")
    assert [body for _, body, _ in info.value.messages] == [b"ok"]
    assert info.value.offending == b"long line\n"


def _feed_stream(
    framing: Framing, chunks: list[bytes], max_size: int | None, runs: bool
) -> tuple[list, object]:
    """Messages of a stream fed chunk by chunk, and how it ended (leftover, or the
    error's text, messages and offending bytes). With ``runs``, each chunk goes through
    feed_run first and the returned bytes are cut as a MessageRun cuts them."""
    framer = make_framer(framing, max_size)
    out: list = []
    for chunk in chunks:
        try:
            if runs:
                done = framer.feed_run(chunk)
                if done is not None:
                    messages = MessageRun(0, 0, Direction.IN, Kind.MESSAGE, done[0], done[1],
                                          str(framing)).messages()  # fmt: skip
                    assert len(messages) == done[1]
                    out.extend(messages)
                    continue
            out.extend(framer.feed(chunk))
        except FramingError as exc:
            return out + exc.messages, (str(exc), exc.offending)
    return out, framer.leftover()


PIECES = [
    b"a",
    b"bc",
    b"\r",
    b"\n",
    b"\r\n",
    b"long line",
    b"\x00",
    b"\x00\x03",
    b"\x00\x00\x00\x02",
]


@given(
    st.sampled_from([Framing.LINES, Framing.LEN16, Framing.LEN32]),
    st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join), max_size=8),
    st.one_of(st.none(), st.integers(0, 12)),
)
def test_feed_run_cuts_what_feed_cuts(
    framing: Framing, chunks: list[bytes], max_size: int | None
) -> None:
    """Runs (the receive path of line and length-prefix framing) make the same
    messages, the same errors at the same place and the same leftover as cutting
    each read into messages."""
    whole = _feed_stream(framing, chunks, max_size, runs=False)
    assert _feed_stream(framing, chunks, max_size, runs=True) == whole


def test_feed_run_hands_back_a_read_that_may_break_the_limit() -> None:
    framer = make_framer(Framing.LINES, 4)
    assert framer.feed_run(b"ab\ncd") == (b"ab\n", 1)
    assert framer.feed_run(b"e\r\n\n") == (b"cde\r\n\n", 2)  # "\r" is not part of the body
    assert framer.feed_run(b"toolong\nx") is None  # a line over 4 bytes: feed() says so
    assert framer.leftover() == b""  # nothing of the read was kept
    assert framer.feed_run(b"xxxxx") is None  # the unfinished line is over the limit
    assert framer.feed_run(b"") == (b"", 0) and framer.leftover() == b""
    with pytest.raises(FramingError, match="line longer than the 4-byte limit"):
        framer.feed(b"toolong\n")
    framer = make_framer(Framing.LEN16, 4)
    assert framer.feed_run(b"\x00\x01a\x00\x02b") == (b"\x00\x01a", 1)
    assert framer.feed_run(b"c\x00") == (b"\x00\x02bc", 1)
    assert framer.feed_run(b"\x05") is None and framer.leftover() == b"\x00"
    with pytest.raises(FramingError, match="announces 5 bytes"):
        framer.feed(b"\x05")
