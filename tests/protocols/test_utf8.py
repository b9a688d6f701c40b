"""Incremental UTF-8 validation across fragments (RFC 6455 §8.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.protocols.utf8 import TextValidator


def _check(fragments: list[bytes]) -> None:
    validator = TextValidator()
    validator.start(fragments[0], len(fragments) == 1)
    for index, fragment in enumerate(fragments[1:], start=2):
        validator.continue_(fragment, index == len(fragments))
    assert not validator.in_progress


@given(st.text(min_size=1), st.lists(st.integers(0, 400), max_size=5))
def test_valid_text_passes_however_it_is_split(text: str, cuts: list[int]) -> None:
    data = text.encode()
    points = sorted({c % (len(data) + 1) for c in cuts})
    fragments, start = [], 0
    for point in [*points, len(data)]:
        fragments.append(data[start:point])
        start = point
    _check(fragments)


def test_invalid_byte_fails_before_the_message_ends() -> None:
    validator = TextValidator()
    validator.start(b"ok \xe2\x82", False)  # half of a euro sign: fine so far
    assert validator.in_progress
    with pytest.raises(UnicodeDecodeError):
        validator.continue_(b"\x28 and more", False)


def test_truncated_character_at_the_end_fails() -> None:
    with pytest.raises(UnicodeDecodeError):
        _check([b"abc", b"\xe2\x82"])


def test_surrogates_and_overlong_forms_are_invalid() -> None:
    for bad in (b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"):
        with pytest.raises(UnicodeDecodeError):
            _check([bad])


def test_continuation_without_text_in_progress_is_ignored() -> None:
    validator = TextValidator()
    validator.continue_(b"\xff", True)
    validator.start(b"\xe2", False)
    validator.reset()
    assert not validator.in_progress
