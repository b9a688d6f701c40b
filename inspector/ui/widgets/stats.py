"""Request ↔ response pairing for a records view, and the Latency pane that shows it.

:class:`Pairing` reads a session's records a page at a time from a QTimer (ten
milliseconds of work, then a pause), asks the decoder for each record's pairing ids
and pairs them as ``core.matching.match`` does (a response with the oldest unanswered request of its
id sent the other way), so a capture of a million records is paired while the window
stays responsive, and a live session keeps being paired as records arrive.
:class:`StatsPane` draws the count, unanswered, percentiles, a histogram and latency
over time with QPainter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from inspector.core.errors import CaptureError
from inspector.core.matching import (
    HISTOGRAM_BOUNDS_NS,
    LatencyStats,
    Matcher,
    Matching,
    NextMatcher,
    UserRule,
    statistics,
)
from inspector.core.records import Direction
from inspector.protocols.decoders.session import SessionDecoder, next_messages, rule_messages
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.models.source import RecordSource

log = logging.getLogger(__name__)

#: Records read from the source per page (of the narrow read, a few milliseconds).
PAGE = 1024
#: Milliseconds of work per timer tick before the event loop gets the thread back, and
#: the pause between ticks while a live session receives: pairing takes at most a
#: third of the thread, so a flood (on the same event loop) keeps its pace. A capture
#: file is paired with a short pause only.
TICK_MS = 10
PAUSE_MS = 20
FILE_PAUSE_MS = 2
#: Records arriving in a live session between two ticks (PAUSE_MS apart: some 20,000 a
#: second) above which pairing waits for the burst to end: a flood has the event loop's
#: thread to itself, and is paired once it calms (pairing a third of the time cost a
#: Socket.IO flood a third of its rate: BENCHMARKS.md). Counted per tick, not per
#: second, so a tick the loaded thread ran late still sees a flood as one.
BURST_RECORDS = 400
#: Ticks in a row without a burst before pairing resumes: a flood's records reach the
#: view in the bridge's batches, 40 ms apart, so a tick between two of them sees none.
CALM_TICKS = 3


@dataclass(frozen=True, slots=True)
class PairBy:
    """How a view pairs requests with responses: by the decoder's ids (the default), by
    a user's id rule on each side (``rule``, typed as ``texts``), or each inbound
    message answering the oldest outbound one (``next``): ``show --stats``,
    ``--match-id`` and ``--match-next``."""

    rule: UserRule | None = None
    texts: tuple[str, str] = ("", "")
    next: bool = False

    @property
    def label(self) -> str:
        """How the Latency pane names it (empty: the decoder's name is shown)."""
        if self.next:
            return "next inbound message"
        if self.rule is not None:
            request, response = self.texts
            return f"rule {request}" if request == response else f"rules {request} / {response}"
        return ""


DECODER_IDS = PairBy()


class Pairing(QObject):
    """Pairs one session's requests and responses incrementally, off the receive path."""

    #: Emitted after a tick that found new pairs or reached the end of the records.
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(PAUSE_MS)
        self._timer.timeout.connect(self._tick)
        self._source: Callable[[], RecordSource] | None = None
        self._total: Callable[[], int] = lambda: 0
        self._make_decoder: Callable[[], SessionDecoder | None] = lambda: None
        self.by = DECODER_IDS
        self._live = False
        self.reset()

    def reset(self) -> None:
        """Forget every pair (a new source or another decoder)."""
        self._timer.stop()
        self._decoder: SessionDecoder | None = None
        self._next = 0
        self._matcher: Matcher | NextMatcher = NextMatcher() if self.by.next else Matcher()
        self.matching: Matching = self._matcher.matching
        self.partner: dict[int, int] = {}
        self.latency: dict[int, int] = {}  # seq of either side -> ns
        self.started = False
        #: Records there were at the last tick, and ticks since the last burst.
        self._last_total = 0
        self._calm = CALM_TICKS

    def attach(
        self,
        source: Callable[[], RecordSource],
        total: Callable[[], int],
        make_decoder: Callable[[], SessionDecoder | None],
    ) -> None:
        """Pair the first ``total()`` records of ``source()`` (the model's source, which a
        live tab may swap) with a decoder from ``make_decoder``."""
        self.reset()
        self._source, self._total, self._make_decoder = source, total, make_decoder

    def set_by(self, by: PairBy) -> None:
        """Pair by ``by`` from now on (forgets every pair)."""
        self.by = by
        self.reset()

    def set_live(self, live: bool) -> None:
        """Pause longer between ticks while a live session is receiving, and wait while
        more than BURST_RECORDS arrive between two ticks (until CALM_TICKS without)."""
        self._live = live
        self._timer.setInterval(PAUSE_MS if live else FILE_PAUSE_MS)

    def start(self) -> None:
        """Begin (or resume, after new records) pairing in the background."""
        if self._source is None:
            return
        if not self.started:
            self.started = True
            self._decoder = self._make_decoder()
        if self._can_pair() and self._next < self._total():
            if not self._timer.isActive():  # the burst test counts from here
                self._last_total = self._total()
            self._timer.start()

    def _can_pair(self) -> bool:
        """A user's rule pairs without a decoder; the decoder's ids need one."""
        return self._decoder is not None or self.by.next or self.by.rule is not None

    @property
    def done(self) -> bool:
        """True when every record known so far has been read."""
        return self.started and self._next >= self._total()

    @property
    def read(self) -> int:
        """How many records have been read."""
        return self._next

    def unanswered(self) -> list[int]:
        """Requests still waiting for an answer, by seq."""
        return self._matcher.unanswered()

    @guarded
    def _tick(self) -> None:
        decoder = self._decoder
        source = self._source() if self._source is not None else None
        total = self._total()
        if not self._can_pair() or source is None or self._next >= total:
            self._timer.stop()
            self.changed.emit()
            return
        grown, self._last_total = total - self._last_total, total
        if self._live:
            self._calm = 0 if grown > BURST_RECORDS else self._calm + 1
            if self._calm < CALM_TICKS:
                return  # a flood: the timer runs on, and pairs once it calms
        deadline = time.perf_counter() + TICK_MS / 1000
        found = len(self.matching)
        pages = _pages(source, self._next, total)
        try:
            for page in pages:
                if page and _seq(page[-1]) >= total:  # records the view does not have yet
                    page = [item for item in page if _seq(item) < total]
                    self._feed(decoder, page)
                    self._next = total
                    break
                self._feed(decoder, page)
                if page:
                    self._next = _seq(page[-1]) + 1
                if time.perf_counter() >= deadline:
                    break
            else:
                self._next = total  # every record up to the end was read
        except CaptureError as exc:  # a closed or unreadable capture: try again later
            log.info("pairing stopped at record %d: %s", self._next, exc)
            self._timer.stop()
            return
        finally:
            pages.close()
        if self._next >= total:
            self._timer.stop()
            self.matching.unanswered = self.unanswered()
            self.changed.emit()
        elif len(self.matching) != found:
            self.changed.emit()

    def _feed(self, decoder: SessionDecoder | None, page: list[Any]) -> None:
        """Pair one page's messages; note each new pair's partner and latency."""
        m = self.matching
        before = len(m)
        matcher, by = self._matcher, self.by
        if type(matcher) is NextMatcher:
            matcher.feed(next_messages(page))
        elif by.rule is not None:
            matcher.feed(rule_messages(page, by.rule))
        elif decoder is not None and type(matcher) is Matcher:
            matcher.feed(decoder.page_messages(page))
        partner, latency = self.partner, self.latency
        for i in range(before, len(m)):
            req, resp, took = m.request_seqs[i], m.response_seqs[i], m.latencies_ns[i]
            partner[req] = resp
            partner[resp] = req
            latency[req] = latency[resp] = took


def _pages(source: RecordSource, start: int, total: int) -> Iterator[list[Any]]:
    """The source's pages from ``start``: its narrow read where it has one (a capture
    store: payload tuples, records whole where needed), else its records."""
    payloads = getattr(source, "payloads", None)
    if payloads is not None:
        yield from payloads(start, PAGE)
        return
    while start < total:
        page = list(source.records(start, min(PAGE, total - start)))
        if not page:
            return
        yield page
        start = page[-1].seq + 1


def _seq(item: Any) -> int:
    return item[0] if type(item) is tuple else item.seq  # type: ignore[no-any-return]


def format_ms(ns: float | None) -> str:
    """A latency in milliseconds, three significant places for small ones."""
    if ns is None:
        return "-"
    ms = ns / 1e6
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


class StatsPane(QWidget):
    """Count, unanswered, p50/p90/p99/max, a histogram and latency over time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsPane")
        self.setAccessibleName("Latency statistics")
        self.summary = QLabel("No pairs yet: choose a decoder that pairs requests (Decode as…)")
        self.summary.setObjectName("statsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.histogram = _Histogram()
        self.timeline = _Timeline()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.histogram, 1)
        layout.addWidget(self.timeline, 1)
        self.count = 0
        self.unanswered = 0
        #: The statistics last shown (what ``show --stats`` prints for the session).
        self.shown: LatencyStats | None = None

    def show_pairing(self, pairing: Pairing, decoder: str) -> None:
        """Refresh from ``pairing`` (``decoder`` names what paired them)."""
        matching = pairing.matching
        unanswered = pairing.unanswered() if pairing.done else None
        self.count = len(matching)
        self.unanswered = len(unanswered) if unanswered is not None else 0
        if not pairing.started:
            self.summary.setText("Not paired yet")
        elif not matching.latencies_ns and pairing.done:
            self.summary.setText(f"No pairs found ({decoder}); Decode as… may choose another")
        else:
            stats = self.shown = statistics(matching)
            waiting = (f"unanswered {self.unanswered}" if unanswered is not None
                       else f"reading… {pairing.read:,} records")  # fmt: skip
            self.summary.setText(
                f"pairs {stats.count:,}  {waiting}  unsolicited {stats.unsolicited:,}"
                + (f"  streamed {stats.streamed:,}" if stats.streamed else "")
                + f"  ({decoder})\n"
                f"p50 {format_ms(stats.p50_ns)}  p90 {format_ms(stats.p90_ns)}  "
                f"p99 {format_ms(stats.p99_ns)}  max {format_ms(stats.max_ns)}"
            )
            self.histogram.set_counts(list(stats.histogram))
        self.timeline.set_points(matching.request_t_ns, matching.latencies_ns)


class _Histogram(QWidget):
    """Bars of the latency histogram over ``HISTOGRAM_BOUNDS_NS``."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("statsHistogram")
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.counts: list[int] = []

    def set_counts(self, counts: list[int]) -> None:
        self.counts = counts
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        dark = theme.is_dark(self)
        text = self.palette().text().color()
        counts = self.counts or [0] * (len(HISTOGRAM_BOUNDS_NS) + 1)
        labels = ["≤" + _bound(b) for b in HISTOGRAM_BOUNDS_NS]
        labels.append(">" + _bound(HISTOGRAM_BOUNDS_NS[-1]))
        fm = painter.fontMetrics()
        base = self.height() - fm.height() - 2
        width = self.width() / max(1, len(counts))
        top = max(counts) or 1
        colour = QColor(theme.direction_colour(Direction.IN, dark))
        for i, n in enumerate(counts):
            h = (base - fm.height()) * n / top
            rect = QRectF(i * width + 1, base - h, max(1.0, width - 2), h)
            painter.fillRect(rect, colour)
            if n:
                painter.setPen(text)
                painter.drawText(QRectF(i * width, base - h - fm.height(), width, fm.height()),
                                 Qt.AlignmentFlag.AlignCenter, str(n))  # fmt: skip
            if i % 2 == 0:
                painter.setPen(text)
                painter.drawText(QRectF(i * width - width / 2, base + 1, width * 2, fm.height()),
                                 Qt.AlignmentFlag.AlignCenter, labels[i])  # fmt: skip
        painter.end()


class _Timeline(QWidget):
    """Each pair's latency (y) at its request's time (x), at most one dot per pixel column."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("statsTimeline")
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.times: list[int] = []
        self.latencies: list[int] = []

    def set_points(self, times: list[int], latencies: list[int]) -> None:
        self.times, self.latencies = times, latencies
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.palette().text().color()
        fm = painter.fontMetrics()
        painter.setPen(text)
        n = len(self.latencies)
        if not n:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "latency over time")
            painter.end()
            return
        t0, t1 = min(self.times), max(self.times)
        top = max(self.latencies) or 1
        painter.drawText(2, fm.ascent(), f"max {format_ms(top)}")
        painter.drawText(2, self.height() - 2, f"{(t1 - t0) / 1e9:.3f} s of requests")
        left, bottom = 2.0, self.height() - fm.height() - 2.0
        height = bottom - fm.height()
        span = max(1, t1 - t0)
        width = max(1.0, self.width() - 4.0)
        step = max(1, n // max(1, int(width) * 4))  # a million pairs: a sample per pixel
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawLine(QPointF(left, bottom), QPointF(left + width, bottom))
        painter.drawLine(QPointF(left, bottom), QPointF(left, bottom - height))
        colour = QColor(theme.direction_colour(Direction.OUT, theme.is_dark(self)))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        radius = 3.0 if n < 500 else 1.5
        for i in range(0, n, step):
            x = left + radius + (width - 2 * radius) * (self.times[i] - t0) / span
            y = bottom - height * self.latencies[i] / top
            painter.drawEllipse(QPointF(x, y), radius, radius)
        painter.end()


def _bound(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:g}ms" if ms < 1000 else f"{ms / 1000:g}s"
