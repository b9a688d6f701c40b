"""A running script's records as they happen: every session of the run (a connect, a
listener, its accepted clients) interleaved in one records view, with the connection
column of a server tab's "All connections".

The run writes each session to its capture store (the runner's recorders are not
drained by anyone); a timer at the bridge's rate reads what each store gained since
the last tick and appends it, in time order, to an index of places
(:class:`~inspector.ui.tabs.connections.AllRecords`): the records themselves are read
back from the stores when shown. When the run ends its stores are closed, and the view
reads the finished file instead, so it stays browsable until the next run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from inspector.capture.store import CaptureStore
from inspector.core.errors import CaptureError
from inspector.core.records import Kind, Record
from inspector.ui.bridge import FLUSH_INTERVAL_MS
from inspector.ui.guard import guarded
from inspector.ui.models.source import RecordSource
from inspector.ui.settings import Settings
from inspector.ui.tabs.connections import AllRecords, AllRecordsView

#: Records read from one store per tick (a flood is shown over the next ticks).
_TICK_READ = 4096


class LiveRunRecords(QObject):
    """The records view of the run in progress (or of the last run, once over)."""

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = AllRecordsView(settings)
        self.view.setObjectName("scriptRecords")
        self.view.setAccessibleName("Records of the script run")
        self.records = AllRecords(self._source_of)
        #: The run's stores in the order it opened them (empty: no run is being followed).
        self._stores: Sequence[CaptureStore] = ()
        self._sources: list[RecordSource] = []
        self._seen: list[int] = []
        self._offsets: list[int] = []
        self._reopened: list[CaptureStore] = []
        self._started_wall_ns = 0
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.tick)

    def _source_of(self, number: int | None) -> RecordSource | None:
        index = 0 if number is None else number
        return self._sources[index] if 0 <= index < len(self._sources) else None

    def start(self, stores: Sequence[CaptureStore]) -> None:
        """Follow a new run whose stores (filled as it opens sessions) are ``stores``."""
        self._close_reopened()
        self._stores = stores
        self._sources, self._seen, self._offsets = [], [], []
        self.records = AllRecords(self._source_of)
        self._started_wall_ns = 0
        self.view.show_source(self.records, 0, "ws", follow=True)
        self._timer.start()

    @guarded
    def tick(self) -> None:
        """Append what every session of the run recorded since the last tick (a file
        that cannot be read stops the view, in one line; the run goes on)."""
        try:
            self._read()
        except CaptureError as exc:
            self._timer.stop()
            self._stores = ()
            self.view.notice.emit(f"the run's records are no longer shown: {exc}")

    def _read(self) -> int:
        """Append what the stores gained (at most a tick's worth each); how many."""
        arrived: list[tuple[int, int, Record]] = []
        for index, store in enumerate(self._stores):
            if index == len(self._sources):
                self._follow(store)
            seen = self._seen[index]
            total = store.count()
            if total <= seen:
                continue
            batch = store.records(seen, min(total - seen, _TICK_READ))
            self._seen[index] = seen + len(batch)
            offset = self._offsets[index]
            arrived += [(r.t_ns + offset, index, r) for r in batch]
        if not arrived:
            return 0
        arrived.sort(key=lambda item: (item[0], item[1]))
        added: list[Record] = []
        for t_ns, index, record in arrived:
            added += self.records.take([record], index or None, t_ns - record.t_ns)
        model = self.view.model
        if model is not None:
            model.append(added)
            self.view.add_batch(added)
        return len(added)

    def _follow(self, store: CaptureStore) -> None:
        """A session the run just opened: read it from now on."""
        session = store.session
        if not self._sources:
            self._started_wall_ns = session.started_wall_ns
            # A listening script: the handshakes are the clients' requests, our answers.
            self.view.server_side = session.options.get("role") == "listener"
            self.view.set_endpoint(session.endpoint)
            self.view.show_source(self.records, self._started_wall_ns, session.scheme, follow=True)
        self._sources.append(store)
        self._seen.append(0)
        self._offsets.append(session.started_wall_ns - self._started_wall_ns)

    @guarded
    def finish(self) -> None:
        """The run's stores are about to close: show their last records, stop reading."""
        self._timer.stop()
        with contextlib.suppress(CaptureError):
            while self._read():
                pass

    def reopen(self, path: Path | None) -> None:
        """The run is over and its stores closed: read its records from the file."""
        self._timer.stop()
        sessions = [s.session.id for s in self._stores[: len(self._sources)]]
        self._stores = ()
        if path is None or not sessions:
            return
        try:
            self._reopened = [CaptureStore.open(path, session_id=sid) for sid in sessions]
        except CaptureError:
            self._close_reopened()
            return
        self._sources = list(self._reopened)

    def place_of_step(self, number: int) -> int | None:
        """The place (row number in this view) of step ``number``'s last result record."""
        found = None
        for place in self.records.matching(kinds=[Kind.INFO]):
            try:
                record = self.records.record(place)
            except CaptureError:
                return found
            if record.fields.get("script_step") == number:
                found = place
        return found

    def select_step(self, number: int) -> bool:
        """Select step ``number``'s result record; False when it is not recorded (yet)."""
        self.tick()
        place = self.place_of_step(number)
        if place is None:
            return False
        self.view.select_seq(place)
        return True

    def _close_reopened(self) -> None:
        for store in self._reopened:
            with contextlib.suppress(CaptureError):
                store.close()
        self._reopened = []

    def close(self) -> None:
        """Stop and release the files of the last run."""
        self._timer.stop()
        self._close_reopened()
