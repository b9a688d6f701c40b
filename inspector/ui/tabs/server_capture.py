"""A listen or relay capture shown again: a read-only server or relay tab over the
file's sessions.

The first session of a file ``inspector listen -o`` or a server tab wrote is the
listener's (options ``role: listener``); each other session is one connection.
``inspector relay -o`` and the relay tab write the same shape, the first session's
options naming the ``upstream``. File ▸ Open makes one tab of such a file instead of a
tab per session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspector.capture.store import CaptureStore
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.records import Record
from inspector.ui.bridge import Counters
from inspector.ui.listen_options import ListenOptions
from inspector.ui.relay_dialog import RelaySettings
from inspector.ui.settings import Settings
from inspector.ui.tabs.connections import ConnEntry
from inspector.ui.tabs.hosting import HostingTab
from inspector.ui.tabs.relay import RelayTab
from inspector.ui.tabs.relay_views import pair_totals
from inspector.ui.tabs.server import ServerTab

#: Records of a listen capture read into "All connections" when it is opened.
ALL_LIMIT_READ = 200_000
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
        owner.close()
        tab.deleteLater()
        raise
    return tab


def show_capture(tab: HostingTab, path: Path, owner: CaptureStore, sessions: Sequence[Any]) -> None:
    """Show a listen or relay capture: the engine's records and every connection's, from the
    file (nothing is listening; the composer is greyed)."""
    tab.capture_store = owner
    tab.store = owner
    tab.capture_path = Path(path)
    listener_wall = int(sessions[0].started_wall_ns)
    merged: list[tuple[int, int, int | None, Record]] = []
    own = owner.records(0, min(owner.count(), ALL_LIMIT_READ))
    merged += [(r.t_ns, 0, None, r) for r in own]
    entries: list[ConnEntry] = []
    for order, session in enumerate(sessions[1:], start=1):
        options = session.options if isinstance(session.options, dict) else {}
        number = options.get("conn")
        number = number if isinstance(number, int) else order
        store = CaptureStore.open(path, session_id=session.id)
        offset = int(session.started_wall_ns) - listener_wall
        entry = ConnEntry(
            number, str(options.get("peer", "?")), store, int(session.started_wall_ns), offset
        )
        entry.summary = session.summary if isinstance(session.summary, dict) else {}
        entry.state = str(session.state)
        entries.append(entry)
        budget = ALL_LIMIT_READ - len(merged)
        if budget > 0:
            records = store.records(0, min(store.count(), budget))
            merged += [(r.t_ns + offset, order, number, r) for r in records]
    merged.sort(key=lambda item: (item[0], item[1]))
    for t_ns, _order, number, record in merged:
        offset = t_ns - record.t_ns
        tab.all_records.take([record], number, offset)
    tab.connections.add(entries)
    model = tab.all_view.model
    if model is not None:
        model.extend_to(tab.all_records.count())
    tab.all_view.load(tab.all_records, _HEAD, _TAIL)
    totals = [e.totals() for e in entries]
    if isinstance(tab, RelayTab):  # a pair's summary counts each way: in is server → client
        totals = [(s2c, c2s, b_s2c, b_c2s) for c2s, s2c, b_c2s, b_s2c in map(pair_totals, entries)]
    tab.show_read_only(Counters(*(sum(t[i] for t in totals) for i in range(4))))
