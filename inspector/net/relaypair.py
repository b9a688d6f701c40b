"""One relayed stream connection: a client leg, an upstream leg, bytes first and records after.

A :class:`StreamPair` is made for each client the relay accepts (tcp://, tls://, ws://,
wss://). It opens its own upstream connection (RESOLVE, CONNECT, TLS records with
``leg: "upstream"``), then forwards every read to the other leg *before* anything is
decoded, unchanged, and only then records it: what the client sent is ``out`` (towards
the server, as a client session would say), what the server sent is ``in``. For
WebSocket the client's upgrade request goes upstream with ``Host`` (and ``Origin`` when
asked) rewritten, the answer comes back unchanged, and a :class:`FrameTap` per direction
decodes the frames from the same bytes. Faults (:mod:`inspector.net.relayfaults`), EOF
(a half-close is passed on as one), resets (passed on as resets) and backpressure (a leg
that cannot write pauses reading on the other) are all recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Any

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.relayaway import PairGoingAway
from inspector.net.relayfaults import Decision, Fate, Faults, Shaper
from inspector.net.relaylegs import ARROWS, Leg, PairEnding, PairState, Side
from inspector.net.relaymessages import PairMessages
from inspector.net.relaytap import (
    FrameTap,
    HeadError,
    deflate_agreement,
    host_header,
    request_fields,
    response_fields,
    rewrite_request,
    take_head,
)
from inspector.net.resolve import family_name, format_address, resolve
from inspector.net.tlsinfo import (
    client_context,
    describe_certificate,
    describe_ssl_error,
    describe_tls,
)
from inspector.protocols.ending import Initiator

#: Seconds a client's TLS handshake may take.
TLS_HANDSHAKE_TIMEOUT = 10.0


class StreamPair(PairGoingAway, PairEnding, PairMessages):
    """A relayed tcp/tls/ws/wss connection and its upstream connection."""

    def __init__(self, relay: Any, number: int, transport: asyncio.Transport, recorder: Recorder):
        self.relay = relay
        self.config = relay.config
        self.number = number
        self.recorder = recorder
        self.peer = format_address(transport.get_extra_info("peername"))
        self.local = format_address(transport.get_extra_info("sockname"))
        self.state = PairState.CONNECTING
        self.failure: str | None = None
        self.end_message: str | None = None
        self.clean: bool | None = None
        self.initiated_by = Initiator.NONE
        self.on_end: Callable[[StreamPair], None] | None = None
        self._legs: dict[Side, asyncio.Transport | None] = {
            Side.CLIENT: transport,
            Side.UPSTREAM: None,
        }
        self._protocols = {
            Side.CLIENT: Leg(self, Side.CLIENT),
            Side.UPSTREAM: Leg(self, Side.UPSTREAM),
        }
        self._eof = {Side.CLIENT: False, Side.UPSTREAM: False}
        self._lost = {Side.CLIENT: False, Side.UPSTREAM: False}
        self._pauses: dict[Side, set[str]] = {Side.CLIENT: set(), Side.UPSTREAM: set()}
        self._early: list[bytes] = []
        self._early_paused: list[asyncio.Transport] = []
        self._ended = asyncio.Event()
        self._started = recorder.now()
        self.websocket = self.config.listen.is_websocket
        cfg_faults: dict[Side, Faults] = {
            Side.CLIENT: self.config.c2s,
            Side.UPSTREAM: self.config.s2c,
        }
        self._faults = cfg_faults
        self._shapers: dict[Side, Shaper | None] = {
            side: Shaper(f, self._writer(side.other), self._hold_pause(side)) if f.active else None
            for side, f in cfg_faults.items()
        }
        # WebSocket: the upgrade and then one tap per direction.
        self._heads = {Side.CLIENT: bytearray(), Side.UPSTREAM: bytearray()}
        self._head_done = {Side.CLIENT: not self.websocket, Side.UPSTREAM: not self.websocket}
        self._taps: dict[Side, FrameTap | None] = {Side.CLIENT: None, Side.UPSTREAM: None}
        self._held_frames: list[bytes] = []  # client bytes after the request, before the answer
        self.refused = False  # the upstream refused the upgrade: the rest is plain data
        self._phase = "resolve"  # of the upstream's opening, for its failure's record
        self._init_messages()
        sock = transport.get_extra_info("socket")
        recorder.record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "leg": "client",
                "local": self.local,
                "peer": self.peer,
                "family": family_name(sock.family) if sock is not None else "?",
                "duration_ns": 0,
                "accepted": True,
            },
        )
        recorder.set_flow_control(lambda: self._consumer(True), lambda: self._consumer(False))

    # -- state ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state is PairState.OPEN

    def _closing_handshake(self) -> tuple[str, bool, dict[str, Any]] | None:
        """How the relayed close handshake went, from the close frames the taps saw:
        who sent the first (the close's initiator), its code and reason, and whether the
        other side answered (a clean close, as RFC 6455 §7.1.2 has it for a session)."""
        seen = [
            (tap.close, side)
            for side, tap in self._taps.items()
            if tap is not None and tap.close is not None
        ]
        if not seen:
            return None
        (_t_ns, code, reason), side = min(seen, key=lambda item: item[0][0])
        if self.initiated_by is not Initiator.RELAY:  # the relay's own close (1001) stays its
            self.initiated_by = side.peer_name
        began = f"the {self.initiated_by}"
        status = f"{code}{' ' + reason if reason else ''}" if code is not None else "no status"
        fields = {"close_code": code, "close_reason": reason if code is not None else None}
        if len(seen) == 2:
            return f"closed cleanly ({status}), {began} began", True, fields
        message = f"closed: {began} sent close ({status}), never answered"
        return message, False, fields

    def _summary_counts(self) -> dict[str, Any]:
        r = self.recorder
        return {
            "initiated_by": str(self.initiated_by),
            "bytes_c2s": r.bytes_out,
            "bytes_s2c": r.bytes_in,
            "counts": {"out": r.count_out, "in": r.count_in},
        }

    # -- opening ----------------------------------------------------------------

    async def run(self) -> None:
        """TLS with the client (if listening on tls/wss), then the upstream, then relay."""
        client = self._legs[Side.CLIENT]
        assert client is not None
        client.set_protocol(self._protocols[Side.CLIENT])
        self._protocols[Side.CLIENT].limit_reads(client)
        self._set_reading(Side.CLIENT, "opening", False)
        if self.config.tls is not None and not await self._client_tls():
            return
        try:
            async with asyncio.timeout(self.config.options.connect_timeout):
                await self._open_upstream()
        except TimeoutError:
            self._upstream_failed(
                f"upstream {self.config.upstream.netloc} did not answer within "
                f"{self.config.options.connect_timeout:g} s",
                "connect",
            )
            return
        except ssl.SSLError as exc:
            self._upstream_failed(f"TLS with upstream failed: {describe_ssl_error(exc)}", "tls")
            return
        except OSError as exc:
            self._upstream_failed(self._os_line(exc), self._phase)
            return
        if self.ended:  # the client left while the upstream was being opened
            upstream = self._legs[Side.UPSTREAM]
            if upstream is not None:
                upstream.abort()
            return
        self.state = PairState.OPEN
        if self._interceptor is not None:
            self._interceptor.attach(self.number, self)
        for data in self._early:
            self.on_data(Side.CLIENT, data)
        self._early = []
        self._set_reading(Side.CLIENT, "opening", True)
        for transport in self._early_paused:
            if not transport.is_closing():
                transport.resume_reading()
        self._early_paused = []

    def _os_line(self, exc: OSError) -> str:
        where = self.config.upstream.netloc
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve upstream {self.config.upstream.host!r}: {exc.strerror or exc}"
        if isinstance(exc, ConnectionRefusedError):
            return f"upstream {where} refused the connection"
        return f"cannot connect to upstream {where}: {exc.strerror or exc}"

    async def _client_tls(self) -> bool:
        """The server side of TLS with the client; recorded, or the failure is."""
        loop = asyncio.get_running_loop()
        tls = self.config.tls
        start = self.recorder.now()
        client = self._legs[Side.CLIENT]
        assert client is not None
        try:
            async with asyncio.timeout(TLS_HANDSHAKE_TIMEOUT):
                transport = await loop.start_tls(
                    client, self._protocols[Side.CLIENT], tls.context, server_side=True
                )
        except TimeoutError:
            self._fail_early(
                f"TLS handshake with the client {self.peer} timed out", "tls", Initiator.CLIENT
            )
            return False
        except (ssl.SSLError, OSError, RuntimeError) as exc:
            line = describe_ssl_error(exc) if isinstance(exc, ssl.SSLError) else str(exc)
            self._fail_early(
                f"TLS handshake with the client {self.peer} failed: {line}", "tls", Initiator.CLIENT
            )
            return False
        if transport is None or self.ended:
            self._fail_early(
                f"the client {self.peer} closed during the TLS handshake", "tls", Initiator.CLIENT
            )
            return False
        self._legs[Side.CLIENT] = transport  # type: ignore[assignment]
        ssl_object = transport.get_extra_info("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        self.recorder.record(
            Direction.META,
            Kind.TLS,
            fields={
                "leg": "client",
                "version": ssl_object.version() if ssl_object is not None else None,
                "cipher": cipher[0] if cipher else None,
                "alpn": ssl_object.selected_alpn_protocol() if ssl_object is not None else None,
                "server_hostname": tls.server_name(ssl_object),
                "cert": describe_certificate(tls.cert_der),
                "duration_ns": self.recorder.now() - start,
            },
        )
        return True

    async def _open_upstream(self) -> None:
        """Resolve, connect and (tls/wss) start TLS towards the upstream; all recorded."""
        up = self.config.upstream
        loop = asyncio.get_running_loop()
        self._phase = "resolve"
        addresses, _ = await resolve(up, self.recorder, socket.SOCK_STREAM)
        self._phase = "connect"
        error: OSError | None = None
        transport: asyncio.Transport | None = None
        for family, sockaddr in addresses:
            start = self.recorder.now()
            try:
                transport, _ = await loop.create_connection(
                    lambda: self._protocols[Side.UPSTREAM], sockaddr[0], sockaddr[1], family=family
                )
            except OSError as exc:
                error = exc
                continue
            self._record_upstream_connect(transport, family, start)
            break
        if transport is None:
            raise error or OSError("no address to connect to")
        self._legs[Side.UPSTREAM] = transport
        if up.secure:
            self._phase = "tls"
            alpn = ["http/1.1"] if up.is_websocket else None
            context = client_context(self.config.options, alpn)
            start = self.recorder.now()
            tls_transport = await loop.start_tls(
                transport, self._protocols[Side.UPSTREAM], context, server_hostname=up.host
            )
            if tls_transport is None:
                raise ConnectionAbortedError("the upstream closed during the TLS handshake")
            self._legs[Side.UPSTREAM] = tls_transport  # type: ignore[assignment]
            fields = describe_tls(
                tls_transport.get_extra_info("ssl_object"), self.config.options.verify, up.host
            )
            fields["duration_ns"] = self.recorder.now() - start
            fields["leg"] = "upstream"
            self.recorder.record(Direction.META, Kind.TLS, fields=fields)
            if not self.config.options.verify:
                self.recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={"message": "upstream certificate not verified (--insecure)"},
                )
        for side, f in self._faults.items():
            if f.active:
                self.recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={
                        "message": f"faults {ARROWS[side]}: {f.describe()}",
                        "faults": ARROWS[side],
                    },
                )

    def _upstream_failed(self, line: str, phase: str) -> None:
        """The upstream could not be reached: the client gets the same outcome."""
        upstream = self._legs[Side.UPSTREAM]
        if upstream is not None:
            upstream.abort()
        client = self._legs[Side.CLIENT]
        if self.websocket and client is not None and not client.is_closing():
            body = f"{line}\n".encode()
            client.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            self.recorder.record(
                Direction.META,
                Kind.INFO,
                fields={"message": "answered the client 502 Bad Gateway", "leg": "client"},
            )
        self._fail_early(line, phase)

    def _fail_early(self, line: str, phase: str, by: Initiator = Initiator.SERVER) -> None:
        """Record an opening failure and end: the client's connection is closed.
        ``by`` is who failed it: the upstream (SERVER) or the client's TLS (CLIENT)."""
        if self.ended:
            return
        self.recorder.record(Direction.META, Kind.ERROR, fields={"message": line, "phase": phase})
        self.failure = line
        client = self._legs[Side.CLIENT]
        if client is not None:
            client.close()
        self.initiated_by = by
        self._finish(line, clean=False, state=PairState.FAILED)

    # -- relaying ---------------------------------------------------------------

    def _writer(self, side: Side) -> Callable[[bytes], None]:
        """Writes to the leg ``side`` (what a shaper releases)."""

        def write(data: bytes) -> None:
            transport = self._legs[side]
            if transport is not None and not transport.is_closing():
                transport.write(data)

        return write

    def on_data(self, side: Side, data: bytes) -> None:
        """One read of leg ``side``: forward first, then record."""
        if self.state is PairState.CONNECTING:
            self._early.append(data)
            transport = self._legs[side]
            if transport is not None and transport not in self._early_paused:
                # Before TLS with the client is done this is still the plain transport.
                with contextlib.suppress(RuntimeError, AttributeError):
                    transport.pause_reading()
                self._early_paused.append(transport)
            return
        t_ns = self.recorder.now()
        if not self._head_done[side]:
            self._head(side, data, t_ns)
            return
        if self._away is not None:
            self._away_read(side, data, t_ns)
            return
        tap = self._taps[side]
        if self._watch and self.websocket:
            if (
                self._reframers[side] is None
                and tap is not None
                and tap.at_message_boundary
                and self._wants_messages(side)
            ):
                self._terminate(side)
            if self._reframers[side] is not None:
                self._terminated_read(side, data, t_ns)
                return
            if tap is None and side is Side.CLIENT and self._early_messages:
                self._held_frames.append(data)  # read on once the upgrade is answered
                return
        elif self._watch:  # tcp/tls: rules first, then the intercept switch
            rules = self.config.rules
            if rules is not None and self._ruled(side, data, t_ns, rules):
                return
            if self._interceptor is not None and self._held_read(side, data, t_ns):
                return
        shaper = self._shapers[side]
        if tap is not None and shaper is not None and shaper.faults.per_message:
            frames = tap.frames(data)
            extra = []
            for wf in frames:
                message = wf.opcode in (1, 2) and wf.fin
                decision = shaper.push(wf.wire, message)
                extra.append(decision.fields())
                if decision.fate is Fate.CUT:
                    self._cut(side, decision)
            tap.record(frames, t_ns, extra)
            if self._watch:
                self._after_transparent_read(side)
            return
        if shaper is None:
            other = self._legs[side.other]
            if other is not None and not other.is_closing():
                other.write(data)
            decision = None
        else:
            decision = shaper.push(data, False)
        if tap is not None and decision is None:
            tap.take(data, t_ns)
        elif tap is not None:
            frames = tap.frames(data)
            if frames:
                tap.record(
                    frames,
                    t_ns,
                    None if decision is None else [decision.fields()] + [None] * (len(frames) - 1),
                )
        else:
            fields = decision.fields() if decision is not None else None
            self.recorder.record(side.direction, Kind.DATA, t_ns, data, data, fields)
        if decision is not None and decision.fate is Fate.CUT:
            self._cut(side, decision)
        if tap is not None and self._watch:
            self._after_transparent_read(side)

    def _rule_reset(self) -> None:
        """A rule resets the pair: both legs aborted with a reset."""
        self.initiated_by = Initiator.RELAY
        self._reset(Side.CLIENT)
        self._reset(Side.UPSTREAM)
        self._finish("reset by a rule", clean=False)

    def _before_end(self, message: str) -> None:
        """Drop what the interceptor holds of the pair, and what waits to be sent."""
        self._lose_pending("the connection ended")
        self._drop_held(f"the connection ended ({message})")

    def _forward(self, side: Side, data: bytes) -> None:
        """Forward ``data`` read on ``side`` to the other leg (through its shaper, if any)."""
        shaper = self._shapers[side]
        if shaper is not None:
            decision = shaper.push(data, False)
            if decision.fate is Fate.CUT:
                self._cut(side, decision)
            return
        other = self._legs[side.other]
        if other is not None and not other.is_closing():
            other.write(data)

    def _head(self, side: Side, data: bytes, t_ns: int) -> None:
        """The WebSocket upgrade: the request rewritten, the answer passed on unchanged."""
        buf = self._heads[side]
        watch = self._watch
        if side is Side.UPSTREAM and not watch:
            self._forward(side, data)  # the answer goes back unchanged, at once
        buf += data
        try:
            head = take_head(buf)
        except HeadError as exc:
            self._protocol_error(side, f"the {side.peer_name}'s HTTP head: {exc}", bytes(buf), t_ns)
            return
        if head is None:
            return
        self._head_done[side] = True
        rest = bytes(buf)
        buf.clear()
        if side is Side.CLIENT:
            up = self.config.upstream
            strip = self._faults[Side.CLIENT].per_message or self._faults[Side.UPSTREAM].per_message
            host = host_header(443 if up.secure else 80, up.host, up.port)
            wire, changed = rewrite_request(head, host, self.config.origin, strip)
            # Messages a terminated direction will read are kept until the answer.
            self._early_messages = watch and self._wants_messages(side)
            self._forward(side, wire if self._early_messages else wire + rest)
            fields = request_fields(head)
            self._request_target = str(fields["target"])
            fields["rewritten"] = changed
            self.recorder.record(Direction.OUT, Kind.HANDSHAKE, t_ns, head.wire, None, fields)
            if rest:
                self._held_frames.append(rest)
            return
        fields = response_fields(head)
        if watch:
            self._forward(side, head.wire)
        self.recorder.record(Direction.IN, Kind.HANDSHAKE, t_ns, head.wire, None, fields)
        if fields["status"] != 101:
            self.refused = True
            line = f"upstream refused the upgrade: {fields['status']} {fields['reason']}".rstrip()
            self.recorder.record(
                Direction.META, Kind.ERROR, t_ns, fields={"message": line, "phase": "handshake"}
            )
            self.failure = line
            if rest:
                if watch:
                    self._forward(side, rest)
                self.recorder.record(Direction.IN, Kind.DATA, t_ns, rest, rest)
            held, self._held_frames = self._held_frames, []
            for chunk in held:
                if self._early_messages:
                    self._forward(Side.CLIENT, chunk)
                self.recorder.record(Direction.OUT, Kind.DATA, t_ns, chunk, chunk)
            return
        agreement = deflate_agreement(fields["extensions"])
        for s in (Side.CLIENT, Side.UPSTREAM):
            deflate = agreement.decoder(s is Side.CLIENT) if agreement is not None else None
            self._taps[s] = FrameTap(self.recorder, s.direction, deflate)
        if watch:
            request = self._request_target
            self._upgraded(agreement, request, fields["subprotocol"])
            held, self._held_frames = self._held_frames, []
            if rest:
                self.on_data(side, rest)
            for chunk in held:
                if self._early_messages:
                    self.on_data(Side.CLIENT, chunk)
                else:
                    tap = self._taps[Side.CLIENT]
                    assert tap is not None
                    tap.record(tap.frames(chunk), t_ns)
            return
        if rest:
            tap = self._taps[side]
            assert tap is not None
            tap.record(tap.frames(rest), t_ns)
        held, self._held_frames = self._held_frames, []
        for chunk in held:
            tap = self._taps[Side.CLIENT]
            assert tap is not None
            tap.record(tap.frames(chunk), t_ns)

    def _protocol_error(self, side: Side, line: str, wire: bytes, t_ns: int) -> None:
        """Something the relay cannot follow: recorded with its bytes, both legs closed."""
        self.recorder.record(
            side.direction, Kind.ERROR, t_ns, wire, None, {"message": line, "phase": "handshake"}
        )
        self.failure = line
        self.initiated_by = side.peer_name
        self._close_both()

    # -- faults -----------------------------------------------------------------

    def _cut(self, side: Side, decision: Decision) -> None:
        """A cut: once what was sent before it has left, reset or close both legs."""
        shaper = self._shapers[side]
        assert shaper is not None
        mode = shaper.faults.cut_mode
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={
                "message": f"cut {ARROWS[side]} after {shaper.bytes} bytes, "
                f"{shaper.messages} messages: {mode} both sides",
                "cut": str(mode),
                "sent_bytes": decision.sent_bytes,
            },
        )
        self.initiated_by = Initiator.RELAY

        def act() -> None:
            if str(mode) == "reset":
                self._reset(Side.CLIENT)
                self._reset(Side.UPSTREAM)
                self._finish(f"cut {ARROWS[side]} (reset)", clean=False)
            else:
                self._close_both()

        if shaper.idle:
            act()
        else:
            shaper.on_empty = act

    def _hold_pause(self, side: Side) -> Callable[[bool], None]:
        """Pause/resume reading leg ``side`` while its shaper holds too much."""

        def pause(paused: bool) -> None:
            self._set_reading(side, "held", not paused)

        return pause
