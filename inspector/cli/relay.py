"""``inspector relay LISTEN_URL UPSTREAM_URL``: sit between a client and a server, headless.

It binds (port 0 picks a free port), prints ``relaying URL → UPSTREAM`` (with ``--json``
the LISTENING record), then every record of the relay and of each pair, as ``listen``
prints them (``out`` is client → server, ``in`` server → client). Every client gets its
own upstream connection and one capture session holding both directions. Faults
(``--delay-ms``, ``--jitter-ms``, ``--loss``, ``--rate``, ``--cut-after-bytes``,
``--cut-after-messages``) apply to both directions, or to one with a ``c2s:`` or ``s2c:``
prefix. ``--rules`` answers matching messages from the relay; ``--intercept`` holds
messages until a command on stdin (:mod:`inspector.cli.intercept`). It stops after
``--connections N`` pairs ended, ``--duration`` seconds, or
SIGINT/SIGTERM; it exits 1 when it cannot listen, 2 for wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from inspector.cli.args import PROG, OneLineParser, _number
from inspector.cli.listen import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ListenRun,
    add_max_connections,
    add_stopping_and_output,
)
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import EndpointError, InspectorError, UsageError
from inspector.core.options import SessionOptions

RELAY_EXAMPLES = """\
Each client connection gets its own upstream connection; bytes are forwarded as they
arrive, unchanged (WebSocket: only Host, and Origin with --origin, are rewritten in the
upgrade request), and both directions are recorded: "out" (→) is client → server, "in"
(←) server → client, meta records say which leg ("leg": client or upstream).

pairs: ws/wss ↔ ws/wss, tcp/tls ↔ tcp/tls, udp ↔ udp; TLS may end or begin on either
side (tls:// or wss:// to listen uses --cert/--key or the made localhost certificate).

faults: every fault option applies to both directions, or to one with a prefix:
--delay-ms s2c:200 --loss c2s:10. --loss and --cut-after-messages count WebSocket
messages (the relay then removes the permessage-deflate offer so single messages can
be dropped) and UDP datagrams; tcp/tls streams take delay, jitter, rate and
--cut-after-bytes. Every effect is in the records (held_ms, lost, cut fields; an INFO
line per cut).

rules: --rules FILE (the listen rules format) sees each message going one way
(--rules-on c2s, s2c or both; tcp/tls: each read, udp: each datagram, ws/wss: each
whole message). A message no rule matches is forwarded; a match is answered by the
relay (reply, echo) and not forwarded, or closes (close; WebSocket: a close frame with
the rule's code to both sides) or resets (drop) the pair.

intercept: --intercept c2s|s2c|both holds each message going that way (tcp/tls: each
read; ws/wss: each whole message; udp: each datagram) that --intercept-filter picks
(the records filter's language: text, a regex with --intercept-regex, or decoded-field
tests such as 'event == "chat"'), prints it as "held #ID  #CONN WAY KIND SIZE
PREVIEW", and waits for a command on stdin:
  f ID  forward      e ID TEXT  send TEXT instead      d ID  drop
  fa    forward all  da         drop all               l     list what is held
  i c2s|s2c [#CONN] TEXT        inject a new message   help  every command
TEXT takes \\n, \\r, \\t and \\xNN escapes. End of stdin forwards what is held and turns
intercept off. While rules or intercept are on, a WebSocket direction is re-framed by
the relay (whole messages, its own compression), so edits and drops stay valid.

exit status: 0 stopped normally; 1 cannot listen; 2 wrong usage.

examples:
  inspector relay ws://127.0.0.1:8080/ wss://echo.example.com/ -o session.sockcap
  inspector relay tcp://127.0.0.1:6380 tcp://127.0.0.1:6379 --delay-ms 50 --jitter-ms 20
  inspector relay tls://127.0.0.1:8443 tcp://127.0.0.1:8080 --connections 1 --json
  inspector relay udp://127.0.0.1:5300 udp://127.0.0.1:53 --loss 10
  inspector relay ws://127.0.0.1:8080/ ws://127.0.0.1:9000/ --intercept both --intercept-filter chat
"""


def _directed(kind: type, minimum: float, what: str) -> Any:
    """A fault value, optionally prefixed ``c2s:`` or ``s2c:``; (directions, value)."""
    convert = _number(kind, minimum, what)

    def parse(text: str) -> tuple[tuple[str, ...], Any]:
        prefix, sep, rest = text.partition(":")
        if sep and prefix in ("c2s", "s2c"):
            return (prefix,), convert(rest)
        return ("c2s", "s2c"), convert(text)

    return parse


FAULT_OPTIONS = (
    ("--delay-ms", "delay_ms", float, 0, "a number of ms", "hold each chunk MS milliseconds"),
    ("--jitter-ms", "jitter_ms", float, 0, "a number of ms", "add ± MS ms at random (order kept)"),
    ("--loss", "loss", float, 0, "a percentage", "drop PERCENT of messages or datagrams"),
    ("--rate", "rate_kbps", float, 0.001, "kilobits per second", "limit to KBPS kbit/s"),
    ("--cut-after-bytes", "cut_after_bytes", int, 0, "a number of bytes", "end after N bytes"),
    ("--cut-after-messages", "cut_after_messages", int, 0, "a number", "end after N messages"),
)


def build_relay_parser() -> OneLineParser:
    """The parser of ``inspector relay LISTEN_URL UPSTREAM_URL [options]``."""
    p = OneLineParser(
        prog=f"{PROG} relay",
        description="Relay clients to a server without a window; print and record both "
        "directions of every connection.",
        epilog=RELAY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("listen", metavar="LISTEN_URL", help="where clients connect")
    p.add_argument("upstream", metavar="UPSTREAM_URL", help="the server to relay to")
    conn = p.add_argument_group("connections")
    conn.add_argument("--cert", metavar="FILE", help="TLS towards clients: certificate (PEM)")
    conn.add_argument("--key", metavar="FILE", help="TLS towards clients: key of --cert (PEM)")
    conn.add_argument(
        "--insecure", action="store_true", help="do not verify the upstream's certificate"
    )
    conn.add_argument("--cafile", metavar="FILE", help="trust this CA for the upstream")
    conn.add_argument(
        "--connect-timeout",
        type=_number(float, 0, "a number of seconds", strict=True),
        default=10.0,
        metavar="SECONDS",
        help="upstream connect/TLS time limit (default 10)",
    )
    conn.add_argument("--origin", metavar="ORIGIN", help="WebSocket: send this Origin upstream")
    add_max_connections(conn, "pairs")
    conn.add_argument(
        "--udp-idle",
        type=_number(float, 0, "a number of seconds", strict=True),
        default=60.0,
        metavar="SECONDS",
        help="udp: a client address's pair ends after SECONDS without traffic (default 60)",
    )
    faults = p.add_argument_group("bad network on purpose (VALUE, c2s:VALUE or s2c:VALUE)")
    for flag, dest, kind, minimum, what, text in FAULT_OPTIONS:
        faults.add_argument(
            flag,
            dest=dest,
            action="append",
            default=[],
            type=_directed(kind, minimum, what),
            metavar="VALUE",
            help=text,
        )
    faults.add_argument(
        "--cut-mode",
        choices=("reset", "close"),
        default="reset",
        help="how a cut ends both sides (default reset)",
    )
    rules = p.add_argument_group("rules and intercept")
    rules.add_argument(
        "--rules",
        metavar="FILE",
        help="answer matching messages from the relay (the listen rules file format)",
    )
    rules.add_argument(
        "--rules-on",
        choices=("c2s", "s2c", "both"),
        default="c2s",
        help="the direction whose messages the rules see (default c2s)",
    )
    rules.add_argument(
        "--intercept",
        choices=("c2s", "s2c", "both"),
        help="hold messages going this way until a command on stdin",
    )
    rules.add_argument(
        "--intercept-filter",
        metavar="EXPR",
        default="",
        help="hold only messages EXPR picks (text, or NAME == VALUE tests; default: all)",
    )
    rules.add_argument(
        "--intercept-regex",
        action="store_true",
        help="--intercept-filter is a regular expression",
    )
    add_stopping_and_output(p, "pairs", "the first line")
    return p


def faults_from_args(args: argparse.Namespace, datagram: bool, websocket: bool) -> dict[str, Any]:
    """The per-direction Faults the options ask for; UsageError with one line."""
    from inspector.net.relayfaults import CutMode, Faults

    values: dict[str, dict[str, Any]] = {"c2s": {}, "s2c": {}}
    for flag, dest, *_rest in FAULT_OPTIONS:
        for directions, value in getattr(args, dest):
            for d in directions:
                values[d][dest] = value
            if dest in ("loss", "cut_after_messages") and not (datagram or websocket):
                raise UsageError(f"{flag} counts messages: it is for ws/wss and udp relays")
            if dest == "cut_after_bytes" and datagram:
                raise UsageError(f"{flag} is for streams; use --cut-after-messages for udp")
            if dest == "loss" and value > 100:
                raise UsageError(f"{flag} is a percentage (0-100)")
    mode = CutMode(args.cut_mode)
    return {d: Faults(**v, cut_mode=mode) for d, v in values.items()}


def relay_rules(path: str, on: str) -> Any:
    """The rules of ``path`` for the directions ``on`` names; UsageError with one line."""
    from inspector.core.rulefile import load_rules
    from inspector.core.rules import RuleEngine, RuleError
    from inspector.net.relayrules import RelayRules

    try:
        engine = RuleEngine(load_rules(path))
    except RuleError as exc:
        raise UsageError(f"--rules: {exc}") from None
    directions = frozenset({"c2s", "s2c"} if on == "both" else {on})
    return RelayRules(engine, directions)


def interceptor_from_args(args: argparse.Namespace) -> Any:
    """The Interceptor ``--intercept`` asks for (None without); UsageError with one line."""
    from inspector.net.intercept import InterceptMode, Interceptor, MessageFilterError

    if args.intercept is None:
        if args.intercept_filter or args.intercept_regex:
            raise UsageError("--intercept-filter and --intercept-regex need --intercept")
        return None
    try:
        return Interceptor(InterceptMode(args.intercept), args.intercept_filter,
                           args.intercept_regex)  # fmt: skip
    except MessageFilterError as exc:
        raise UsageError(f"--intercept-filter: {exc}") from None


class RelayRun(ListenRun):
    """One ``inspector relay``: the listen command's printing and capture, a relay inside."""

    def __init__(self, config: Any, args: argparse.Namespace, stdout: TextIO, stderr: TextIO):
        args.framing = None
        args.max_size = 0
        args.subprotocols = []
        args.compression = True
        args.compression_level = None
        args.auto_pong = True
        super().__init__(config.listen, args, [], stdout, stderr)
        self.options = config.options
        self.config = config
        self.command = "relay"
        self.console: Any = None

    async def run(self) -> int:
        """The listen command's run, with the intercept console while it lasts."""
        interceptor = self.config.intercept
        if interceptor is not None:
            from inspector.cli.intercept import InterceptConsole

            self.console = InterceptConsole(
                interceptor,
                self._write_always,
                self.stderr,
                as_json=self.args.json,
                before_print=self._drain,
            )
            self.console.start(self.stdin)
        try:
            return await super().run()
        finally:
            if self.console is not None:
                self.console.stop()

    #: Where intercept commands are read (tests give a stream; None: sys.stdin).
    stdin: Any = None
    #: The relay's loop forwards while the capture's commits write (a TCP stream's
    #: bytes are written once more into the file: the loop's largest cost otherwise).
    commit_thread = True

    def _write_always(self, text: str) -> None:
        """Intercept lines are printed even with --quiet: they ask for an answer."""
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass

    def _server_options(self, args: argparse.Namespace, endpoint: Any) -> None:
        """A relay passes the client's upgrade upstream: it answers none itself."""
        return None

    def _make_listener(self) -> Any:
        from inspector.net.relay import create_relay

        relay = create_relay(self.config, self.recorder, self._recorder_for)
        relay.on_pair_end = self._connection_ended
        return relay

    def _role_options(self, role: str, **more: Any) -> dict[str, Any]:
        base = dataclasses.asdict(self.options)
        return {**base, "role": role, "upstream": self.config.upstream.url, **more}

    def _first_text(self) -> list[str]:
        lines = [f"relaying {self.listener.url} → {self.config.upstream.url}"]
        tls = self.config.tls
        if tls is not None and not self.args.quiet:
            made = "made for localhost, " if tls.self_signed else ""
            lines.append(f"certificate SHA-256 {tls.fingerprint} ({made}{tls.cert_path})")
        return lines


def run_relay(argv: Sequence[str], stdout: TextIO | None, stderr: TextIO) -> int:
    """Parse and run ``inspector relay``; return the exit status."""
    from inspector.net.relay import RelayConfig, RelayError, check_pairing

    out = stdout if stdout is not None else sys.stdout
    args = build_relay_parser().parse_args(list(argv))
    try:
        listen = parse_endpoint(args.listen, listen=True)
        upstream = parse_endpoint(args.upstream)
    except EndpointError as exc:
        stderr.write(f"inspector relay: {exc}\n")
        return EXIT_USAGE
    try:
        check_pairing(listen, upstream)
        faults = faults_from_args(args, listen.is_datagram, listen.is_websocket)
        tls = None
        if listen.secure:
            from inspector.net.certs import server_tls

            alpn = ["http/1.1"] if listen.is_websocket else None
            tls = server_tls(args.cert, args.key, alpn=alpn)
        elif args.cert or args.key:
            raise UsageError("--cert and --key are for listening on tls:// or wss://")
        if args.origin is not None and not listen.is_websocket:
            raise UsageError("--origin is for ws:// and wss:// relays")
        rules = None
        if args.rules is not None:
            rules = relay_rules(args.rules, args.rules_on)
        intercept = interceptor_from_args(args)
        options = SessionOptions(
            verify=not args.insecure,
            cafile=args.cafile,
            connect_timeout=args.connect_timeout,
        )
        config = RelayConfig(
            listen,
            upstream,
            options,
            tls=tls,
            origin=args.origin,
            c2s=faults["c2s"],
            s2c=faults["s2c"],
            max_connections=args.max_connections,
            udp_idle=args.udp_idle,
            rules=rules,
            intercept=intercept,
        )
        return asyncio.run(RelayRun(config, args, out, stderr).run())
    except (UsageError, RelayError) as exc:
        stderr.write(f"inspector relay: {exc}\n")
        return EXIT_USAGE
    except InspectorError as exc:
        stderr.write(f"inspector relay: {exc}\n")
        return EXIT_FAILED


__all__ = ["EXIT_OK", "build_relay_parser", "run_relay"]
