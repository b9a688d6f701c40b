"""Command-line grammar: the top-level parser, the options of ``probe``, ``show`` and
``export``, and their value types.

Standard library only, so ``inspector --help`` and usage errors never load Qt or the
engine. Every usage error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from inspector import __version__
from inspector.core.logs import DEFAULT_LOG_LEVEL, LOG_LEVELS
from inspector.core.options import DEFAULT_MAX_SIZE, Framing
from inspector.core.records import Direction, Kind
from inspector.protocols.deflate import parse_deflate_offer
from inspector.protocols.speakers import speaker_names
from inspector.protocols.speakers.compose import TEMPLATES

PROG = "inspector"
USAGE_EXIT = 2

#: Subcommands run headless by inspector.cli; anything else opens the desktop app.
COMMANDS = ("probe", "listen", "relay", "show", "export", "compare", "run", "workspace")

_HEX_DIGITS = frozenset(string.hexdigits)

MAIN_EXAMPLES = """\
commands:
  probe URL [options]   open one session without a window, send, print every record
  listen URL [options]  be the server: accept tcp/tls/udp/ws clients, answer by rules
  relay LISTEN UPSTREAM sit between a client and a server, record both directions
  show FILE [options]   print the records of a capture, HAR or JSON Lines file
  export FILE -o OUT    write a capture as pcapng (Wireshark), HAR or JSON Lines
  compare [options]     one workload over tcp, tls, udp, ws and http, measured side by side
  run SCRIPT [options]  run a workspace script (send, expect, assert); exit 1 on a failure
  workspace import FILE DIR  turn a Postman or Insomnia export into a workspace folder

examples:
  inspector                                   open the desktop app
  inspector ws://127.0.0.1:8765/chat          open the app and connect to a URL
  inspector --capture-dir ~/captures          keep the app's captures in a folder
  inspector probe ws://127.0.0.1:8765/ --send 'hello' --json
  inspector probe tcp://127.0.0.1:7 --framing lines --send 'PING\\r\\n'
  inspector probe ws://127.0.0.1:8765/ --send hi -o chat.sockcap
  inspector show chat.sockcap --filter-dir in --grep error
  inspector show devtools-export.har --session 2 --json
  inspector export chat.sockcap --format pcapng -o chat.pcapng
  inspector probe --help                      every option of a command (show, export too)

URLs: ws://host[:port]/path, wss://…, tcp://host:port, tls://host:port, udp://host:port
(IPv6 literals in brackets: ws://[::1]:8765/).
"""

PROBE_EXAMPLES = """\
sending: --send, --send-hex and --send-file may be repeated and mixed; they are sent
in command-line order. In --send text, \\r \\n \\t \\\\ and \\xNN (one byte) are understood.
On WebSocket --send sends a text message, --send-hex/--send-file a binary one; on
tcp/tls each is one message framed as --framing says (raw: the bytes as given; lines:
a missing \\n is added; len16/len32: the length prefix is added; mqtt: MQTT packets, sent
as given and received one packet per record); on udp each is one datagram.
--send-as TEMPLATE JSON builds a protocol message (socketio:event, mqtt:publish, …) from
its fields; --speak acts as the protocol's client: its opening, answers and keep-alives
(docs/decoders.md).

output: one line per record (time since start, → out / ← in / · session, kind, size,
preview); --json prints one JSON object per record instead; --quiet prints nothing.

exit status: 0 the session ran and closed normally; 1 it could not connect, was
refused, the peer broke the protocol, the connection ended abnormally or the peer
closed before everything was sent; 2 wrong usage; 130 interrupted (Ctrl+C closes the
session first).

examples:
  inspector probe ws://127.0.0.1:8765/ --send hello --wait 2
  inspector probe wss://example.test/ws --cafile ca.pem --header 'Authorization: Bearer x' \\
      --subprotocol chat.v1 --send '{"op": "sub"}' --count 3 --json
  inspector probe ws://127.0.0.1:8765/ --no-compress --send-hex '81 05 68 65 6c 6c 6f'
  inspector probe ws://127.0.0.1:9001/ --echo -o session.sockcap
  inspector probe tcp://127.0.0.1:7 --framing lines --send 'PING\\r\\n' --count 1
  inspector probe udp://127.0.0.1:5353 --send-hex '00 01 00 00' --wait 0.5
  inspector probe tls://127.0.0.1:8443 --insecure --send-file request.bin -o tls.sockcap
"""


class UsageExit(Exception):
    """Wrong usage: carries the one line to print and exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``inspector probe: <what> (see --help)``."""

    def error(self, message: str) -> NoReturn:
        raise UsageExit(f"{self.prog}: {message} (see {self.prog} --help)")


@dataclass(frozen=True, slots=True)
class Send:
    """One thing to send, in command-line order: ``kind`` is text, hex or file."""

    kind: str
    value: bytes | str


class AppendSend(argparse.Action):
    """Append (kind, value) to one shared list so mixed --send* options keep their order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        sends = list(getattr(namespace, self.dest, None) or [])
        sends.append(Send(self.const, values))  # type: ignore[arg-type]
        setattr(namespace, self.dest, sends)


def parse_speak_option(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` of --speak-option."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def unescape(text: str) -> bytes:
    """Turn --send text into bytes: UTF-8, with ``\\r \\n \\t \\\\ \\xNN`` understood.

    ``\\xNN`` is one raw byte, so any byte can be sent; an unknown escape is an error
    naming its position (1-based) rather than a silent guess.
    """
    out = bytearray()
    i = 0
    simple = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}
    while i < len(text):
        j = text.find("\\", i)
        if j < 0:
            out += text[i:].encode("utf-8", "surrogateescape")
            break
        out += text[i:j].encode("utf-8", "surrogateescape")
        code = text[j + 1 : j + 2]
        if code in simple:
            out += simple[code]
            i = j + 2
        elif code == "x":
            digits = text[j + 2 : j + 4]
            if len(digits) != 2 or not set(digits) <= _HEX_DIGITS:
                raise argparse.ArgumentTypeError(
                    f"\\x at position {j + 1} needs two hex digits, e.g. \\x0a"
                )
            out.append(int(digits, 16))
            i = j + 4
        elif not code:
            raise argparse.ArgumentTypeError(f"lone backslash at position {j + 1}; write \\\\")
        else:
            raise argparse.ArgumentTypeError(
                f"unknown escape \\{code} at position {j + 1}; use \\r \\n \\t \\\\ or \\xNN"
            )
    return bytes(out)


def parse_hex(text: str) -> bytes:
    """Hex digits with optional white space (and ``:`` between bytes) into bytes."""
    digits: list[str] = []
    for pos, ch in enumerate(text, 1):
        if ch in _HEX_DIGITS:
            digits.append(ch)
        elif not (ch.isspace() or ch == ":"):
            raise argparse.ArgumentTypeError(f"{ch!r} at position {pos} is not a hex digit")
    if len(digits) % 2:
        raise argparse.ArgumentTypeError(
            f"odd number of hex digits ({len(digits)}): each byte needs two"
        )
    return bytes.fromhex("".join(digits))


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` into a (name, value) pair, checked against RFC 9110 §5.1 tokens."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'Name: value'")
    allowed = set(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
    if not set(name) <= allowed:
        raise argparse.ArgumentTypeError(f"{name!r} is not a valid header name")
    value = value.strip()
    if any(ch in value for ch in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"the value of header {name!r} contains CR, LF or NUL")
    return name, value


def _deflate_offer(text: str) -> str:
    try:
        parse_deflate_offer(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _number(kind: type, minimum: float, what: str, *, strict: bool = False) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (strict and value == minimum) or value != value:
            bound = "greater than" if strict else "at least"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound} {minimum}")
        if kind is int and value > sys.maxsize:  # sizes beyond this fail deep in the engine
            raise argparse.ArgumentTypeError(f"{text!r} must be at most {sys.maxsize}")
        return value

    return convert


def _keepalive_text(text: str) -> str:
    """--keepalive-text with its escapes turned into the text it stands for."""
    return unescape(text).decode("utf-8", "surrogateescape")


def _bind(text: str) -> str:
    """Check a --bind value (the engine parses it again with the same rules)."""
    from ipaddress import ip_address

    raw = text.strip()
    host, port = raw, ""
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"{text!r}: write [IPv6]:PORT")
        port = rest[1:]
    elif raw.count(":") == 1:
        host, _, port = raw.partition(":")
    if port and (not port.isdigit() or int(port) > 65535):
        raise argparse.ArgumentTypeError(f"{text!r}: {port!r} is not a port")
    try:
        ip_address(host.split("%", 1)[0])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {host!r} is not an IP address") from None
    return raw


def build_main_parser() -> OneLineParser:
    """The top-level parser: desktop app options; lists the headless commands."""
    parser = OneLineParser(
        prog=PROG,
        description="Socket Inspector: open TCP, TLS, UDP and WebSocket sessions and see "
        "every byte. Without a command it opens the desktop app.",
        epilog="\n".join(
            [
                MAIN_EXAMPLES,
                build_probe_parser().format_usage().rstrip(),
                build_show_parser().format_usage().rstrip(),
                build_export_parser().format_usage().rstrip(),
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url", nargs="?", help="endpoint to connect to when the app opens (optional)"
    )
    parser.add_argument(
        "--capture-dir", metavar="DIR", help="folder where the app keeps its capture files"
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default=DEFAULT_LOG_LEVEL, type=str.lower,
        help="log to stderr and a rotating file in the user's data folder "
        "($INSPECTOR_LOG_DIR to move it) at this level (default warning; also accepted "
        "before or after probe, show and export)",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"socket-inspector {__version__}")
    return parser


def build_probe_parser() -> OneLineParser:
    """The parser of ``inspector probe URL [options]``."""
    p = OneLineParser(
        prog=f"{PROG} probe",
        description="Open one session to URL without a window, send what you ask in "
        "order, print every record (handshake, frames, data, errors) and close.",
        epilog=PROBE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", metavar="URL", help="ws://, wss://, tcp://, tls:// or udp:// endpoint")
    send = p.add_argument_group("sending (repeatable, sent in command-line order)")
    send.add_argument(
        "--send", dest="sends", action=AppendSend, const="text", type=unescape,
        metavar="TEXT",
        help="send TEXT (WebSocket: a text message); escapes \\r \\n \\t \\\\ \\xNN",
    )  # fmt: skip
    send.add_argument(
        "--send-hex", dest="sends", action=AppendSend, const="hex", type=parse_hex,
        metavar="HEX", help="send bytes given in hex, spaces allowed (WebSocket: binary message)",
    )  # fmt: skip
    send.add_argument(
        "--send-file", dest="sends", action=AppendSend, const="file", metavar="PATH",
        help="send the contents of a file (WebSocket: binary message)",
    )  # fmt: skip
    send.add_argument(
        "--send-as", dest="sends", action=AppendSend, const="as", nargs=2,
        metavar=("TEMPLATE", "JSON"),
        help="send a protocol message built from a template and its fields, e.g. "
        "socketio:event '{\"name\": \"chat\", \"args\": [\"hi\"], \"ack\": true}' "
        "(templates: " + ", ".join(TEMPLATES) + "; docs/decoders.md)",
    )  # fmt: skip
    speak = p.add_argument_group("application protocol client (docs/decoders.md)")
    speak.add_argument(
        "--speak", nargs="?", const="auto", metavar="NAME",
        help="act as the protocol's client: its opening, answers and keep-alives, "
        "recorded as automatic; NAME is " + ", ".join(speaker_names()) + " (the default: "
        "chosen as the decoder is, by subprotocol, URL, port or --framing)",
    )  # fmt: skip
    speak.add_argument(
        "--speak-option", dest="speak_options", action="append", type=parse_speak_option,
        default=[], metavar="KEY=VALUE",
        help="a setting of the protocol client (repeatable), e.g. keepalive=30, "
        "client_id=me, namespace=/chat, heart_beat=5000,5000, ping=10",
    )  # fmt: skip
    ws = p.add_argument_group("WebSocket")
    ws.add_argument(
        "--header", dest="headers", action="append", type=parse_header, default=[],
        metavar="'NAME: VALUE'", help="extra handshake request header (repeatable)",
    )  # fmt: skip
    ws.add_argument(
        "--subprotocol", dest="subprotocols", action="append", default=[], metavar="NAME",
        help="offer a subprotocol in Sec-WebSocket-Protocol (repeatable)",
    )  # fmt: skip
    ws.add_argument("--origin", metavar="ORIGIN", help="send an Origin header")
    ws.add_argument(
        "--no-compress", dest="compression", action="store_false",
        help="do not offer permessage-deflate",
    )  # fmt: skip
    ws.add_argument(
        "--deflate-offer", type=_deflate_offer, metavar="PARAMS",
        help="permessage-deflate parameters to offer, as in the header, e.g. "
        "'client_no_context_takeover; server_max_window_bits=10' ('' for none)",
    )  # fmt: skip
    ws.add_argument(
        "--compression-level", type=_number(int, 0, "a zlib level from 0 to 9"), default=None,
        choices=range(10), metavar="0-9",
        help="zlib level for the messages sent compressed (default 6; 1 is fastest)",
    )  # fmt: skip
    ws.add_argument(
        "--max-size", type=_number(int, 1, "a number of bytes"), default=DEFAULT_MAX_SIZE,
        metavar="BYTES", help=f"largest inbound message accepted (default {DEFAULT_MAX_SIZE})",
    )  # fmt: skip
    ws.add_argument(
        "--no-auto-pong", dest="auto_pong", action="store_false",
        help="do not answer pings automatically",
    )  # fmt: skip
    conn = p.add_argument_group("connection")
    conn.add_argument(
        "--insecure", action="store_true", help="TLS: do not verify the server certificate"
    )
    conn.add_argument("--cafile", metavar="PATH", help="TLS: trust the CA certificates in PATH")
    conn.add_argument(
        "--timeout", type=_number(float, 0, "a number of seconds", strict=True), default=10.0,
        metavar="SECONDS", help="limit for connect + TLS + handshake (default 10)",
    )  # fmt: skip
    conn.add_argument(
        "--framing", type=Framing, choices=list(Framing), default=Framing.RAW,
        metavar="{raw,lines,len16,len32,mqtt}",
        help="tcp/tls: cut the stream into messages (default raw: one record per read)",
    )  # fmt: skip
    reach = p.add_argument_group("proxies, client certificates, addresses")
    reach.add_argument(
        "--proxy", metavar="URL",
        help="connect through a proxy: http://[user:pass@]host:port (HTTP CONNECT), "
        "socks5://…, socks5h://… (the proxy resolves the name), or 'env' to follow "
        "HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY as curl does",
    )  # fmt: skip
    reach.add_argument(
        "--cert", dest="client_cert", metavar="FILE",
        help="TLS: present this client certificate (PEM, with or without its key, or PKCS#12)",
    )  # fmt: skip
    reach.add_argument(
        "--key", dest="client_key", metavar="FILE", help="TLS: the client certificate's PEM key"
    )
    reach.add_argument(
        "--key-password", dest="client_key_password", metavar="TEXT",
        help="TLS: password of an encrypted key or PKCS#12 file",
    )  # fmt: skip
    family = reach.add_mutually_exclusive_group()
    family.add_argument(
        "--ipv4", "-4", dest="family", action="store_const", const="ipv4",
        help="use IPv4 addresses only",
    )  # fmt: skip
    family.add_argument(
        "--ipv6", "-6", dest="family", action="store_const", const="ipv6",
        help="use IPv6 addresses only",
    )  # fmt: skip
    reach.add_argument(
        "--bind", type=_bind, metavar="ADDR[:PORT]",
        help="source address (and port) of the connection ([v6]:PORT for IPv6 with a port)",
    )  # fmt: skip
    beat = p.add_argument_group("heartbeats and reconnecting")
    beat.add_argument(
        "--ping-interval", type=_number(float, 0, "a number of seconds", strict=True),
        metavar="SECONDS",
        help="WebSocket: send a ping (payload: a counter) every SECONDS; each pong "
        "record has the round-trip time",
    )  # fmt: skip
    beat.add_argument(
        "--ping-timeout", type=_number(float, 0, "a number of seconds", strict=True),
        metavar="SECONDS",
        help="WebSocket: close with 1011 when a pong has not come within SECONDS",
    )  # fmt: skip
    beat.add_argument(
        "--keepalive", type=_number(float, 0, "a number of seconds", strict=True),
        metavar="SECONDS", help="tcp/tls/udp: send --keepalive-text every SECONDS",
    )  # fmt: skip
    beat.add_argument(
        "--keepalive-text", default="\n", type=_keepalive_text, metavar="TEXT",
        help="what --keepalive sends (escapes as --send; default a newline)",
    )  # fmt: skip
    beat.add_argument(
        "--reconnect", action="store_true",
        help="open the session again after it ends abnormally (back-off 1, 2, 4 … 30 s); "
        "every attempt is a session of the capture",
    )  # fmt: skip
    beat.add_argument(
        "--reconnect-max", type=_number(int, 1, "a whole number"), metavar="N",
        help="with --reconnect: at most N attempts after the first (default: no limit)",
    )  # fmt: skip
    beat.add_argument(
        "--reconnect-delay", type=_number(float, 0, "a number of seconds", strict=True),
        default=1.0, metavar="SECONDS",
        help="with --reconnect: the first wait (default 1; doubling, at most 30 s)",
    )  # fmt: skip
    run = p.add_argument_group("when to stop")
    run.add_argument(
        "--wait", type=_number(float, 0, "a number of seconds"), metavar="SECONDS",
        help="after the last send keep receiving this long, then close (default 1; "
        "with --count or --echo: no limit unless given)",
    )  # fmt: skip
    run.add_argument(
        "--count", type=_number(int, 1, "a whole number"), metavar="N",
        help="close after N inbound messages",
    )  # fmt: skip
    run.add_argument(
        "--echo", action="store_true",
        help="send every inbound text/binary message back unchanged until the peer closes",
    )  # fmt: skip
    out = p.add_argument_group("output")
    out.add_argument(
        "-o", "--output", metavar="FILE", help="write the session to a capture file (.sockcap)"
    )
    out.add_argument(
        "--capture-limit-records", type=_number(int, 1, "a whole number"), metavar="N",
        help="keep at most N traffic records (the rest is counted, not kept)",
    )  # fmt: skip
    out.add_argument(
        "--capture-limit-mb", type=_number(int, 1, "a whole number"), metavar="N",
        help="keep at most N MiB of traffic (the rest is counted, not kept)",
    )  # fmt: skip
    out.add_argument("--json", action="store_true", help="one JSON object per record per line")
    out.add_argument(
        "--decode", metavar="NAME",
        help="add each payload's decoding as NAME or auto to the printed records "
        "(as show --decode; docs/decoders.md)",
    )  # fmt: skip
    out.add_argument(
        "--proto-descriptor", nargs=2, metavar=("FILE", "MESSAGE"),
        help="Protobuf names for --decode protobuf (as show --proto-descriptor)",
    )  # fmt: skip
    out.add_argument(
        "--quiet", action="store_true", help="print no records (errors still go to stderr)"
    )
    p.set_defaults(sends=[])
    return p


SHOW_EXAMPLES = """\
FILE may be a capture written by the app or by `probe -o` (.sockcap), a HAR file
exported by Chrome, Firefox or mitmproxy (its WebSocket sessions, read-only) or a JSON
Lines export; the type is told by the content. Records print exactly as `inspector
probe` prints them. A file with several sessions prints a header line before each
(with --json a {"session": N, ...} object) unless --session picks one.

exit status: 0 printed; 1 the file cannot be read (one line says why); 2 wrong usage.

examples:
  inspector show chat.sockcap
  inspector show chat.sockcap --json | jq -r 'select(.kind == "frame") | .text'
  inspector show chat.sockcap --filter-dir in --kind frame --grep '"error"'
  inspector show chat.sockcap --regex 'user_[0-9]+' --ignore-case
  inspector show devtools-export.har --session 2
  inspector show session.jsonl | head
  inspector show chat.sockcap --decode auto --where 'event == "chat"'
  inspector show chat.sockcap --stats --json
"""

EXPORT_EXAMPLES = """\
formats: pcapng opens in Wireshark/tshark (TCP streams rebuilt around the recorded
bytes, WebSocket frames dissected); har holds a WebSocket session for browser tools;
jsonl is one JSON object per record, as `show --json` prints them. Without --format
the extension of OUT decides (.pcapng, .har, .jsonl).

Credentials (Authorization, Cookie, Set-Cookie, token-like headers and URL query
parameters) are replaced by [redacted] unless --include-secrets is given. OUT is
written aside and renamed when complete: a failed export leaves no partial file.

exit status: 0 written; 1 the input cannot be read or OUT cannot be written; 2 wrong
usage.

examples:
  inspector export chat.sockcap --format pcapng -o chat.pcapng && wireshark chat.pcapng
  inspector export chat.sockcap -o chat.har
  inspector export devtools-export.har --session 2 --format jsonl -o ws.jsonl
  inspector export chat.sockcap --format pcapng --include-secrets -o full.pcapng
"""

#: Output formats of ``export`` and the extensions that imply them.
EXPORT_FORMATS = ("pcapng", "har", "jsonl")
_EXTENSIONS = {".pcapng": "pcapng", ".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def format_for(path: str) -> str | None:
    """The export format an output file name implies, or None."""
    lowered = path.lower()
    for extension, name in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return name
    return None


def build_show_parser() -> OneLineParser:
    """The parser of ``inspector show FILE [options]``."""
    p = OneLineParser(
        prog=f"{PROG} show",
        description="Print the records of a capture, HAR or JSON Lines file, as probe does.",
        epilog=SHOW_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="capture (.sockcap), HAR or JSON Lines file")
    p.add_argument("--json", action="store_true", help="one JSON object per record per line")
    p.add_argument(
        "--session", type=_number(int, 1, "a session number"), metavar="N",
        help="only session N (numbers as in the header lines)",
    )  # fmt: skip
    keep = p.add_argument_group("filters (a record must pass all given)")
    keep.add_argument(
        "--filter-dir", dest="directions", action="append", metavar="{in,out,meta}",
        choices=[str(d) for d in Direction],
        help="only records of this direction (repeatable)",
    )  # fmt: skip
    keep.add_argument(
        "--kind", dest="kinds", action="append", choices=[str(k) for k in Kind],
        metavar="KIND",
        help="only records of this kind (repeatable): " + ", ".join(str(k) for k in Kind),
    )  # fmt: skip
    search = keep.add_mutually_exclusive_group()
    search.add_argument("--grep", metavar="TEXT", help="only records whose payload contains TEXT")
    search.add_argument(
        "--regex", metavar="RE", help="only records whose payload matches RE (Python syntax)"
    )
    keep.add_argument(
        "-i", "--ignore-case", action="store_true", help="--grep and --regex ignore case"
    )
    keep.add_argument(
        "--where", action="append", metavar="COND",
        help='only records whose decoded fields pass COND, e.g. \'event == "chat"\' or '
        "'topic ~ sensors/' (repeatable; implies --decode auto)",
    )  # fmt: skip
    dec = p.add_argument_group("decoding and matching (docs/decoders.md)")
    dec.add_argument(
        "--decode", metavar="NAME",
        help="decode payloads as NAME (json, msgpack, cbor, protobuf, base64, gzip, deflate, "
        "zstd, socketio, graphql, jsonrpc, stomp, mqtt, signalr, or a plugin's) or auto",
    )  # fmt: skip
    dec.add_argument(
        "--proto-descriptor", nargs=2, metavar=("FILE", "MESSAGE"),
        help="Protobuf: field names from a protoc --descriptor_set_out FILE, payloads "
        "read as MESSAGE (implies --decode protobuf)",
    )  # fmt: skip
    dec.add_argument(
        "--stats", action="store_true",
        help="print request/response latency statistics instead of the records",
    )  # fmt: skip
    pair = dec.add_mutually_exclusive_group()
    pair.add_argument(
        "--match-id", metavar="RULE",
        help="pair by the id RULE finds on both sides: a JSON path ($.id) or a regex",
    )  # fmt: skip
    pair.add_argument(
        "--match-next", action="store_true",
        help="pair each outbound message with the next inbound one",
    )  # fmt: skip
    dec.add_argument("--match-request-id", metavar="RULE", help="the id rule of outbound messages")
    dec.add_argument("--match-response-id", metavar="RULE", help="the id rule of inbound messages")
    return p


def build_export_parser() -> OneLineParser:
    """The parser of ``inspector export FILE --format F -o OUT [options]``."""
    p = OneLineParser(
        prog=f"{PROG} export",
        description="Write one session of a capture, HAR or JSON Lines file as pcapng, "
        "HAR or JSON Lines.",
        epilog=EXPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="capture (.sockcap), HAR or JSON Lines file")
    p.add_argument(
        "--format", choices=EXPORT_FORMATS, metavar="{pcapng,har,jsonl}",
        help="output format (default: from the extension of OUT)",
    )  # fmt: skip
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write")
    p.add_argument(
        "--session", type=_number(int, 1, "a session number"), metavar="N",
        help="the session to export when FILE holds several",
    )  # fmt: skip
    p.add_argument(
        "--include-secrets", action="store_true",
        help="keep Authorization, Cookie and other credentials (default: redacted)",
    )  # fmt: skip
    return p


def fail_usage(message: str) -> int:
    """Print one usage line to stderr; return exit status 2."""
    sys.stderr.write(message.rstrip() + "\n")
    return USAGE_EXIT
