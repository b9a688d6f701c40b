"""The qasync event loop the GUI runs on, with a plain thread pool for blocking calls.

qasync's own default executor starts ten QThreads per loop for ``run_in_executor``
(which ``loop.getaddrinfo`` uses for every name lookup). Those QThreads and their
Python wrappers outlive the work they did and, when reclaimed by the garbage collector
on whichever thread happens to run it, can take Qt objects down off the GUI thread.
Blocking calls here never touch Qt, so a ``concurrent.futures`` pool of ordinary
threads serves them; ``loop.close()`` shuts it down (and waits for it).
"""

from __future__ import annotations

import concurrent.futures
import gc

import qasync
from PySide6.QtCore import QCoreApplication

#: Threads for blocking calls (name lookups): few sessions resolve at the same time.
IO_THREADS = 4


def new_event_loop(app: QCoreApplication, *, already_running: bool = False) -> qasync.QEventLoop:
    """A qasync loop over ``app`` whose default executor is a small thread pool."""
    loop = qasync.QEventLoop(app, already_running=already_running)
    loop.set_default_executor(
        concurrent.futures.ThreadPoolExecutor(
            max_workers=IO_THREADS, thread_name_prefix="inspector-io"
        )
    )
    return loop


def freeze_startup_objects() -> None:
    """Move every object made so far out of the garbage collector's reach.

    Called once the window is shown: the objects of startup (modules, Qt wrappers, the
    widgets) live as long as the app, and leaving them in the oldest generation made
    each full collection during a flood take ~30 ms on the GUI thread instead of ~4.
    No collection first: one here could reclaim callables Qt still holds for pending
    single-shot timers (PySide keeps some of them alive only through a cycle).
    """
    gc.freeze()
