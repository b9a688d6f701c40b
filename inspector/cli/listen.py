"""``inspector listen URL``: be the server for ws://, wss://, tcp://, tls:// and udp://
clients, headless.

It binds (port 0 picks a free port), prints ``listening on URL`` (with ``--json`` the
LISTENING record), then every record of the listener and of each connection, as
``probe`` prints them plus the connection number (``conn``) and the client (``peer``).
Rules (``--echo``, ``--reply``, ``--greet``, ``--rules FILE``) answer by themselves.
It stops after ``--connections N`` ended, after ``--duration`` seconds, or on
SIGINT/SIGTERM; each way every connection is closed gracefully, the capture finished,
and the exit status is 0. It exits 1 when it cannot listen, 2 for wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from inspector.capture.store import CaptureStore
from inspector.cli.args import (
    PROG,
    OneLineParser,
    _number,
    parse_hex,
    unescape,
)
from inspector.cli.output import Printer
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import EndpointError, InspectorError, UsageError
from inspector.core.options import (
    DEFAULT_MAX_SIZE,
    UDP_IDLE,
    Framing,
    ServerOptions,
    SessionOptions,
    build_server_options,
    header_line,
)
from inspector.core.recorder import Recorder
from inspector.core.records import Kind, Record
from inspector.core.render import record_line, record_to_json
from inspector.core.rulefile import load_rules
from inspector.core.rules import ActionKind, MatchKind, Rule, RuleEngine, RuleError, compile_rule
from inspector.protocols.wshandshake import deflate_params

PRINT_INTERVAL = 0.05  # seconds between two drains of the recorders
FLUSH_INTERVAL = 0.2  # seconds between two commits of the capture file
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

LISTEN_EXAMPLES = """\
rules: --rules FILE first (a TOML list of [[rule]] tables: match any, contains, regex,
json, hex, connect or timer → reply, echo, broadcast, delay, close, drop or ignore),
then each --reply in order, then --echo as the last resort; --greet answers each new
connection. Templates know {{1}} and named regex groups, {{json.a.b}}, {{now}},
{{unix_ms}}, {{seq}}, {{conn}}, {{uuid}}, {{random}} and {{message}}.

output: "listening on URL", then one line per record, the connection number first
(- for the listener's own records); --json prints the LISTENING record, then one JSON
object per record with "conn" and "peer"; --quiet prints only the first line.

The default address is loopback; 0.0.0.0 or [::] listens on every interface. For
tls:// without --cert/--key a certificate for localhost, 127.0.0.1 and ::1 is made
once and kept in the user's data folder ($INSPECTOR_CERT_DIR to move it); its SHA-256
fingerprint is in the LISTENING record. UDP: each client address is one connection.

exit status: 0 stopped normally (--connections, --duration, SIGINT or SIGTERM);
1 cannot listen (address in use, permission denied, bad certificate), or the output
cannot be written (a full disk: it stops as gracefully, the capture finished); 2 wrong
usage.

WebSocket: a URL path other than / is the only one accepted (404 for others) unless
--any-path; --refuse STATUS answers every upgrade with that status (a client's failure
path); wss:// prints the certificate's SHA-256 as tls:// does.

examples:
  inspector listen ws://127.0.0.1:9000/ --echo
  inspector listen ws://127.0.0.1:9000/feed --subprotocol v2.json --require-subprotocol
  inspector listen ws://127.0.0.1:9000/ --refuse 503 --refuse-header 'Retry-After: 30'
  inspector listen tcp://127.0.0.1:9000 --echo
  inspector listen tcp://127.0.0.1:0 --framing lines --reply '^PING (\\d+)=>PONG {{1}}'
  inspector listen tls://127.0.0.1:8443 --greet 'hello {{conn}}\\n' -o server.sockcap
  inspector listen udp://127.0.0.1:5353 --echo --json --connections 1
"""


def build_listen_parser() -> OneLineParser:
    """The parser of ``inspector listen URL [options]``."""
    p = OneLineParser(
        prog=f"{PROG} listen",
        description="Listen on URL without a window, answer clients by rules, print and "
        "record every connection.",
        epilog=LISTEN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "url", metavar="URL", help="ws://, wss://, tcp://, tls:// or udp:// address to listen on"
    )
    answer = p.add_argument_group("answering")
    answer.add_argument("--echo", action="store_true", help="send every message back")
    answer.add_argument(
        "--broadcast",
        action="store_true",
        help="with --echo: send every message to every connection",
    )
    greet = answer.add_mutually_exclusive_group()
    greet.add_argument(
        "--greet",
        type=unescape,
        metavar="TEXT",
        help="send TEXT to each new connection (escapes as in probe --send)",
    )
    greet.add_argument(
        "--greet-hex", type=parse_hex, metavar="HEX", help="send these bytes to each new connection"
    )
    answer.add_argument(
        "--reply",
        dest="replies",
        action="append",
        default=[],
        metavar="'REGEX=>TEMPLATE'",
        help="answer a message matching REGEX with TEMPLATE (repeatable; first match wins)",
    )
    answer.add_argument("--rules", metavar="FILE", help="rules file (TOML)")
    conn = p.add_argument_group("connections")
    conn.add_argument(
        "--framing",
        type=Framing,
        choices=list(Framing),
        default=Framing.RAW,
        help="tcp/tls: how the stream is cut into messages (default raw: each read)",
    )
    conn.add_argument(
        "--max-size",
        type=_number(int, 1, "a number of bytes"),
        default=DEFAULT_MAX_SIZE,
        metavar="BYTES",
        help=f"largest inbound message (default {DEFAULT_MAX_SIZE})",
    )
    ws = p.add_argument_group("WebSocket (ws://, wss://)")
    ws.add_argument(
        "--subprotocol",
        dest="subprotocols",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this subprotocol when the client offers it (repeatable; the first "
        "one the client offers that is on the list is chosen)",
    )
    ws.add_argument(
        "--require-subprotocol",
        action="store_true",
        help="refuse (400) a client that offers none of the --subprotocol names",
    )
    ws.add_argument(
        "--any-path",
        action="store_true",
        help="accept every request path (the default when the URL's path is /; "
        "otherwise only that path is accepted and others get 404)",
    )
    ws.add_argument(
        "--no-compress",
        dest="compression",
        action="store_false",
        help="do not accept permessage-deflate",
    )
    ws.add_argument(
        "--deflate",
        metavar="PARAMS",
        help="permessage-deflate parameters to ask for, e.g. "
        "'server_no_context_takeover; server_max_window_bits=10'",
    )
    ws.add_argument(
        "--compression-level",
        type=_level,
        metavar="0-9",
        help="zlib level of the messages sent (0: stored blocks, fastest; default 6)",
    )
    ws.add_argument(
        "--no-auto-pong",
        dest="auto_pong",
        action="store_false",
        help="leave pings unanswered (to test a client's keepalive timeout)",
    )
    ws.add_argument(
        "--refuse",
        type=_status,
        metavar="STATUS",
        help="answer every upgrade with this HTTP status (to test a client's failure handling)",
    )
    ws.add_argument(
        "--refuse-header",
        dest="refuse_headers",
        action="append",
        default=[],
        type=_header,
        metavar="'NAME: VALUE'",
        help="with --refuse: a header of the refusal (repeatable)",
    )
    ws.add_argument(
        "--refuse-body", type=unescape, metavar="TEXT", help="with --refuse: the refusal's body"
    )
    conn.add_argument("--cert", metavar="FILE", help="TLS: certificate chain (PEM)")
    conn.add_argument("--key", metavar="FILE", help="TLS: private key of --cert (PEM)")
    add_max_connections(conn, "connections")
    conn.add_argument(
        "--udp-idle",
        type=_number(float, 0, "a number of seconds"),
        default=UDP_IDLE,
        metavar="SECONDS",
        help=f"udp://: end a client's connection after SECONDS without a datagram from it "
        f"(default {UDP_IDLE:g}; 0: never)",
    )
    add_stopping_and_output(p, "connections have ended", "the listening line")
    return p


def add_max_connections(group: Any, noun: str) -> None:
    """--max-connections, as listen (connections) and relay (pairs) take it."""
    group.add_argument(
        "--max-connections",
        type=_number(int, 1, "a number"),
        metavar="N",
        help=f"refuse clients while N {noun} are open",
    )


def add_stopping_and_output(p: argparse.ArgumentParser, ended: str, first_line: str) -> None:
    """The stopping (--connections, --duration) and output (-o, --json, --quiet) options
    that listen and relay share: ``ended`` completes "stop after N …", ``first_line``
    names what --quiet still prints."""
    stop = p.add_argument_group("stopping (also SIGINT, SIGTERM)")
    stop.add_argument(
        "--connections",
        type=_number(int, 1, "a number"),
        metavar="N",
        help=f"stop after N {ended}",
    )
    stop.add_argument(
        "--duration",
        type=_number(float, 0, "a number of seconds", strict=True),
        metavar="SECONDS",
        help="stop after SECONDS",
    )
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="FILE", help="record to this capture file")
    shown = out.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print records as JSON lines")
    shown.add_argument("--quiet", action="store_true", help=f"print only {first_line}")


def _level(text: str) -> int:
    """A zlib level, 0 to 9."""
    if not text.isdigit() or not 0 <= int(text) <= 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a zlib level (0 to 9)")
    return int(text)


def _status(text: str) -> int:
    """An HTTP status a refusal may use: 200 to 599 but not 101."""
    if not text.isdigit() or not 200 <= int(text) <= 599:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP status from 200 to 599")
    return int(text)


def _header(text: str) -> tuple[str, str]:
    """'Name: value' as (name, value)."""
    try:
        return header_line(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def server_options(args: argparse.Namespace, endpoint: Endpoint) -> ServerOptions:
    """How ws:// upgrades are answered and udp:// clients forgotten, from the options
    (built by core.options.build_server_options, as the window builds them);
    UsageError with one line."""
    if (args.refuse_headers or args.refuse_body is not None) and args.refuse is None:
        raise UsageError("--refuse-header and --refuse-body go with --refuse STATUS")
    if args.require_subprotocol and not args.subprotocols:
        raise UsageError("--require-subprotocol needs at least one --subprotocol NAME")
    if args.deflate is not None:
        if not args.compression:
            raise UsageError("--deflate and --no-compress contradict each other")
        try:
            deflate_params(args.deflate)
        except InspectorError as exc:
            raise UsageError(f"--deflate: {exc}") from None
    body = args.refuse_body.decode("utf-8", "replace") if args.refuse_body is not None else ""
    try:
        return build_server_options(
            endpoint.target,
            any_path=args.any_path,
            subprotocols=args.subprotocols,
            require_subprotocol=args.require_subprotocol,
            compression=args.compression,
            deflate=args.deflate,
            refuse_status=args.refuse,
            refuse_headers=args.refuse_headers,
            refuse_body=body,
            udp_idle=args.udp_idle,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def rules_from_args(args: argparse.Namespace) -> list[Rule]:
    """The rules the options ask for, in order; UsageError with one line."""
    rules: list[Rule] = []
    if args.rules:
        try:
            rules += load_rules(args.rules)
        except RuleError as exc:
            raise UsageError(f"--rules: {exc}") from None
    for text in args.replies:
        pattern, sep, template = text.partition("=>")
        if not sep:
            raise UsageError(f"--reply {text!r} is not 'REGEX=>TEMPLATE'")
        rule = Rule(MatchKind.REGEX, ActionKind.REPLY, pattern, template=template)
        _check(rule, f"--reply {text!r}")
        rules.append(rule)
    if args.greet is not None:
        template = args.greet.decode("utf-8", "surrogateescape")
        rule = Rule(MatchKind.CONNECT, ActionKind.REPLY, template=template)
        _check(rule, "--greet")
        rules.append(rule)
    elif args.greet_hex is not None:
        rules.append(Rule(MatchKind.CONNECT, ActionKind.REPLY, hex=args.greet_hex.hex()))
    if args.broadcast and not args.echo:
        raise UsageError("--broadcast goes with --echo (send every message to everyone)")
    if args.echo:
        action = ActionKind.BROADCAST if args.broadcast else ActionKind.ECHO
        rules.append(Rule(MatchKind.ANY, action))
    return rules


def _check(rule: Rule, option: str) -> None:
    """UsageError naming the option when a rule made from it cannot work."""
    try:
        compile_rule(rule)
    except RuleError as exc:
        raise UsageError(f"{option}: {str(exc).split(': ', 1)[-1]}") from None


class _Held:
    """A sink that keeps records until the capture file exists (it is made once the
    listener is bound, so its session has the real port and a failed bind leaves none)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)


class ListenRun:
    """One ``inspector listen``: bind, print and record, stop, finish the capture."""

    def __init__(
        self,
        endpoint: Endpoint,
        args: argparse.Namespace,
        rules: list[Rule],
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self.endpoint = endpoint
        self.args = args
        self.rules = rules
        self.options = SessionOptions(
            framing=args.framing,
            max_size=args.max_size,
            subprotocols=tuple(args.subprotocols),
            compression=args.compression,
            compression_level=args.compression_level,
            auto_pong=args.auto_pong,
        )
        self.server = self._server_options(args, endpoint)
        self.printer = Printer(stdout, as_json=args.json, quiet=args.quiet)
        self.stdout = stdout
        self.stderr = stderr
        self.consumed = not args.quiet
        self.store: CaptureStore | None = None
        self._held = _Held()
        self.recorder = Recorder(self._held, consumed=self.consumed)
        self._conn_stores: dict[int, CaptureStore] = {}
        self._draining: list[tuple[int, str, Recorder]] = []
        self._stop = asyncio.Event()
        self._signals = 0
        self._output_error: str | None = None
        self.listener: Any = None

    async def run(self) -> int:
        """Run until a stop condition; return the exit status."""
        from inspector.net.listener import ListenError

        self.listener = listener = self._make_listener()
        try:
            await listener.start()
        except ListenError as exc:
            self.stderr.write(f"inspector {self.command}: {exc}\n")
            return EXIT_FAILED
        try:
            self._open_capture()
        except InspectorError:
            await listener.stop(0)
            raise
        try:
            self._first_line()
        except OSError as exc:
            self._output_failed(exc)
        self._install_signals()
        ticker = asyncio.create_task(self._tick())
        flusher = asyncio.create_task(self._flush()) if self.store is not None else None
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.args.duration):
                    await self._stop.wait()
            await listener.stop()
        finally:
            for task in (ticker, flusher):
                if task is not None:
                    task.cancel()
            self._remove_signals()
            try:
                self._drain()
            except OSError as exc:
                self._output_failed(exc)
            finally:
                self._finish_capture()
        if self._output_error is not None:
            self.stderr.write(
                f"inspector {self.command}: cannot write the output: {self._output_error} "
                "(stopped; the capture was finished)\n"
            )
            return EXIT_FAILED
        return EXIT_OK

    def _output_failed(self, exc: OSError) -> None:
        """stdout cannot take more (a full disk, an I/O error): print no more and stop
        gracefully, as a command whose output is lost should. (A reader that went away
        only ends printing: the Printer takes that broken pipe itself.)"""
        self.printer.quiet = True
        if isinstance(exc, BrokenPipeError):
            return
        if self._output_error is None:
            self._output_error = exc.strerror or str(exc)
        self._stop.set()

    command = "listen"
    #: Commit the capture on a thread of its own (CaptureStore.create's ``commit_thread``).
    commit_thread = False

    def _server_options(self, args: argparse.Namespace, endpoint: Endpoint) -> ServerOptions | None:
        """How ws:// upgrades are answered and udp:// clients are forgotten (None for
        tcp:// and tls://)."""
        if endpoint.is_websocket or endpoint.is_datagram:
            return server_options(args, endpoint)
        return None

    def _make_listener(self) -> Any:
        """The listener this command runs (``inspector relay`` makes a relay instead)."""
        from inspector.net.listener import create_listener

        tls = None
        if self.endpoint.secure:
            from inspector.net.certs import server_tls

            alpn = ["http/1.1"] if self.endpoint.is_websocket else None
            tls = server_tls(self.args.cert, self.args.key, alpn=alpn)  # CertificateError: exit 1
        elif self.args.cert or self.args.key:
            raise UsageError("--cert and --key are for tls:// (and wss://)")
        listener = create_listener(
            self.endpoint,
            self.options,
            self.recorder,
            self._recorder_for,
            rules=RuleEngine(self.rules) if self.rules else None,
            max_connections=self.args.max_connections,
            tls=tls,
            server=self.server,
        )
        listener.on_connection_end = self._connection_ended
        return listener

    def _role_options(self, role: str, **more: Any) -> dict[str, Any]:
        """The options stored with a session of this command's capture."""
        return {**dataclasses.asdict(self.options), "role": role, **more}

    def _first_text(self) -> list[str]:
        """The first lines printed (without --json)."""
        lines = [f"listening on {self.listener.url}"]
        tls = self.listener.tls
        if tls is not None and not self.args.quiet:
            made = "made for localhost, " if tls.self_signed else ""
            lines.append(f"certificate SHA-256 {tls.fingerprint} ({made}{tls.cert_path})")
        return lines

    # -- capture ----------------------------------------------------------------

    def _open_capture(self) -> None:
        """Create the capture file (its first session is the listener's) if asked."""
        path = self.args.output
        if path is None:
            self.recorder.sink = None
            return
        self.store = CaptureStore.create(
            path,
            endpoint=self.listener.url,
            scheme=str(self.endpoint.scheme),
            options=self._role_options("listener"),
            clock=self.recorder.clock,
            overwrite=True,
            commit_thread=self.commit_thread,
        )
        self.store.write_many(self._held.records)
        self.recorder.sink = self.store

    def _recorder_for(self, number: int, peer: str) -> Recorder:
        """A recorder (and, with -o, a capture session) for connection ``number``."""
        clock = SessionClock()
        sink = None
        if self.store is not None:
            options = self._role_options("server", conn=number, peer=peer)
            try:
                sink = self.store.add_session(
                    endpoint=self.listener.url,
                    scheme=str(self.endpoint.scheme),
                    options=options,
                    clock=clock,
                )
                self._conn_stores[number] = sink
            except InspectorError as exc:
                self.stderr.write(
                    f"inspector {self.command}: connection {number} not recorded: {exc}\n"
                )
        recorder = Recorder(sink, clock=clock, consumed=self.consumed)
        if self.consumed:
            self._draining.append((number, peer, recorder))
        return recorder

    def _connections(self) -> dict[int, Any]:
        """Connections (a relay's pairs) by number."""
        found = getattr(self.listener, "connections", None)
        return found if found is not None else self.listener.pairs

    def _connection_ended(self, conn: Any) -> None:
        store = self._conn_stores.pop(conn.number, None)
        if store is not None:
            store.finish(str(conn.state), conn.summary())
            store.close()
        wanted = self.args.connections
        if wanted is not None and self.listener.ended_count >= wanted:
            self._stop.set()

    def _finish_capture(self) -> None:
        store = self.store
        if store is None:
            return
        for number in list(self._conn_stores):
            conn = self._connections().get(number)
            child = self._conn_stores.pop(number)
            if conn is not None:
                child.finish(str(conn.state), conn.summary())
        store.finish(str(self.listener.state), self.listener.summary())
        store.close()
        if store.error is not None:
            self.stderr.write(
                f"inspector {self.command}: capture not fully written: {store.error}\n"
            )

    async def _flush(self) -> None:
        assert self.store is not None
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.store.flush()
            for child in list(self._conn_stores.values()):
                child.flush()

    # -- printing ---------------------------------------------------------------

    def _first_line(self) -> None:
        if self.args.json:
            first = self.recorder.drain()
            lines = [self._json(r, None, None) for r in first]
            self.printer.write("\n".join(lines) + "\n")
        else:
            lines = self._first_text()
            rest = [r for r in self.recorder.drain() if r.kind is not Kind.LISTENING]
            lines += [self._line(r, None, None) for r in rest]
            self.stdout.write("\n".join(lines) + "\n")
            self.stdout.flush()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(PRINT_INTERVAL)
            try:
                self._drain()
            except OSError as exc:
                self._output_failed(exc)

    def _drain(self) -> None:
        """Print what every recorder made since the last drain, in the order it happened
        (each connection's clock starts at its accept, so lines are ordered by wall time)."""
        if not self.consumed:
            return
        fmt = self._json if self.args.json else self._line
        stamped: list[tuple[int, str]] = []
        clock = self.recorder.clock
        stamped += [(clock.wall_ns(r.t_ns), fmt(r, None, None)) for r in self.recorder.drain()]
        keep = []
        for number, peer, recorder in self._draining:
            clock = recorder.clock
            stamped += [(clock.wall_ns(r.t_ns), fmt(r, number, peer)) for r in recorder.drain()]
            conn = self._connections().get(number)
            if conn is None or not conn.ended:
                keep.append((number, peer, recorder))
        self._draining = keep
        if stamped:
            stamped.sort(key=lambda item: item[0])
            self.printer.write("\n".join(line for _wall, line in stamped) + "\n")

    @staticmethod
    def _line(record: Record, conn: int | None, peer: str | None) -> str:
        del peer
        label = "-" if conn is None else f"#{conn}"
        return f"{label:>5} {record_line(record)}"

    @staticmethod
    def _json(record: Record, conn: int | None, peer: str | None) -> str:
        out = record_to_json(record)
        if conn is not None:
            out["conn"] = conn
            out["peer"] = peer
        return json.dumps(out, ensure_ascii=False)

    # -- signals ----------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        """First signal: stop gracefully; a second: drop every connection now."""
        self._signals += 1
        self._stop.set()
        if self._signals > 1 and self.listener is not None:
            for conn in list(self._connections().values()):
                conn.abort()


def run_listen(argv: Sequence[str], stdout: TextIO | None, stderr: TextIO) -> int:
    """Parse and run ``inspector listen``; return the exit status."""
    out = stdout if stdout is not None else sys.stdout
    args = build_listen_parser().parse_args(list(argv))
    try:
        endpoint = parse_endpoint(args.url, listen=True)
    except EndpointError as exc:
        stderr.write(f"inspector listen: {exc}\n")
        return EXIT_USAGE
    ws_only = (
        args.subprotocols
        or not args.compression
        or not args.auto_pong
        or args.require_subprotocol
        or args.any_path
        or args.deflate is not None
        or args.compression_level is not None
        or args.refuse is not None
        or args.refuse_headers
        or args.refuse_body is not None
    )
    if not endpoint.is_websocket and ws_only:
        stderr.write("inspector listen: the WebSocket options are for ws:// and wss://\n")
        return EXIT_USAGE
    try:
        rules = rules_from_args(args)
        if args.framing is not Framing.RAW and endpoint.is_datagram:
            raise UsageError("--framing is for tcp:// and tls:// (a datagram is one message)")
        return asyncio.run(ListenRun(endpoint, args, rules, out, stderr).run())
    except UsageError as exc:
        stderr.write(f"inspector listen: {exc}\n")
        return EXIT_USAGE
    except InspectorError as exc:  # a certificate, a capture file: one line
        stderr.write(f"inspector listen: {exc}\n")
        return EXIT_FAILED
