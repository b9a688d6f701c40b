"""Where each session's capture file goes and how it is named.

Every session is recorded live to ``<capture dir>/<timestamp>-<scheme>-<host>-<port>
.sockcap``. The directory is private to the user (0700) because captures hold whatever
crossed the wire: tokens, cookies, messages.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import platformdirs

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import CaptureError
from inspector.core.options import SessionOptions

APP_NAME = "socket-inspector"
CAPTURE_SUFFIX = ".sockcap"
ENV_CAPTURE_DIR = "INSPECTOR_CAPTURE_DIR"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_capture_dir() -> Path:
    """``$INSPECTOR_CAPTURE_DIR``, else the user data directory's ``captures``."""
    env = os.environ.get(ENV_CAPTURE_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "captures"


def ensure_capture_dir(path: Path) -> Path:
    """Create the directory (mode 0700) if needed; raise CaptureError with one line."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.is_dir():
            raise CaptureError(f"capture directory {path} is not a directory")
    except OSError as exc:
        raise CaptureError(
            f"cannot create capture directory {path}: {exc.strerror or exc}"
        ) from None
    return path


def capture_name(endpoint: Endpoint, wall_ns: int) -> str:
    """``20260122-031500.123-ws-127.0.0.1-8765.sockcap`` (local time, sortable)."""
    moment = datetime.datetime.fromtimestamp(wall_ns / 1e9)
    stamp = moment.strftime("%Y%m%d-%H%M%S") + f".{moment.microsecond // 1000:03d}"
    host = _UNSAFE.sub("_", endpoint.host).strip("_") or "host"
    return f"{stamp}-{endpoint.scheme}-{host}-{endpoint.port}{CAPTURE_SUFFIX}"


def create_capture(
    directory: Path,
    endpoint: Endpoint,
    options: SessionOptions,
    clock: SessionClock,
    *,
    commit_thread: bool = False,
) -> CaptureStore:
    """A new capture store for one session; raise CaptureError if it cannot be made.

    ``commit_thread``: commit on a thread of its own (a session tab's capture, whose
    records are taken on the GUI thread; not a file that will take more sessions)."""
    ensure_capture_dir(directory)
    base = capture_name(endpoint, clock.started_wall_ns)
    for attempt in range(100):
        name = base if attempt == 0 else base.replace(CAPTURE_SUFFIX, f"-{attempt}{CAPTURE_SUFFIX}")
        path = directory / name
        if path.exists():
            continue
        try:
            return CaptureStore.create(
                path,
                endpoint=endpoint.url,
                scheme=str(endpoint.scheme),
                options=options,
                clock=clock,
                commit_thread=commit_thread,
            )
        except CaptureError:
            if path.exists():
                continue
            raise
    raise CaptureError(f"cannot pick a free capture file name in {directory}")
