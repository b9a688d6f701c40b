"""The comparison's text table and report files (HTML with inline SVG charts, or Markdown).

Charts are drawn by hand (:mod:`inspector.net.compare_charts`: bars and a latency box per
transport): no plotting library, nothing to install, and the HTML report is one
self-contained file. A Markdown report writes the same charts as PNG files beside it
(:mod:`inspector.net.compare_png`) and links them, since Markdown viewers show PNG
where many refuse SVG.
"""

from __future__ import annotations

import html
from pathlib import Path

from inspector.core.render import counted
from inspector.net.compare import CompareReport, TransportResult
from inspector.net.compare_charts import Chart, bar_chart, latency_chart, to_svg
from inspector.net.compare_png import to_png

HEADERS = ("transport", "setup ms", "setup RT", "out B/msg (ovh)", "in B/msg (ovh)",
           "p50 ms", "p90 ms", "p99 ms", "max ms", "msg/s", "MB/s", "lost", "conns",
           "RT/msg", "cpu s")  # fmt: skip


def _ms(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e6:.3f}"


def row_cells(r: TransportResult) -> list[str]:
    """One result as the table's cells (an error fills the row after the name)."""
    if not r.ok:
        return [r.transport, f"FAILED: {r.error}"]
    setup_rt = r.setup_round_trips / r.clients if r.clients else 0
    return [
        r.transport,
        _ms(r.setup_total_ns),
        f"{setup_rt:g}",
        f"{r.payload_out:.0f} ({r.overhead_out:+.1f})",
        f"{r.payload_in:.0f} ({r.overhead_in:+.1f})",
        _ms(r.latency(0.5)),
        _ms(r.latency(0.9)),
        _ms(r.latency(0.99)),
        _ms(max(r.latencies_ns) if r.latencies_ns else None),
        f"{r.messages_per_s:.0f}",
        f"{r.mb_per_s:.2f}",
        str(r.lost),
        str(r.connections),
        f"{r.round_trips_per_message:.2f}",
        f"{r.cpu_s:.3f}",
    ]


def title_of(report: CompareReport) -> str:
    cond = f", +{report.delay_ms:g} ms delay" if report.delay_ms else ", loopback"
    return (f"{report.workload}: {counted(report.count, 'message')} of {report.size} B, "
            f"{counted(report.clients, 'client')}{cond}")  # fmt: skip


def text_table(report: CompareReport) -> str:
    """The results as an aligned plain-text table."""
    rows = [list(HEADERS)] + [row_cells(r) for r in report.results]
    full = [row for row in rows if len(row) == len(HEADERS)]  # a failed row spans the rest
    widths = [max(len(row[i]) for row in full) for i in range(len(HEADERS))]
    lines = [title_of(report)]
    for row in rows:
        if len(row) == 2 and row[1].startswith("FAILED"):
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]}")
        else:
            cells = zip(row, widths, strict=True)
            text = "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells))
            lines.append(text)
    if report.cancelled:
        lines.append("(cancelled: the transports above ran)")
    for r in report.results:
        for note in r.notes:
            lines.append(f"{r.transport}: {note}")
    return "\n".join(lines)


def markdown_table(report: CompareReport) -> str:
    """The results as a Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in report.results:
        cells = row_cells(r)
        cells += [""] * (len(HEADERS) - len(cells))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def chart_shapes(report: CompareReport) -> dict[str, Chart]:
    """The report's charts by file stem: latency, overhead per message, set-up cost."""
    ok = [r for r in report.results if r.ok]
    names = [r.transport for r in ok]
    return {
        "latency": latency_chart(report.results),
        "overhead": bar_chart("Overhead per message, both ways (bytes)", names,
                              [r.overhead_out + r.overhead_in for r in ok], "B"),
        "setup": bar_chart("Set-up time (ms)", names, [r.setup_total_ns / 1e6 for r in ok],
                           "ms"),
    }  # fmt: skip


def charts(report: CompareReport) -> dict[str, str]:
    """The report's charts as SVG documents, by file stem (the HTML report, the window)."""
    return {name: to_svg(chart) for name, chart in chart_shapes(report).items()}


def png_charts(report: CompareReport) -> dict[str, bytes]:
    """The same charts as PNG files' bytes, by file stem (the Markdown report)."""
    return {name: to_png(chart) for name, chart in chart_shapes(report).items()}


def html_report(report: CompareReport) -> str:
    """A self-contained HTML report: the table, the charts, and each capture."""
    rows = []
    for r in report.results:
        cells = row_cells(r)
        span = f' colspan="{len(HEADERS) - 1}"' if len(cells) == 2 else ""
        tds = [f"<td>{html.escape(cells[0])}</td>"]
        tds += [f"<td{span}>{html.escape(c)}</td>" for c in cells[1:]]
        rows.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    captures = "".join(f"<li>{html.escape(r.transport)}: <code>{html.escape(r.capture)}</code></li>"
                       for r in report.results if r.capture)  # fmt: skip
    figures = "\n".join(
        f'<figure id="chart-{k}">{svg}</figure>' for k, svg in charts(report).items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Transport comparison</title>
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:2px 6px;text-align:right}}</style></head>
<body><h1>Transport comparison</h1><p>{html.escape(title_of(report))}</p>
<table id="results"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<p>B/msg: payload bytes per message and (+) what framing and headers added, counted
from the recorded wire bytes (TCP/IP headers not included). RT: counted round trips.</p>
{figures}
<h2>Captures</h2><ul>{captures}</ul>
</body></html>
"""


def markdown_report(report: CompareReport, path: Path) -> str:
    """A Markdown report; its charts are written as PNG files beside ``path``."""
    links = []
    for name, png in png_charts(report).items():
        chart = path.with_name(f"{path.stem}-{name}.png")
        chart.write_bytes(png)
        links.append(f"![{name}]({chart.name})")
    captures = "\n".join(f"- {r.transport}: `{r.capture}`" for r in report.results if r.capture)
    return (f"# Transport comparison\n\n{title_of(report)}\n\n{markdown_table(report)}\n\n"
            + "\n\n".join(links) + f"\n\n## Captures\n\n{captures}\n")  # fmt: skip


def write_report(report: CompareReport, path: Path) -> None:
    """Write ``path`` as HTML (.html/.htm) or Markdown (anything else, .md expected)."""
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(html_report(report), encoding="utf-8")
    else:
        path.write_text(markdown_report(report, path), encoding="utf-8")
