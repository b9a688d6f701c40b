"""Files that ship with the app (icons, launcher entry, metainfo), read via importlib.resources.

In the source tree this folder is ``resources/``; installed, it is the package
``inspector.resources`` (see setup.py). Names below are relative to this package, so
callers never build file system paths and the same code works from a wheel, an editable
install or a PyInstaller bundle.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

#: Reverse-DNS application id: names the desktop entry, the metainfo and the icon.
APP_ID = "io.github.socketinspector.SocketInspector"
#: MIME type of capture files, declared in MIME_INFO.
CAPTURE_MIME_TYPE = "application/x-socket-inspector-capture"
#: File name pattern of capture files.
CAPTURE_GLOB = "*.sockcap"

#: Pixel sizes of the PNG icons (the hicolor theme sizes a Linux desktop looks up).
ICON_SIZES: tuple[int, ...] = (16, 32, 48, 64, 128, 256, 512)
ICON_SVG = f"icons/hicolor/scalable/apps/{APP_ID}.svg"
DESKTOP_ENTRY = f"{APP_ID}.desktop"
METAINFO = f"{APP_ID}.metainfo.xml"
MIME_INFO = f"{APP_ID}.mime.xml"


def icon_png(size: int) -> str:
    """The resource name of the PNG icon of ``size`` pixels (one of ICON_SIZES)."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size}px icon; sizes: {', '.join(map(str, ICON_SIZES))}")
    return f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"


def icon_names() -> list[str]:
    """Resource names of every icon file: the SVG, then the PNGs from small to large."""
    return [ICON_SVG, *(icon_png(size) for size in ICON_SIZES)]


def path(name: str) -> Traversable:
    """The resource ``name`` ("/"-separated, relative to this package)."""
    node: Traversable = files(__name__)
    for part in name.split("/"):
        node = node.joinpath(part)
    return node


def read_bytes(name: str) -> bytes:
    """The contents of resource ``name``; FileNotFoundError when it does not ship."""
    return path(name).read_bytes()
