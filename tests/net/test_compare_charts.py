"""The comparison's charts: the same shapes in the SVG (HTML report) and the PNG (Markdown)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

from inspector.net.compare import CompareReport, TransportResult
from inspector.net.compare_charts import BAR_COLOUR, BAR_SPAN, BAR_X, BOX_COLOUR
from inspector.net.compare_png import INK, SCALE, colour
from inspector.net.compare_report import charts, png_charts

SVG = "{http://www.w3.org/2000/svg}"


def _report() -> CompareReport:
    results = (
        TransportResult("tcp-len32", "tcp://x", None, 1, 5, setup_total_ns=200_000,
                        overhead_out=4, overhead_in=4,
                        latencies_ns=(100_000, 120_000, 150_000, 300_000, 90_000)),
        TransportResult("http-keepalive", "http://x", None, 1, 5, setup_total_ns=500_000,
                        overhead_out=80, overhead_in=40,
                        latencies_ns=(400_000, 420_000, 450_000, 900_000, 390_000)),
        TransportResult("ws", "ws://x", "connection refused", 1, 0),
    )  # fmt: skip
    return CompareReport("rr", 5, 64, 1, 0.0, 0.0, 0.0, results)


def _read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB PNG, every chunk's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack("!I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack("!I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour_type = struct.unpack("!IIBB", chunks[0][1][:10])
    assert (depth, colour_type) == (8, 2)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    rows = [raw[i * stride : (i + 1) * stride] for i in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter type 0
    return width, height, [row[1:] for row in rows]


def _runs(row: bytes, rgb: tuple[int, int, int]) -> list[tuple[int, int]]:
    """(start, length) of each run of ``rgb`` pixels in one row."""
    runs: list[tuple[int, int]] = []
    want = bytes(rgb)
    x, width = 0, len(row) // 3
    while x < width:
        if row[3 * x : 3 * x + 3] == want:
            start = x
            while x < width and row[3 * x : 3 * x + 3] == want:
                x += 1
            runs.append((start, x - start))
        else:
            x += 1
    return runs


def test_the_png_bars_are_the_svg_bars_at_twice_the_size() -> None:
    report = _report()
    svg = ET.fromstring(charts(report)["overhead"])
    bars = [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert bars == [round(BAR_SPAN * 8 / 120, 1), BAR_SPAN]  # 8 B and 120 B a message
    width, height, rows = _read_png(png_charts(report)["overhead"])
    assert (width, height) == (640 * SCALE, int(svg.get("height", 0)) * SCALE)
    seen = [runs for row in rows if (runs := _runs(row, colour(BAR_COLOUR)))]
    lengths = sorted({runs[0][1] for runs in seen})
    assert len(lengths) == 2  # two transports ran: two bars; the failed one has none
    assert lengths[1] == BAR_SPAN * SCALE
    assert abs(lengths[0] - BAR_SPAN * SCALE * 8 / 120) <= 1
    assert all(runs[0][0] == BAR_X * SCALE for runs in seen)
    assert len(seen) == 2 * 16 * SCALE  # each bar 16 units high


def test_every_chart_is_a_png_with_its_title_drawn() -> None:
    pictures = png_charts(_report())
    assert set(pictures) == {"latency", "overhead", "setup"}
    for data in pictures.values():
        _, _, rows = _read_png(data)
        assert any(_runs(row, INK) for row in rows[: 20 * SCALE])  # the title's ink
    _, _, rows = _read_png(pictures["latency"])
    assert any(_runs(row, colour(BOX_COLOUR)) for row in rows)  # the p50-p90 boxes


def test_a_character_outside_the_font_is_drawn_as_a_question_mark() -> None:
    from inspector.net.compare_charts import Chart, Text
    from inspector.net.compare_png import to_png

    def ink(text: str) -> list[bytes]:
        return _read_png(to_png(Chart("t", 40, 20, (Text(2, 12, text),))))[2]

    assert ink("±") == ink("?") != ink(" ")
