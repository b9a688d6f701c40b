"""``inspector listen``'s one-line messages read as English (counts and their nouns)."""

from __future__ import annotations

import io

from inspector.cli import run_command


def test_a_reply_naming_a_group_the_regex_lacks_counts_in_words() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = run_command(["listen", "tcp://127.0.0.1:0", "--reply", "(a)=>{{5}}"], out, err)
    assert (status, out.getvalue()) == (2, "")
    assert err.getvalue() == (
        "inspector listen: --reply '(a)=>{{5}}': {{5}} but the regex has 1 group\n"
    )


def test_a_size_past_what_the_engine_takes_is_wrong_usage() -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["listen", "ws://127.0.0.1:0/", "--max-size", "99999999999999999999"]
    argv += ["--duration", "5"]  # a bound should it listen
    assert run_command(argv, out, err) == 2
    assert err.getvalue().startswith(
        "inspector listen: argument --max-size: '99999999999999999999' must be at most "
    )
    assert err.getvalue().count("\n") == 1
