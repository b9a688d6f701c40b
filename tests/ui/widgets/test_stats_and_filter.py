"""Pairing in the background gives what ``core.matching.match`` gives; the Latency pane
counts it; the filter bar reads decoded-field tests as ``show --where`` does."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from inspector.core.matching import match, statistics
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.decoders.session import SessionDecoder, context_for
from inspector.ui.filter_bar import FilterBar
from inspector.ui.models.source import MemoryRecords
from inspector.ui.widgets.stats import BURST_RECORDS, Pairing, StatsPane

WAIT_MS = 30_000


def _rpc_session(n: int) -> list[Record]:
    """JSON-RPC over TCP messages: n requests, every third one never answered, and one
    answer to nothing; answers come back out of order."""
    records: list[Record] = []
    t = 0

    def add(direction: Direction, doc: object) -> None:
        nonlocal t
        t += 1_000 + 37 * (len(records) % 11)
        body = json.dumps(doc).encode()
        records.append(Record(len(records), t, direction, Kind.DATA, body))

    for i in range(n):
        add(Direction.OUT, {"jsonrpc": "2.0", "id": i, "method": "add", "params": [i, 1]})
        if i % 2:
            for j in (i, i - 1):
                if j % 3:
                    add(Direction.IN, {"jsonrpc": "2.0", "id": j, "result": j + 1})
    add(Direction.IN, {"jsonrpc": "2.0", "id": 10_000, "result": 0})
    return records


def test_background_pairing_agrees_with_match_and_the_pane_counts_it(qtbot: QtBot) -> None:
    records = _rpc_session(1500)
    source = MemoryRecords(records)
    context = context_for("tcp://127.0.0.1:9000")
    pairing = Pairing()
    pairing.attach(lambda: source, source.count, lambda: SessionDecoder("jsonrpc", context))
    assert not pairing.started
    pairing.start()
    qtbot.waitUntil(lambda: pairing.done, timeout=WAIT_MS)
    assert pairing.read == len(records)

    decoder = SessionDecoder("jsonrpc", context)
    expected = match(
        (r.seq, r.t_ns, r.direction is Direction.OUT, decoder.exchanges(r)) for r in records
    )
    got = pairing.matching
    assert got.request_seqs == expected.request_seqs
    assert got.response_seqs == expected.response_seqs
    assert got.latencies_ns == expected.latencies_ns
    assert pairing.unanswered() == expected.unanswered
    assert got.unsolicited == expected.unsolicited == [records[-1].seq]
    first_request, first_response = expected.request_seqs[0], expected.response_seqs[0]
    assert pairing.partner[first_request] == first_response
    assert pairing.partner[first_response] == first_request
    assert pairing.latency[first_request] == expected.latencies_ns[0]

    pane = StatsPane()
    qtbot.addWidget(pane)
    pane.show_pairing(pairing, "jsonrpc")
    stats = statistics(expected)
    assert pane.count == stats.count == len(expected)
    assert pane.unanswered == len(expected.unanswered) > 0
    assert f"pairs {stats.count:,}" in pane.summary.text()
    assert pane.histogram.counts == list(stats.histogram)
    pane.resize(400, 300)
    pane.show()
    qtbot.waitExposed(pane)
    pane.grab()  # both plots paint a thousand pairs without error


def test_pairing_follows_a_growing_session(qtbot: QtBot) -> None:
    records = _rpc_session(40)
    source = MemoryRecords(records[:10])
    context = context_for("tcp://127.0.0.1:9000")
    pairing = Pairing()
    pairing.attach(lambda: source, source.count, lambda: SessionDecoder("jsonrpc", context))
    pairing.start()
    qtbot.waitUntil(lambda: pairing.done, timeout=WAIT_MS)
    before = len(pairing.matching)
    for record in records[10:]:
        source.write(record)
    assert not pairing.done
    pairing.start()
    qtbot.waitUntil(lambda: pairing.done, timeout=WAIT_MS)
    assert len(pairing.matching) > before
    decoder = SessionDecoder("jsonrpc", context)
    expected = match(
        (r.seq, r.t_ns, r.direction is Direction.OUT, decoder.exchanges(r)) for r in records
    )
    assert pairing.matching.response_seqs == expected.response_seqs


def test_filter_bar_reads_decoded_field_tests(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.edit.setText('event == "chat" && ack_id == 3')
    built = bar.build()
    assert [(c.name, c.op, c.value) for c in built.conditions] == [
        ("event", "==", "chat"),
        ("ack_id", "==", 3),
    ]
    assert built.text == "" and not built.empty

    bar.edit.setText("hello world")  # a plain search stays a search
    built = bar.build()
    assert built.conditions == () and built.text == "hello world"
    bar.edit.setText("a=b")  # "=" alone is payload text, not a test
    assert bar.build().conditions == ()

    bar.regex.setChecked(True)  # with .* the text is a regex, whatever it looks like
    bar.edit.setText("event == chat")
    assert bar.build().conditions == ()
    bar.regex.setChecked(False)

    bar.edit.setText("topic ~ (unclosed")
    bar.apply()
    assert not bar.error.isHidden()
    assert "invalid field test" in bar.error.toolTip()
    bar.edit.setText("topic ~ ^sensors/")
    bar.apply()
    assert bar.error.isHidden()
    assert bar.current.conditions[0].pattern is not None


def _rpc_flood(seq: int, pairs: int) -> Iterator[Record]:
    """JSON-RPC requests each answered at once, made as they are taken (a flood's cost)."""
    for i in range(1_000_000, 1_000_000 + pairs):  # ids no earlier request has
        request = {"jsonrpc": "2.0", "id": i, "method": "add"}
        response = {"jsonrpc": "2.0", "id": i, "result": i}
        for direction, doc in ((Direction.OUT, request), (Direction.IN, response)):
            yield Record(seq, seq * 1_000, direction, Kind.DATA, json.dumps(doc).encode())
            seq += 1


def test_pairing_waits_while_a_live_session_floods(qtbot: QtBot) -> None:
    """More than BURST_RECORDS arriving between two ticks have the thread: pairing reads
    none of them until the flood ends, then pairs them all."""
    source = MemoryRecords(_rpc_session(4))
    context = context_for("tcp://127.0.0.1:9000")
    pairing = Pairing()
    pairing.attach(lambda: source, source.count, lambda: SessionDecoder("jsonrpc", context))
    pairing.set_live(True)
    pairing.start()
    qtbot.waitUntil(lambda: pairing.done, timeout=WAIT_MS)
    before, paired = pairing.read, len(pairing.matching)
    read_during: set[int] = set()
    rest = _rpc_flood(source.count(), 50_000)
    assert BURST_RECORDS < 1000

    def flood() -> None:
        # A thousand records per turn of the event loop (at least one turn comes between
        # two of the pairing's ticks, 20 ms apart), as a flood's batches come.
        taken = 0
        for taken, record in enumerate(itertools.islice(rest, 1000), 1):  # noqa: B007
            source.write(record)
        read_during.add(pairing.read)
        if taken < 1000:
            writer.stop()

    flood()
    pairing.start()  # as the view does after a batch: the timer runs until all are read
    writer = QTimer()
    writer.setInterval(0)
    writer.timeout.connect(flood)
    writer.start()
    qtbot.waitUntil(lambda: not writer.isActive(), timeout=WAIT_MS)
    assert read_during == {before}
    qtbot.waitUntil(lambda: pairing.done, timeout=WAIT_MS)
    assert len(pairing.matching) == paired + 50_000
    assert pairing.matching.response_seqs[-1] == source.count() - 1
