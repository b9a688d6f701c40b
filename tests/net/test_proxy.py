"""Sessions through real proxies on 127.0.0.1: tinyproxy (HTTP CONNECT) and microsocks
(SOCKS5), with and without credentials, and every way a proxy can say no."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import proxies
import pytest
from servers import RunningServer
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions, stored_options
from inspector.core.records import Direction, Kind, Record
from inspector.net.proxy import ProxyError, ProxyScheme, bypassed, parse_proxy, proxy_for
from inspector.net.session import SessionState

pytestmark = pytest.mark.skipif(
    not (proxies.available("tinyproxy") and proxies.available("microsocks")),
    reason="tinyproxy and microsocks are not installed (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def http_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[proxies.RunningProxy]:
    with proxies.tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as running:
        yield running


@pytest.fixture(scope="module")
def http_proxy_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[proxies.RunningProxy]:
    with proxies.tinyproxy(tmp_path_factory.mktemp("tinyproxy-auth"), auth=True) as running:
        yield running


@pytest.fixture(scope="module")
def socks_proxy() -> Iterator[proxies.RunningProxy]:
    with proxies.microsocks() as running:
        yield running


@pytest.fixture(scope="module")
def socks_proxy_auth() -> Iterator[proxies.RunningProxy]:
    with proxies.microsocks(auth=True) as running:
        yield running


def exchange(url: str, payload: bytes = b"through the proxy", **options: object) -> tuple:
    """Open, send one message, wait for its echo, close."""
    session, sink = make_session(url, **options)

    async def scenario() -> bool:
        opened = await session.open()
        if opened:
            if session.endpoint.is_websocket:
                session.send_text(payload.decode())
            else:
                session.send(payload)
            await wait_until(lambda: session.messages_in >= 1)
            await session.close()
        return opened

    return run(scenario()), session, sink


def proxy_records(sink: object) -> list[Record]:
    return [r for r in sink.records if r.kind is Kind.INFO and "proxy" in r.fields]  # type: ignore[attr-defined]


def no_secret(sink: object, secret: str = proxies.PASSWORD) -> None:
    """The proxy password is in no record's fields or bytes."""
    for record in sink.records:  # type: ignore[attr-defined]
        assert secret.encode() not in record.wire
        assert secret not in repr(record.fields)


def test_websocket_through_http_connect(
    http_proxy: proxies.RunningProxy, ws_server: RunningServer
) -> None:
    opened, session, sink = exchange(ws_server.url, proxy=http_proxy.url())
    assert opened and session.ok, session.failure
    no_errors(sink)
    kinds = [r.kind for r in sink.records]
    assert kinds[:4] == [Kind.RESOLVE, Kind.CONNECT, Kind.INFO, Kind.INFO]
    resolve, connect = sink.records[0], sink.records[1]
    assert resolve.fields["role"] == "proxy" and resolve.fields["host"] == "127.0.0.1"
    assert connect.fields["peer"] == f"127.0.0.1:{http_proxy.port}"
    request, answer = proxy_records(sink)
    assert request.wire.startswith(f"CONNECT 127.0.0.1:{ws_server.port} HTTP/1.1\r\n".encode())
    assert request.fields["proxy_step"] == "request"
    assert answer.fields["status"] == 200 and answer.fields["duration_ns"] > 0
    assert answer.wire.startswith(b"HTTP/1.") and answer.wire.endswith(b"\r\n\r\n")
    assert "proxy_ns" in session.summary()["phases"]
    echoed = [r.payload for r in sink.of(Kind.FRAME) if r.direction is Direction.IN]
    assert b"through the proxy" in echoed


def test_wss_through_http_connect_with_credentials(
    http_proxy_auth: proxies.RunningProxy, wss_server: RunningServer, tls_ca_file: str
) -> None:
    opened, session, sink = exchange(
        wss_server.url, proxy=http_proxy_auth.url(), cafile=tls_ca_file
    )
    assert opened and session.ok, session.failure
    request = proxy_records(sink)[0]
    assert b"Proxy-Authorization: Basic [redacted]\r\n" in request.wire
    assert sink.of(Kind.TLS)[0].fields["verified"] is True
    no_secret(sink)


def test_wrong_proxy_password_is_one_line_with_the_answer(
    http_proxy_auth: proxies.RunningProxy, tcp_echo_server: RunningServer
) -> None:
    opened, session, sink = exchange(
        tcp_echo_server.url, proxy=http_proxy_auth.url(password="not-the-pass-42")
    )
    assert not opened and session.state is SessionState.FAILED
    answer = proxy_records(sink)[-1]
    # RFC 9110 says 407; tinyproxy answers a CONNECT with 401.
    assert answer.fields["status"] in (401, 407) and answer.wire.startswith(b"HTTP/1.")
    assert f"{answer.fields['status']} " in session.failure
    assert "wrong proxy user name or password" in session.failure
    assert "\n" not in session.failure
    error = sink.of(Kind.ERROR)[0]
    assert error.fields["phase"] == "proxy"
    no_secret(sink, "not-the-pass-42")


def test_missing_proxy_credentials_say_what_is_wanted(
    http_proxy_auth: proxies.RunningProxy, tcp_echo_server: RunningServer
) -> None:
    plain = f"http://127.0.0.1:{http_proxy_auth.port}"
    opened, session, _sink = exchange(tcp_echo_server.url, proxy=plain)
    assert not opened
    assert "wants a user name and password" in session.failure


def test_tcp_through_socks5_with_credentials(
    socks_proxy_auth: proxies.RunningProxy, tcp_echo_server: RunningServer
) -> None:
    opened, session, sink = exchange(tcp_echo_server.url, proxy=socks_proxy_auth.url())
    assert opened and session.ok, session.failure
    (negotiation,) = proxy_records(sink)
    assert negotiation.fields["auth"] == "username/password"
    assert negotiation.fields["reply_code"] == 0 and negotiation.fields["bytes_sent"] > 0
    no_secret(sink)


def test_tls_through_socks5h_resolves_at_the_proxy(
    socks_proxy: proxies.RunningProxy, tls_echo_server: RunningServer, tls_ca_file: str
) -> None:
    url = tls_echo_server.url.replace("127.0.0.1", "localhost")
    opened, session, sink = exchange(url, proxy=socks_proxy.url("socks5h"), cafile=tls_ca_file)
    assert opened and session.ok, session.failure
    resolves = sink.of(Kind.RESOLVE)
    assert [r.fields.get("role") for r in resolves] == ["proxy"]  # localhost not looked up here
    (negotiation,) = proxy_records(sink)
    assert negotiation.fields["remote_names"] is True
    assert negotiation.fields["target"] == f"localhost:{tls_echo_server.port}"


def test_socks5_resolves_the_name_here(
    socks_proxy: proxies.RunningProxy, tcp_echo_server: RunningServer
) -> None:
    url = tcp_echo_server.url.replace("127.0.0.1", "localhost")
    opened, session, sink = exchange(url, proxy=socks_proxy.url())
    assert opened and session.ok, session.failure
    roles = [r.fields.get("role") for r in sink.of(Kind.RESOLVE)]
    assert roles == [None, "proxy"]
    assert proxy_records(sink)[0].fields["remote_names"] is False


def test_wrong_socks_password(
    socks_proxy_auth: proxies.RunningProxy, tcp_echo_server: RunningServer
) -> None:
    opened, session, sink = exchange(
        tcp_echo_server.url, proxy=socks_proxy_auth.url(password="not-the-pass-42")
    )
    assert not opened
    assert session.failure.startswith(f"the SOCKS5 proxy 127.0.0.1:{socks_proxy_auth.port} refused")
    assert "authentication" in session.failure.lower()
    no_secret(sink, "not-the-pass-42")


def test_socks_refusal_names_the_reply(socks_proxy: proxies.RunningProxy) -> None:
    closed = proxies.free_port()
    opened, session, sink = exchange(f"tcp://127.0.0.1:{closed}", proxy=socks_proxy.url())
    assert not opened and "refused" in session.failure.lower()
    negotiation = proxy_records(sink)[-1]
    assert negotiation.fields["reply_code"] not in (None, 0)


def test_proxy_down_is_one_line(tcp_echo_server: RunningServer) -> None:
    port = proxies.free_port()
    opened, session, sink = exchange(tcp_echo_server.url, proxy=f"http://127.0.0.1:{port}")
    assert not opened
    assert session.failure == f"cannot reach the proxy 127.0.0.1:{port}: nothing listens there"
    assert sink.of(Kind.ERROR)[0].fields["message"] == session.failure


def test_udp_through_a_proxy_is_refused(
    socks_proxy: proxies.RunningProxy, udp_echo_server: RunningServer
) -> None:
    opened, session, sink = exchange(udp_echo_server.url, proxy=socks_proxy.url())
    assert not opened and session.failure.startswith("udp:// cannot go through a proxy")
    assert sink.of(Kind.ERROR)[0].fields["phase"] == "proxy"


def test_environment_proxy_as_curl_reads_it(
    http_proxy: proxies.RunningProxy,
    tcp_echo_server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", http_proxy.url())
    opened, session, sink = exchange(tcp_echo_server.url, proxy="env")
    assert opened and session.ok and proxy_records(sink)
    monkeypatch.setenv("NO_PROXY", "example.test,127.0.0.0/8")
    opened, session, sink = exchange(tcp_echo_server.url, proxy="env")
    assert opened and session.ok and not proxy_records(sink)


def test_proxy_choice_from_the_environment() -> None:
    ws, wss, tcp = (parse_endpoint(u) for u in ("ws://a.test/", "wss://a.test/", "tcp://a.test:1"))
    env = {
        "HTTPS_PROXY": "http://s:1",
        "HTTP_PROXY": "http://upper:2",
        "ALL_PROXY": "socks5h://all:3",
    }
    assert proxy_for("env", wss, env).host == "s"
    # curl ignores upper-case HTTP_PROXY (a web server may set it from a request header).
    assert proxy_for("env", ws, env).host == "all"
    assert proxy_for("env", ws, {**env, "http_proxy": "http://lower:4"}).host == "lower"
    assert proxy_for("env", tcp, env).scheme is ProxyScheme.SOCKS5H
    assert proxy_for("env", tcp, {}) is None
    assert proxy_for(None, tcp, env) is None
    assert (
        bypassed("a.test", "*") and bypassed("x.a.test", ".a.test") and bypassed("a.test", "a.test")
    )
    assert not bypassed("ba.test", "a.test")
    assert bypassed("::1", "::1/128") and bypassed("10.1.2.3", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ftp://h:1", "unknown scheme"),
        ("http://:8080", "names no host"),
        ("http://h:99999", "out of range"),
        ("http://h:1/path", "no path"),
    ],
)
def test_bad_proxy_settings_are_one_line(text: str, problem: str) -> None:
    with pytest.raises(ProxyError, match=problem):
        parse_proxy(text)


def test_bad_proxy_setting_fails_the_session(tcp_echo_server: RunningServer) -> None:
    opened, session, _sink = exchange(tcp_echo_server.url, proxy="gopher://h:70")
    assert not opened and "unknown scheme 'gopher'" in session.failure


def test_captures_keep_no_proxy_password() -> None:
    options = SessionOptions(proxy="socks5://me:hunter2@h:1080", client_key_password="pw")
    from dataclasses import asdict

    stored = stored_options(asdict(options))
    assert stored["proxy"] == "socks5://me:[redacted]@h:1080"
    assert stored["client_key_password"] == "[redacted]"
    assert "hunter2" not in repr(stored)


def test_bare_host_port_is_an_http_proxy(tmp_path: Path) -> None:
    proxy = parse_proxy("127.0.0.1:3128")
    assert proxy.scheme is ProxyScheme.HTTP and proxy.port == 3128


def test_refused_certificate_through_a_proxy_is_one_line(
    http_proxy: proxies.RunningProxy, wss_server: RunningServer
) -> None:
    opened, session, sink = exchange(wss_server.url, proxy=http_proxy.url())
    assert not opened and session.failure.startswith("TLS certificate rejected")
    error = sink.of(Kind.ERROR)[0]
    assert error.fields["phase"] == "tls" and error.fields["verified"] is False
