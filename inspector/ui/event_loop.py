"""The qasync event loop the GUI runs on, with a small pool for blocking calls.

qasync's own default executor starts ten QThreads per loop for ``run_in_executor``
(which ``loop.getaddrinfo`` uses for every name lookup); four are plenty for name
lookups. The pool is qasync's QThreadExecutor: a ``concurrent.futures`` pool of plain
threads made a second ``app.run`` in one process hang now and then (seen in the GUI
tests). ``loop.close()`` shuts the pool down and waits for its threads.
"""

from __future__ import annotations

import gc

import qasync
from PySide6.QtCore import QCoreApplication

#: Threads for blocking calls (name lookups): few sessions resolve at the same time.
IO_THREADS = 4


def new_event_loop(app: QCoreApplication, *, already_running: bool = False) -> qasync.QEventLoop:
    """A qasync loop over ``app`` whose default executor has ``IO_THREADS`` threads."""
    loop = qasync.QEventLoop(app, already_running=already_running)
    loop.set_default_executor(qasync.QThreadExecutor(IO_THREADS))
    return loop


def freeze_startup_objects() -> None:
    """Move every object made so far out of the garbage collector's reach.

    Called once the window is shown: the objects of startup (modules, Qt wrappers, the
    widgets) live as long as the app, and leaving them in the oldest generation made
    each full collection during a flood take ~30 ms on the GUI thread instead of ~4.
    No collection first: it would only add to startup time.
    """
    gc.freeze()
