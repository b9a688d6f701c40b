"""``inspector probe URL``: one headless session that sends, prints every record and closes.

Records are printed in batches: a periodic task drains the Recorder every 50 ms and
writes the joined lines with one ``write`` call, so a flood of frames costs one
formatting pass per record and no callback per record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from inspector.capture.store import CaptureStore
from inspector.cli.args import Send
from inspector.cli.decoding import probe_formatter
from inspector.cli.output import Printer
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError, UsageError
from inspector.core.options import SessionOptions
from inspector.core.recorder import CaptureLimit, Recorder
from inspector.net.factory import content_action, create_session, send_message
from inspector.net.reconnect import backoff_delay, reconnect_line, should_reconnect
from inspector.net.session import Session
from inspector.protocols.speakers import check_speak
from inspector.protocols.speakers.compose import (
    ComposeContext,
    Ids,
    Template,
    parse_values,
    template,
)

PRINT_INTERVAL = 0.05  # seconds between two drains of the recorder
ECHO_INTERVAL = 0.005  # --echo polls for complete messages more often, to answer quickly
FLUSH_INTERVAL = 0.2  # seconds between two commits of the capture file
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


@dataclass(frozen=True, slots=True)
class Payload:
    """One resolved --send*: the bytes and whether WebSocket should send them as text;
    for --send-as, the template and its fields, built when sent (its ids and the
    negotiated subprotocol are known then)."""

    data: bytes
    text: bool
    template: Template | None = None
    values: dict[str, Any] = field(default_factory=dict)


def options_from_args(args: argparse.Namespace) -> SessionOptions:
    """The SessionOptions that the probe options ask for."""
    return SessionOptions(
        headers=tuple(args.headers),
        subprotocols=tuple(args.subprotocols),
        origin=args.origin,
        compression=args.compression,
        compression_level=args.compression_level,
        deflate_offer=args.deflate_offer,
        max_size=args.max_size,
        auto_pong=args.auto_pong,
        framing=args.framing,
        verify=not args.insecure,
        cafile=args.cafile,
        connect_timeout=args.timeout,
        proxy=args.proxy,
        client_cert=args.client_cert,
        client_key=args.client_key,
        client_key_password=args.client_key_password,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        keepalive=args.keepalive,
        keepalive_text=args.keepalive_text,
        reconnect=args.reconnect,
        reconnect_max=args.reconnect_max,
        reconnect_delay=args.reconnect_delay,
        family=args.family,
        bind=args.bind,
        speak=args.speak,
        speak_options=tuple(args.speak_options),
    )


def check_reach_options(args: argparse.Namespace, endpoint: Endpoint) -> None:
    """Options that cannot apply to ``endpoint``'s scheme are a usage error (one line)."""
    scheme = f"{endpoint.scheme}://"
    if not endpoint.is_websocket:
        for flag, value in (
            ("--ping-interval", args.ping_interval),
            ("--ping-timeout", args.ping_timeout),
        ):
            if value is not None:
                raise UsageError(f"{flag} is for ws:// and wss:// (use --keepalive on {scheme})")
    elif args.keepalive is not None:
        raise UsageError(f"--keepalive is for tcp, tls and udp (use --ping-interval on {scheme})")
    if args.ping_timeout is not None and args.ping_interval is None:
        raise UsageError("--ping-timeout needs --ping-interval (the pings it waits for)")
    if not endpoint.secure:
        for flag, value in (("--cert", args.client_cert), ("--key", args.client_key)):
            if value is not None:
                raise UsageError(f"{flag} is for tls:// and wss:// (TLS client certificates)")
    if args.client_key is not None and args.client_cert is None:
        raise UsageError("--key needs --cert (the certificate it belongs to)")
    if args.reconnect_max is not None and not args.reconnect:
        raise UsageError("--reconnect-max needs --reconnect")
    if args.speak_options and args.speak is None:
        raise UsageError("--speak-option needs --speak (the protocol client it sets)")
    if args.speak is not None:
        if endpoint.is_datagram:
            raise UsageError("--speak is for ws, wss, tcp and tls (no protocol client over udp)")
        check_speak(args.speak, dict(args.speak_options))


def resolve_sends(sends: list[Send], endpoint: Endpoint) -> list[Payload]:
    """Read --send-file files and check --send text; raise UsageError with one line."""
    payloads: list[Payload] = []
    for send in sends:
        if send.kind == "file":
            path = str(send.value)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise UsageError(f"--send-file {path}: {exc.strerror or exc}") from None
            payloads.append(Payload(data, text=False))
        elif send.kind == "hex":
            payloads.append(Payload(bytes(send.value), text=False))  # type: ignore[arg-type]
        elif send.kind == "as":
            name, text = send.value  # type: ignore[misc]
            chosen = template(name)
            values = parse_values(name, text)
            chosen.build(values, ComposeContext(websocket=endpoint.is_websocket), Ids())  # checks
            payloads.append(Payload(b"", text=True, template=chosen, values=values))
        else:
            data = bytes(send.value)  # type: ignore[arg-type]
            if endpoint.is_websocket:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise UsageError(
                        f"--send text is not valid UTF-8 at byte {exc.start} after escapes; "
                        "a WebSocket text message must be UTF-8 (use --send-hex for binary)"
                    ) from None
            payloads.append(Payload(data, text=True))
    return payloads


def capture_limit_of(args: argparse.Namespace) -> CaptureLimit | None:
    """The --capture-limit-records / --capture-limit-mb bound, or None for no bound."""
    records = getattr(args, "capture_limit_records", None)
    mb = getattr(args, "capture_limit_mb", None)
    if records is None and mb is None:
        return None
    return CaptureLimit(records=records, bytes=None if mb is None else mb * 1024 * 1024)


class ProbeRun:
    """One probe session: open, send, wait for the stop condition, close, report."""

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        payloads: list[Payload],
        args: argparse.Namespace,
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self.endpoint = endpoint
        self.options = options
        self.payloads = payloads
        self.count: int | None = args.count
        self.echo: bool = args.echo
        self.wait: float | None = args.wait
        if self.wait is None and self.count is None and not self.echo:
            self.wait = 1.0
        self.output: str | None = args.output
        self.capture_limit = capture_limit_of(args)
        self.printer = Printer(stdout, as_json=args.json, quiet=args.quiet,
                               formatter=probe_formatter(args, endpoint))  # fmt: skip
        self.stderr = stderr
        self.clock = SessionClock()
        self.store: CaptureStore | None = None
        self.recorder: Recorder | None = None
        self.session: Session | None = None
        self.interrupted = False
        self._stop = asyncio.Event()  # first Ctrl+C: stop waiting, close gracefully
        self._abort = asyncio.Event()  # second Ctrl+C: do not wait for the close
        self._done = asyncio.Event()  # --count reached
        self._received = 0
        self.send_failure: str | None = None
        self._owner_store: CaptureStore | None = None
        self._arrived: asyncio.Event | None = None
        #: Automatic ids of --send-as messages (one sequence per protocol, per run).
        self.ids = Ids()

    # -- the session --------------------------------------------------------------

    async def run(self) -> int:
        """Run the whole probe (and its reconnections); return the exit status."""
        if self.output is not None:
            self.store = self._create_store(self.output)
        self._owner_store = self.store
        self._new_session()
        self._install_signals()
        ticker = asyncio.create_task(self._tick())
        flusher = asyncio.create_task(self._flush_periodically()) if self.store else None
        attempts = 0
        try:
            while True:
                await self._run_session()
                session = self.session
                assert session is not None
                if self.interrupted or not should_reconnect(self.options, session.ok, attempts):
                    break
                attempts += 1
                delay = backoff_delay(attempts, self.options.reconnect_delay)
                self.stderr.write(
                    f"inspector: {session.failure or 'the session ended'}; "
                    f"{reconnect_line(attempts, delay)}\n"
                )
                await self._until_stopped(asyncio.sleep(delay))
                if self._stop.is_set():
                    break
                self._next_session()
        finally:
            for task in (ticker, flusher):
                if task is not None:
                    task.cancel()
            self._remove_signals()
            assert self.recorder is not None
            self.printer.emit(self.recorder.drain())
            self._finish_store()
        return self._exit_status()

    def _new_session(self) -> None:
        """A recorder and a session into the current capture session (if any)."""
        # With --quiet nothing reads the records: keep no queue of them.
        self.recorder = Recorder(
            self.store,
            clock=self.clock,
            consumed=not self.printer.quiet,
            capture_limit=self.capture_limit,
        )
        self.session = create_session(self.endpoint, self.options, self.recorder)
        self.session.keep_messages = self.echo  # --count needs only the count
        if self.echo and self._arrived is not None:
            self.session.on_data = self._arrived.set

    def _next_session(self) -> None:
        """Finish this attempt's capture session and start the next attempt's."""
        assert self.recorder is not None
        self.printer.emit(self.recorder.drain())
        self.send_failure = None
        if self._owner_store is not None:
            self._finish_store(close_owner=False)
            self.clock = SessionClock()
            self.store = self._owner_store.add_session(
                endpoint=self.endpoint.url,
                scheme=str(self.endpoint.scheme),
                options=self.options,
                clock=self.clock,
            )
        else:
            self.clock = SessionClock()
        self._new_session()

    async def _run_session(self) -> None:
        """Open, send, wait for the stop condition, close."""
        session = self.session
        assert session is not None
        opened = await self._until_stopped(session.open())
        speaking = session.speaking
        if opened and speaking is not None:
            # What the user sends follows the protocol's opening (CONNACK, CONNECTED…).
            timeout = self.options.connect_timeout
            opened = bool(await self._until_stopped(speaking.wait_ready(timeout)))
            if not opened and not session.ended:
                await self._until_stopped(self._wait_for_end())
        if opened:
            self._send_all()
            await self._until_stopped(self._wait_for_end())
            await self._close()

    def _create_store(self, path: str) -> CaptureStore:
        return CaptureStore.create(
            path,
            endpoint=self.endpoint.url,
            scheme=str(self.endpoint.scheme),
            options=self.options,
            clock=self.clock,
            overwrite=True,  # like curl -o and shell redirection
        )

    def _send_all(self) -> None:
        session = self.session
        assert session is not None
        sent = 0
        try:
            for payload in self.payloads:
                data, text = payload.data, payload.text
                if payload.template is not None:
                    from inspector.net.speaking import compose_context  # only for --send-as

                    context = compose_context(session)
                    built = payload.template.build(payload.values, context, self.ids)
                    data, text = built.data, built.text
                action = content_action(self.endpoint, text)
                if not send_message(session, action, data):
                    self.stderr.write(
                        f"inspector: send {sent + 1} of {len(self.payloads)} is empty: "
                        f"nothing to send on a raw {self.endpoint.scheme}:// stream\n"
                    )
                sent += 1
        except InspectorError as exc:
            # The peer ended the session first (its records say how): what the user
            # asked to send did not all go, so the run does not count as a success.
            left = len(self.payloads) - sent
            self.send_failure = f"{exc} ({left} of {len(self.payloads)} sends not sent)"

    async def _wait_for_end(self) -> None:
        """Return when the peer closed, --count was reached or --wait ran out."""
        session = self.session
        assert session is not None
        closed = asyncio.ensure_future(session.wait_closed())
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait(
                {closed, done}, timeout=self.wait, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (closed, done):
                task.cancel()

    async def _until_stopped(self, awaitable: Any) -> Any:
        """Await ``awaitable`` unless Ctrl+C comes first (then return None)."""
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        return None

    async def _close(self) -> None:
        """Close gracefully; a second Ctrl+C aborts at once."""
        session = self.session
        assert session is not None
        closing = asyncio.ensure_future(session.close())
        stop = asyncio.ensure_future(self._abort.wait())
        try:
            await asyncio.wait({closing, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not closing.done():
            session.abort()
            closing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await closing

    # -- periodic work ------------------------------------------------------------------

    async def _tick(self) -> None:
        """Drain and print records; echo or count complete messages."""
        assert self.recorder is not None and self.session is not None
        interval = ECHO_INTERVAL if self.echo else PRINT_INTERVAL
        arrived = self._arrived = asyncio.Event()
        if self.echo:  # answer each read at once, not on the next tick
            self.session.on_data = arrived.set
        while True:
            if self.echo:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await arrived.wait()
                arrived.clear()
            else:
                await asyncio.sleep(interval)
            self._take_messages()
            self.printer.emit(self.recorder.drain())

    def _take_messages(self) -> None:
        session = self.session
        assert session is not None
        messages = session.take_messages()
        if session.messages_in == self._received:
            return
        self._received = session.messages_in
        if self.echo and not self._stop.is_set() and not self._done.is_set():
            try:
                for kind, data in messages:
                    send_message(session, content_action(self.endpoint, kind == "text"), data)
            except InspectorError:
                pass  # closing or closed: nothing more to echo
        if self.count is not None and self._received >= self.count:
            self._done.set()

    async def _flush_periodically(self) -> None:
        assert self.store is not None
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.store.flush()

    def _finish_store(self, close_owner: bool = True) -> None:
        """Finish the current capture session; close the file unless more will follow."""
        if self.store is None:
            return
        session = self.session
        try:
            if session is not None:
                self.store.finish(str(session.state), session.summary())
            if self.store is not self._owner_store:
                self.store.close()
            if close_owner and self._owner_store is not None:
                self._owner_store.close()
        except InspectorError as exc:
            self.stderr.write(f"inspector: {exc}\n")
            return
        if self.store.error is not None:
            self.stderr.write(f"inspector: capture not fully written: {self.store.error}\n")

    def _exit_status(self) -> int:
        session = self.session
        if self.interrupted:
            return EXIT_INTERRUPTED
        if session is None or not session.ok:
            failure = session.failure if session is not None else None
            self.stderr.write(f"inspector: {failure or 'the session did not end normally'}\n")
            return EXIT_FAILED
        if self.send_failure is not None:
            self.stderr.write(f"inspector: {self.send_failure}\n")
            return EXIT_FAILED
        return EXIT_OK

    # -- Ctrl+C ------------------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._on_interrupt)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)

    def _on_interrupt(self) -> None:
        if self.interrupted:
            self._abort.set()
        self.interrupted = True
        self._stop.set()


def run_probe(
    endpoint: Endpoint,
    args: argparse.Namespace,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``inspector probe`` for parsed arguments; return the exit status."""
    check_reach_options(args, endpoint)
    payloads = resolve_sends(args.sends, endpoint)
    options = options_from_args(args)
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    probe = ProbeRun(endpoint, options, payloads, args, out, err)
    return asyncio.run(probe.run())
