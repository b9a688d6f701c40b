"""``inspector compare``: one workload over TCP, TLS, UDP, WebSocket and HTTP, side by side.

Built-in servers on loopback answer (the listening engine with echo rules, and a small
HTTP/1.1 server), or the user's own endpoints (``--url TRANSPORT=URL``). It prints a
table (or ``--json``), writes ``--report`` (HTML with inline SVG charts, or Markdown
with PNG charts beside it) and keeps each transport's capture in ``--capture-dir``.
Exit status: 0 every transport ran, 1 one or more failed (each says why in its row),
2 wrong usage, 130 interrupted (SIGINT), 143 stopped by SIGTERM (the transports that
ran are reported; captures are finished either way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from inspector.capture.store import CaptureStore
from inspector.cli.args import PROG, OneLineParser
from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import EndpointError, InspectorError, UsageError
from inspector.net.compare import (
    CompareReport,
    Transport,
    TransportResult,
    Workload,
    parse_transports,
)
from inspector.net.compare_delay import Conditions
from inspector.net.compare_report import text_table, write_report
from inspector.net.compare_run import CompareConfig, partial_report, run_compare

COMPARE_EXAMPLES = """\
transports: tcp-len32, tcp-lines, tls, udp, ws, ws-deflate, wss, http-keepalive,
http-polling (a new connection per request; an answer is fetched by a poll),
http-longpoll (the poll is held until a message is there).

measures: set-up time (resolve, connect, TLS, upgrade), bytes per message each way
(payload + overhead, counted from the recorded wire bytes), latency p50/p90/p99/max,
messages/s, MB/s, connections opened, counted round trips, client CPU time.
(ovh) is what framing and headers add to each message's payload; with ws-deflate it is
negative when compression saves more than the frame header costs.

exit status: 0 every transport ran; 1 one or more failed (each says why in its row),
or the table or --report cannot be written; 2 wrong usage; 130 interrupted (Ctrl+C)
or 143 SIGTERM: the transports that ran are reported.

examples:
  inspector compare
  inspector compare --workload push -n 1000 --size 256 --transports ws,http-longpoll
  inspector compare --delay-ms 20 --report compare.html --capture-dir runs/
  inspector compare --transports ws --url ws=ws://example.test:8080/echo
"""


def build_compare_parser() -> OneLineParser:
    """The parser of ``inspector compare [options]``."""
    p = OneLineParser(
        prog=f"{PROG} compare",
        description="Run one workload over several transports and measure them side by side.",
        epilog=COMPARE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--workload",
        choices=[w.value for w in Workload],
        default="rr",
        help="rr: request/response; stream: one way; push: the server sends",
    )
    p.add_argument("-n", "--count", type=int, default=200, help="messages per client")
    p.add_argument("--size", type=int, default=64, help="payload bytes per message")
    p.add_argument("--clients", type=int, default=1, help="concurrent clients")
    p.add_argument(
        "--transports",
        metavar="NAME,…",
        default=",".join(t.value for t in Transport),
        help="which transports to run, comma-separated (default: all; see below)",
    )
    p.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="TRANSPORT=URL",
        help="use your own endpoint for a transport (repeatable)",
    )
    p.add_argument("--delay-ms", type=float, default=0.0, help="added one-way delay")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="added random delay on top")
    p.add_argument("--loss", type=float, default=0.0, help="UDP datagrams lost (0..1)")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="accept any certificate of your own tls:// and wss:// --url",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--report", type=Path, help="write FILE.html or FILE.md")
    p.add_argument("--capture-dir", type=Path, help="keep one capture per transport here")
    return p  # fmt: skip


def _open_capture(path: Path, endpoint: str, scheme: str, clock: SessionClock) -> CaptureStore:
    return CaptureStore.create(
        path, endpoint=endpoint, scheme=scheme, options={}, clock=clock, overwrite=True
    )


def check_url(transport: Transport, url: str) -> str:
    """``url`` when it suits ``transport`` (its scheme, a host and port); UsageError otherwise."""
    if transport.is_http:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises for a port that is not a number
        except ValueError:
            parts = urlsplit("")
        if parts.scheme != "http" or not parts.hostname:
            raise UsageError(f"--url {transport.value}={url}: write http://host[:port][/path]")
        return url
    try:
        endpoint = parse_endpoint(url)
    except EndpointError as exc:
        raise UsageError(f"--url {transport.value}={url}: {exc}") from None
    if endpoint.scheme != transport.scheme:
        raise UsageError(
            f"--url {transport.value}={url}: {transport.value} needs a {transport.scheme}:// URL"
        )
    return url


def config_from_args(argv: Sequence[str]) -> tuple[CompareConfig, bool, Path | None]:
    """Parse and check the command line: (config, json, report path); UsageError otherwise."""
    args = build_compare_parser().parse_args(list(argv))
    for name, value, low in (("-n", args.count, 1), ("--size", args.size, 1),
                             ("--clients", args.clients, 1)):  # fmt: skip
        if value < low:
            raise UsageError(f"{name} must be at least {low}")
    if args.count > 1_000_000 or args.size > 16 << 20 or args.clients > 256:
        raise UsageError("-n at most 1000000, --size at most 16 MiB, --clients at most 256")
    if args.delay_ms < 0 or args.jitter_ms < 0 or not 0 <= args.loss < 1:
        raise UsageError("--delay-ms and --jitter-ms are not negative; --loss is in [0, 1)")
    try:
        transports = parse_transports(args.transports)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    urls: dict[Transport, str] = {}
    for item in args.url:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise UsageError(f"--url {item!r}: write TRANSPORT=URL, e.g. ws=ws://host:8080/")
        try:
            transport = Transport(name)
        except ValueError:
            raise UsageError(f"--url {item!r}: unknown transport {name!r}") from None
        urls[transport] = check_url(transport, url)
    if args.report is not None and args.report.suffix.lower() not in (".md", ".html", ".htm"):
        raise UsageError("--report FILE ends in .html or .md")
    if args.report is not None and not args.report.absolute().parent.is_dir():
        # said before the run, not after minutes of measuring
        raise UsageError(f"--report {args.report}: the folder {args.report.parent} does not exist")
    config = CompareConfig(
        workload=Workload(args.workload),
        count=args.count,
        size=args.size,
        clients=args.clients,
        transports=transports,
        urls=urls,
        conditions=Conditions(args.delay_ms, args.jitter_ms, args.loss),
        capture_dir=args.capture_dir,
        open_capture=_open_capture,
        verify=not args.insecure,
    )
    return config, args.json, args.report


def run_compare_command(argv: Sequence[str], stdout: TextIO | None, stderr: TextIO) -> int:
    """Run ``inspector compare``; the exit status."""
    out = stdout if stdout is not None else sys.stdout
    try:
        config, as_json, report_path = config_from_args(argv)
    except UsageError as exc:
        stderr.write(f"inspector compare: {exc}\n")
        return 2

    done: list[TransportResult] = []

    def progress(result: TransportResult) -> None:
        done.append(result)
        if not as_json:
            state = "ok" if result.ok else "failed"
            stderr.write(f"inspector compare: {result.transport} {state}\n")

    terminated: list[bool] = []

    async def main() -> CompareReport | None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def terminate() -> None:
            if task is not None and not terminated:
                terminated.append(True)
                task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, terminate)
        try:
            return await run_compare(config, progress)
        except asyncio.CancelledError:  # Ctrl+C or SIGTERM: report what ran
            return partial_report(config, done)
        except InspectorError as exc:  # nothing could run (the capture folder)
            stderr.write(f"inspector compare: {exc}\n")
            return None
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGTERM)

    report = asyncio.run(main())
    if report is None:
        return 1
    try:
        if as_json:
            out.write(json.dumps(report.to_json(), indent=2) + "\n")
        else:
            out.write(text_table(report) + "\n")
        out.flush()
    except OSError as exc:  # a full disk, a reader gone
        stderr.write(f"inspector compare: cannot write the output: {exc.strerror or exc}\n")
        return 1
    if report_path is not None:
        try:
            write_report(report, report_path)
        except OSError as exc:
            stderr.write(f"inspector compare: cannot write {report_path}: {exc.strerror}\n")
            return 1
    if report.cancelled:
        return 128 + signal.SIGTERM if terminated else 130
    return 0 if all(r.ok for r in report.results) else 1
