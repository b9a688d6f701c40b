"""parse_endpoint: the URLs people type, good and bad, IPv6 literals included."""

from __future__ import annotations

import pytest

from inspector.core.endpoints import Scheme, parse_endpoint
from inspector.core.errors import EndpointError


@pytest.mark.parametrize(
    ("text", "scheme", "host", "port", "target"),
    [
        ("ws://127.0.0.1:8765/", Scheme.WS, "127.0.0.1", 8765, "/"),
        ("ws://example.test", Scheme.WS, "example.test", 80, "/"),
        ("wss://example.test/chat?room=1&x=2", Scheme.WSS, "example.test", 443, "/chat?room=1&x=2"),
        (
            "WS://Example.Test:9001/runCase?case=1",
            Scheme.WS,
            "example.test",
            9001,
            "/runCase?case=1",
        ),
        ("tcp://127.0.0.1:7", Scheme.TCP, "127.0.0.1", 7, "/"),
        ("tls://example.test:443/", Scheme.TLS, "example.test", 443, "/"),
        ("udp://localhost:5353", Scheme.UDP, "localhost", 5353, "/"),
        ("  ws://h:1/  ", Scheme.WS, "h", 1, "/"),
        ("ws://[::1]:8765/x", Scheme.WS, "::1", 8765, "/x"),
        ("tcp://[2001:db8::1]:80", Scheme.TCP, "2001:db8::1", 80, "/"),
        ("udp://[fe80::1%eth0]:53", Scheme.UDP, "fe80::1%eth0", 53, "/"),
        ("wss://[::ffff:127.0.0.1]/", Scheme.WSS, "::ffff:127.0.0.1", 443, "/"),
    ],
)
def test_good_urls(text: str, scheme: Scheme, host: str, port: int, target: str) -> None:
    endpoint = parse_endpoint(text)
    assert (endpoint.scheme, endpoint.host, endpoint.port, endpoint.target) == (
        scheme, host, port, target,
    )  # fmt: skip
    assert parse_endpoint(endpoint.url) == endpoint  # the canonical URL parses back


def test_ipv6_netloc_and_url_keep_brackets() -> None:
    endpoint = parse_endpoint("ws://[::1]:8765/a")
    assert endpoint.netloc == "[::1]:8765"
    assert endpoint.url == "ws://[::1]:8765/a"
    assert parse_endpoint("wss://[::1]/").url == "wss://[::1]/"
    assert parse_endpoint("tcp://[::1]:9").url == "tcp://[::1]:9"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no endpoint"),
        ("   ", "no endpoint"),
        ("127.0.0.1:80", "no scheme"),
        ("http://example.test/", "unknown scheme"),
        ("ws://", "no host"),
        ("tcp://example.test", "needs a port"),
        ("udp://example.test", "needs a port"),
        ("tcp://example.test:", "empty port"),
        ("ws://example.test:99999/", "not a valid URL"),
        ("ws://example.test:abc/", "not a valid URL"),
        ("ws://example.test:0/", "port 0"),
        ("ws://exa mple.test/", "white space"),
        ("ws://example.test/#frag", "fragment"),
        ("tcp://example.test:80/path", "only host:port"),
        ("tcp://example.test:80?q=1", "only host:port"),
        ("ws://user:pw@example.test/", "not supported"),
        ("ws://[::1/", "not a valid URL"),
        ("ws://[example.test]/", "IPv6"),
        ("ws://[1:2:3:4:5:6:7:8:9]/", "not a valid"),
        ("ws://::1:80/", ""),
    ],
)
def test_bad_urls_raise_one_line(text: str, words: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(text)
    message = str(info.value)
    assert "\n" not in message and message
    assert words in message
