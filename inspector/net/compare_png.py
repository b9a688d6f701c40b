"""Charts as PNG files without a plotting library: a small raster, a 5x7 font, zlib.

:func:`to_png` paints a :class:`~inspector.net.compare_charts.Chart` at twice its size
(so that text stays sharp on a high-density screen) and encodes it as an 8-bit RGB PNG
(ISO/IEC 15948: signature, IHDR, one IDAT of zlib-compressed scanlines with filter 0,
IEND, each chunk with its CRC-32). The font is the common 5x7 LCD font for printable
ASCII; any other character is drawn as "?".
"""

from __future__ import annotations

import struct
import zlib

from inspector.net.compare_charts import Chart, Dot, Line, Rect, Text

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Pixels per chart unit.
SCALE = 2
BACKGROUND = (255, 255, 255)
INK = (0x33, 0x33, 0x33)
#: Glyph cell: 5 columns and 7 rows of dots, one column of space, in chart units.
GLYPH_ADVANCE = 6
GLYPH_HEIGHT = 7

#: Columns of each glyph from " " (0x20) to "~" (0x7E), the lowest bit the top row.
_FONT_HEX = (
    "0000000000 00005F0000 0007000700 147F147F14 242A7F2A12 2313086462 3649552250 0005030000 "
    "001C224100 0041221C00 082A1C2A08 08083E0808 0050300000 0808080808 0060600000 2010080402 "
    "3E5149453E 00427F4000 4261514946 2141454B31 1814127F10 2745454539 3C4A494930 0171090503 "
    "3649494936 064949291E 0036360000 0056360000 0008142241 1414141414 4122140800 0201510906 "
    "324979413E 7E1111117E 7F49494936 3E41414122 7F4141221C 7F49494941 7F09090101 3E41415132 "
    "7F0808087F 00417F4100 2040413F01 7F08142241 7F40404040 7F0204027F 7F0408107F 3E4141413E "
    "7F09090906 3E4151215E 7F09192946 4649494931 01017F0101 3F4040403F 1F2040201F 7F2018207F "
    "6314081463 0304780403 6151494543 00007F4141 0204081020 41417F0000 0402010204 4040404040 "
    "0001020400 2054545478 7F48444438 3844444420 384444487F 3854545418 087E090102 081454543C "
    "7F08040478 00447D4000 2040443D00 007F102844 00417F4000 7C04180478 7C08040478 3844444438 "
    "7C14141408 081414187C 7C08040408 4854545420 043F444020 3C4040207C 1C2040201C 3C4030403C "
    "4428102844 0C5050503C 4464544C44 0008364100 00007F0000 0041360800 0804080408 "
)
_FONT = {chr(0x20 + i): bytes.fromhex(glyph) for i, glyph in enumerate(_FONT_HEX.split())}


def colour(spec: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an (r, g, b) triple."""
    value = int(spec.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


class Canvas:
    """An RGB raster of ``width`` x ``height`` pixels, white to begin with."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.rows = [bytearray(bytes(BACKGROUND) * width) for _ in range(height)]

    def fill(self, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> None:
        """Paint the pixels x0 <= x < x1, y0 <= y < y1 (clipped to the raster)."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1:
            return
        run = bytes(rgb) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][3 * x0 : 3 * x1] = run

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The colour at (x, y)."""
        row = self.rows[y]
        return row[3 * x], row[3 * x + 1], row[3 * x + 2]

    def text(self, x: int, top: int, text: str, rgb: tuple[int, int, int], dot: int) -> None:
        """Write ``text`` from ``x`` with its top row at ``top``, each font dot
        ``dot`` pixels square."""
        for ch in text:
            glyph = _FONT.get(ch, _FONT["?"])
            for col, bits in enumerate(glyph):
                for row in range(GLYPH_HEIGHT):
                    if bits >> row & 1:
                        px, py = x + col * dot, top + row * dot
                        self.fill(px, py, px + dot, py + dot, rgb)
            x += GLYPH_ADVANCE * dot

    def png(self) -> bytes:
        """The raster as a PNG file."""
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)
        header = struct.pack("!IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
                + _chunk(b"IEND", b""))  # fmt: skip


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))


def to_png(chart: Chart, scale: int = SCALE) -> bytes:
    """Paint ``chart`` (``scale`` pixels per unit) and encode it as PNG."""
    canvas = Canvas(chart.width * scale, chart.height * scale)

    def px(value: float) -> int:
        return round(value * scale)

    for s in chart.shapes:
        if isinstance(s, Rect):
            canvas.fill(px(s.x), px(s.y), px(s.x + s.width), px(s.y + s.height), colour(s.fill))
        elif isinstance(s, Line):
            x0, y0 = px(min(s.x1, s.x2)), px(min(s.y1, s.y2))
            x1, y1 = px(max(s.x1, s.x2)), px(max(s.y1, s.y2))
            canvas.fill(x0, y0, max(x1, x0 + scale), max(y1, y0 + scale), colour(s.stroke))
        elif isinstance(s, Dot):
            cx, cy, r = px(s.cx), px(s.cy), s.r * scale
            rgb = colour(s.fill)
            for dy in range(-int(r), int(r) + 1):
                half = int((r * r - dy * dy) ** 0.5)
                canvas.fill(cx - half, cy + dy, cx + half + 1, cy + dy + 1, rgb)
        elif isinstance(s, Text):
            # The baseline sits under the glyph's 7 rows; bold is one dot wider a stroke.
            top = px(s.y) - GLYPH_HEIGHT * scale
            canvas.text(px(s.x), top, s.text, INK, scale)
            if s.bold:
                canvas.text(px(s.x) + 1, top, s.text, INK, scale)
    return canvas.png()
