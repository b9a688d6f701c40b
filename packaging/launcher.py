"""Entry script PyInstaller freezes: the same ``main`` as the ``inspector`` command."""

from __future__ import annotations

import sys

from inspector.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
