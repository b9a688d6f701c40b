"""Render the application icon's PNG sizes from its SVG with Qt's SVG renderer.

Run after editing an SVG: ``.venv/bin/python packaging/make_icons.py [OUT_DIR]``. The PNGs are
committed so neither a wheel build nor a desktop install needs Qt to produce them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources import APP_ID, ICON_SIZES  # noqa: E402

HICOLOR = ROOT / "resources" / "icons" / "hicolor"
#: The 16 px icon is drawn separately on the pixel grid: scaled down, the big one blurs.
PIXEL_GRID_SVG = Path(__file__).with_name("icon-16.svg")


def render(svg: Path, size: int, target: Path) -> None:
    """Draw ``svg`` into a transparent ``size``x``size`` ARGB image and save it as PNG."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"make_icons: cannot write {target}")


def main(argv: list[str]) -> None:
    """Write <N>x<N>/apps/<app id>.png for every size into resources' hicolor folder
    (or into the folder given as the only argument)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    out = Path(argv[0]) if argv else HICOLOR
    app = QGuiApplication.instance() or QGuiApplication([])
    svg = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
    for size in ICON_SIZES:
        target = out / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        render(PIXEL_GRID_SVG if size == 16 else svg, size, target)
        print(target)
    del app


if __name__ == "__main__":
    main(sys.argv[1:])
