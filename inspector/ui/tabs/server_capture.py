"""A listen or relay capture shown again: a read-only server or relay tab over the
file's sessions.

The first session of a file ``inspector listen -o`` or a server tab wrote is the
listener's (options ``role: listener``); each other session is one connection.
``inspector relay -o`` and the relay tab write the same shape, the first session's
options naming the ``upstream``. File ▸ Open makes one tab of such a file instead of a
tab per session.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from inspector.capture.store import CaptureStore
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.ui.bridge import Counters
from inspector.ui.listen_options import ListenOptions
from inspector.ui.relay_dialog import RelaySettings
from inspector.ui.settings import Settings
from inspector.ui.tabs.connections import ConnEntry
from inspector.ui.tabs.hosting import HostingTab
from inspector.ui.tabs.relay import RelayTab
from inspector.ui.tabs.relay_views import pair_totals
from inspector.ui.tabs.server import ServerTab

#: Records read from the start (session panes) and the end (traffic plot).
_HEAD, _TAIL = 64, 2000


def is_listen_capture(sessions: Sequence[Any]) -> bool:
    """True when a capture's first session is a listener's (``inspector listen -o`` or a
    server tab wrote it)."""
    if not sessions:
        return False
    options = getattr(sessions[0], "options", None)
    return isinstance(options, dict) and options.get("role") == "listener"


def open_server_capture(path: Path, sessions: Sequence[Any], settings: Settings) -> HostingTab:
    """A read-only server tab of a listen capture (a relay tab of a relay capture): the
    engine's session and one connection per other session (CaptureError when the file
    cannot be read)."""
    first = sessions[0]
    try:
        endpoint = parse_endpoint(str(first.endpoint), listen=True)
    except InspectorError:
        endpoint = parse_endpoint("tcp://unknown:0", listen=True)
    upstream = first.options.get("upstream")
    tab: HostingTab
    if isinstance(upstream, str):
        try:
            target = parse_endpoint(upstream)
        except InspectorError:
            target = endpoint
        tab = RelayTab(endpoint, target, RelaySettings(endpoint.url, upstream), (), settings, None)
    else:
        tab = ServerTab(endpoint, ListenOptions(), (), settings, None)
    owner = CaptureStore.open(path, session_id=first.id)
    try:
        show_capture(tab, path, owner, sessions)
    except CaptureError:
        for entry in tab.connections.entries:
            if isinstance(entry.store, CaptureStore):
                entry.store.close()
        owner.close()
        tab.deleteLater()
        raise
    return tab


def conn_number(order: int, session: Any) -> int:
    """The connection number of a capture's session ``order`` (1 for the first after the
    listener's): what the session's options say, else its place."""
    options = session.options if isinstance(session.options, dict) else {}
    number = options.get("conn")
    return number if isinstance(number, int) and not isinstance(number, bool) else order


def session_conn(sessions: Sequence[Any], session_id: int) -> int | None:
    """The connection number a server tab of the capture shows session ``session_id``
    under (None: the listener's own, or not in the capture)."""
    for order, session in enumerate(sessions[1:], start=1):
        if session.id == session_id:
            return conn_number(order, session)
    return None


def show_capture(tab: HostingTab, path: Path, owner: CaptureStore, sessions: Sequence[Any]) -> None:
    """Show a listen or relay capture: the engine's records and every connection's, from the
    file (nothing is listening; the composer is greyed).

    "All connections" is built as the live tab builds it: only which session's record
    stands where, from each session's row times (no record is read here), the records
    read back from their sessions when shown; a capture of any size opens whole."""
    tab.capture_store = owner
    tab.store = owner
    tab.capture_path = Path(path)
    listener_wall = int(sessions[0].started_wall_ns)
    timelines = [_spans(owner, 0, None, 0)]
    entries: list[ConnEntry] = []
    for order, session in enumerate(sessions[1:], start=1):
        options = session.options if isinstance(session.options, dict) else {}
        number = conn_number(order, session)
        store = CaptureStore.open(path, session_id=session.id)
        offset = int(session.started_wall_ns) - listener_wall
        entry = ConnEntry(
            number, str(options.get("peer", "?")), store, int(session.started_wall_ns), offset
        )
        entry.summary = session.summary if isinstance(session.summary, dict) else {}
        entry.state = str(session.state)
        entries.append(entry)
        timelines.append(_spans(store, order, number, offset))
    tab.connections.add(entries)  # the sessions' stores are closed with their entries
    take = tab.all_records.take_span
    for _t_ns, _order, number, offset, first, count in heapq.merge(*timelines):
        take(number, first, count, offset)
    model = tab.all_view.model
    if model is not None:
        model.extend_to(tab.all_records.count())
    tab.all_view.load(tab.all_records, _HEAD, _TAIL)
    totals = [e.totals() for e in entries]
    if isinstance(tab, RelayTab):  # a pair's summary counts each way: in is server → client
        totals = [(s2c, c2s, b_s2c, b_c2s) for c2s, s2c, b_c2s, b_s2c in map(pair_totals, entries)]
    tab.show_read_only(Counters(*(sum(t[i] for t in totals) for i in range(4))))


def _spans(
    store: CaptureStore, order: int, number: int | None, offset: int
) -> Iterator[tuple[int, int, int | None, int, int, int]]:
    """A session's rows as (time on the listener's clock, order, connection, offset,
    first seq, records), in its own order, for merging by time."""
    for page in store.timeline():
        for first, t_ns, count in page:
            yield t_ns + offset, order, number, offset, first, count
