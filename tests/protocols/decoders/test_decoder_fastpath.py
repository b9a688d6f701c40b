"""The pairing ids' fast path (a decoder's ``exchange``, over bytes) gives exactly the
ids of the decoded tree (``decode``), for valid messages and hostile bytes alike; and
a session decoder's ``payload_keys`` gives what ``exchanges`` gives per record."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core.records import Direction, Kind, make_record
from inspector.protocols.decoders import DecodeContext, decoders
from inspector.protocols.decoders.session import SessionDecoder
from inspector.protocols.decoders.tree import MAX_PAYLOAD

CTX = DecodeContext()
FAST = sorted(name for name, d in decoders().items() if d.exchange is not None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
ids = st.one_of(st.none(), st.integers(-5, 10**20), st.text(max_size=5), st.booleans(),
                st.lists(st.integers(), max_size=2))  # fmt: skip

socketio_heads = st.builds(
    lambda kind, att, ns, ack: b"4" + kind + att + ns + ack,
    st.sampled_from([b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"x", b""]),
    st.sampled_from([b"", b"1-", b"12-", b"-", b"0-"]),
    st.sampled_from([b"", b"/chat,", b"/a/b,", b"/no-comma", b"/\xff,", b","]),
    st.sampled_from([b"", b"0", b"7", b"007", b"123456789012345678901234567890", b"9" * 5000]),
)
socketio_data = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(json_values, max_size=3).map(lambda v: json.dumps(["ev", *v]).encode()),
    st.sampled_from([b"", b"[", b'["x"', b"[1]", b"[]", b'"s"', b"\xff", b"-", b"12-[]"]),
)

jsonrpc_messages = st.fixed_dictionaries(
    {},
    optional={"jsonrpc": st.sampled_from(["2.0", "1.0", 2]), "id": ids,
              "method": st.text(max_size=4), "result": json_values, "error": json_values,
              "params": json_values},
)  # fmt: skip
graphql_messages = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from(["subscribe", "start", "next", "data", "error",
                                       "complete", "ping", "ka", 3]),
              "id": ids, "payload": json_values},
)  # fmt: skip


def json_payload(message: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """A message as JSON (alone or in a batch), in another encoding or cut short."""
    whole = st.one_of(message, st.lists(message, max_size=3)).map(json.dumps)
    return st.one_of(
        whole.map(str.encode),
        whole.map(lambda text: text.encode("utf-16")),
        whole.map(lambda text: b"\xef\xbb\xbf" + text.encode()),
        whole.map(lambda text: text.encode()[: max(0, len(text) - 2)]),
    )


payloads = st.one_of(
    st.binary(max_size=80),
    st.tuples(socketio_heads, socketio_data).map(b"".join),
    json_payload(jsonrpc_messages),
    json_payload(graphql_messages),
)


def same(name: str, payload: bytes) -> None:
    decoder = decoders()[name]
    assert decoder.exchanges_of(payload, CTX) == decoder.run(payload, CTX).exchanges, (
        name, payload[:200])  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(payloads)
def test_fast_ids_equal_the_trees(payload: bytes) -> None:
    for name in FAST:
        same(name, payload)


MANY = sorted(name for name, d in decoders().items() if d.exchange_many is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, max_size=10))
def test_ids_of_a_page_equal_each_payloads(page: list[bytes]) -> None:
    """A decoder's page at once gives each payload what its fast path gives alone."""
    assert MANY == ["jsonrpc", "socketio"]
    for name in MANY:
        decoder = decoders()[name]
        assert decoder.exchange_many is not None
        expected = [decoder.exchanges_of(payload, CTX) for payload in page]
        assert decoder.exchange_many(page, CTX) == expected, name


def test_socketio_ids_of_a_page_of_every_head() -> None:
    """Every head the strategy draws from (ack ids with leading zeros, past 18 digits
    and past int()'s limit, namespaces, attachments), in one page."""
    from itertools import product

    decoder = decoders()["socketio"]
    assert decoder.exchange_many is not None
    page = [b"4" + kind + att + ns + ack + data for kind, att, ns, ack, data in product(
        [b"0", b"2", b"3", b"5", b"6", b"x"], [b"", b"1-", b"0-", b"-"],
        [b"", b"/chat,", b"/\xff,", b",", b"/no-comma"],
        [b"", b"0", b"7", b"007", b"9" * 18, b"9" * 19, b"1" * 30, b"9" * 5000],
        [b"", b'["e"]'])]  # fmt: skip
    expected = [decoder.exchanges_of(payload, CTX) for payload in page]
    assert decoder.exchange_many(page, CTX) == expected
    assert sum(bool(ids) for ids in expected) > 300


def test_examples_of_each_side_agree_and_pair() -> None:
    assert FAST == ["graphql", "jsonrpc", "socketio"]
    cases = {
        "socketio": [b'4217["chat",{}]', b"43/chat,17[true]", b"4512-7[\"e\",{}]", b"435[1",
                     b"4212-", b"421-", b'42["no ack"]', b"2", b"3probe"],
        "jsonrpc": [b'{"jsonrpc":"2.0","method":"m","id":1}',
                    b'{"jsonrpc":"2.0","result":2,"id":1}',
                    b'[{"jsonrpc":"2.0","method":"m","id":"a"},{"jsonrpc":"2.0","method":"n"}]',
                    '{"jsonrpc":"2.0","method":"m","id":1}'.encode("utf-16")],
        "graphql": [b'{"type":"subscribe","id":"1","payload":{}}', b'{"type":"next","id":"1"}'],
    }  # fmt: skip
    found = 0
    for name, examples in cases.items():
        for payload in examples:
            same(name, payload)
            found += len(decoders()[name].exchanges_of(payload, CTX))
    assert found == 9
    # A Socket.IO ack id is in the packet's head: a bad data part keeps it (and says why).
    bad = decoders()["socketio"].run(b"435[1", CTX)
    assert bad.error is not None and [e.key for e in bad.exchanges] == ["socket.io / 5"]


def test_a_payload_over_the_limit_has_no_ids_either_way() -> None:
    big = b'4217["chat","' + b"x" * MAX_PAYLOAD + b'"]'
    same("socketio", big)
    assert decoders()["socketio"].exchanges_of(big, CTX) == ()
    for name in MANY:
        many = decoders()[name].exchange_many
        assert many is not None and many([big, big[:40]], CTX)[0] == ()


@settings(max_examples=200, deadline=None)
@given(st.lists(payloads, max_size=12), st.sampled_from(["auto", "socketio", "jsonrpc"]),
       st.sampled_from(["", "/socket.io/?EIO=4&transport=websocket", "/rpc"]))  # fmt: skip
def test_session_payload_keys_equal_per_record_exchanges(
    messages: list[bytes], name: str, target: str
) -> None:
    tree = SessionDecoder(name, DecodeContext(scheme="ws", target=target))
    fast = SessionDecoder(name, DecodeContext(scheme="ws", target=target))
    keys = fast.payload_keys()
    expected = []
    for seq, payload in enumerate(messages):
        fields = {"opcode": "text", "fin": True}
        record = make_record(seq, seq, Direction.OUT, Kind.FRAME, payload, payload, fields)
        decoded = tree.decode(record)
        expected.append(decoded.exchanges if decoded is not None else ())
        assert keys(payload) == expected[-1]
    # A page at once (the narrow read's way) gives the same, valid payloads or not.
    many = SessionDecoder(name, DecodeContext(scheme="ws", target=target))
    assert many.payload_keys_many()(messages) == expected


@given(st.one_of(ids, json_values, st.floats(allow_nan=False)))
def test_jsonrpc_keys_are_the_ids_json_text(ident: object) -> None:
    from inspector.protocols.decoders.jsonrpc import _key

    assert _key({"id": ident}) == "json-rpc " + json.dumps(ident, sort_keys=True)


_JSONRPC_NAMES = ["id", "jsonrpc", "method", "result", "error", "params", "ids", "Id",
                  "methods", "results", "error2", "jsonrpc2", "\\u0069d", "m\\u00e9thod", "é",
                  ""]  # fmt: skip
_JSONRPC_VALUES = st.one_of(
    json_values.map(json.dumps),
    st.integers(-(10**20), 10**20).map(str),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    json_values.map(lambda v: json.dumps(v, separators=(",", ":"))),
    ids.map(json.dumps),
    st.sampled_from(['"2.0"', '"1.0"', "2.0", "-0", "0", "00", "1.0", "1e3", "-12", "NaN",
                     "Infinity", "9" * 40, "9" * 5000, '"a\\"b"', '"\\u00e9"', '"é"', '"\\x"',
                     '"\x01"', "[1,]", "{}", "[]", '{"id":1}', "[[[[[1]]]]]", "tru", '"2.0',
                     '"\\ud800"', "1" * 5 + ".5"]),
)  # fmt: skip
# Mostly JSON's whitespace; now and then a space JSON does not allow.
_WHITESPACE = st.sampled_from(["", "", "", " ", " ", "\n\t ", "\r\n", "\x0b", "\xa0"])


@st.composite
def jsonrpc_texts(draw: st.DrawFn) -> bytes:
    """JSON-RPC-like objects written by hand: any member order, repeated and escaped
    names, odd whitespace and numbers, and now and then a byte that spoils them."""
    shape = draw(st.sampled_from([("method", "id"), ("method",), ("result", "id"),
                                  ("error", "id"), ("result",), ()]))  # fmt: skip
    members = [("jsonrpc", '"2.0"'), *((name, draw(_JSONRPC_VALUES)) for name in shape)]
    members += draw(st.lists(st.tuples(st.sampled_from(_JSONRPC_NAMES), _JSONRPC_VALUES),
                             max_size=3))  # fmt: skip
    members = draw(st.permutations(members))
    spaces = draw(st.lists(_WHITESPACE, min_size=2 * len(members), max_size=2 * len(members)))
    body = ",".join(f'{spaces[2 * i]}"{name}"{spaces[2 * i + 1]}:{value}{spaces[2 * i]}'
                    for i, (name, value) in enumerate(members))  # fmt: skip
    text = draw(_WHITESPACE) + "{" + body + "}" + draw(_WHITESPACE)
    data = text.encode("utf-8")
    spoil = draw(st.sampled_from([None] * 6 + [b",", b"}", b"\xff", b"\x00", b"{"]))
    if spoil is not None:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + spoil + data[at:]
    return data


def _tricky_jsonrpc() -> list[bytes]:
    """Messages whose ids a careless reading of the text would get wrong."""
    out = []
    for ident in ["-0", "00", "0", "-1", "1.0", "1e3", "9" * 18, "9" * 19, "-" + "9" * 18,
                  '"\\u0041"', '"a\\"b"', '"\x7f"', '"é"', '"\x01"', "null", "true", "[1]",
                  "{}", '""', "NaN"]:  # fmt: skip
        out.append(f'{{"jsonrpc":"2.0","method":"m","id":{ident}}}')
        out.append(f'{{"jsonrpc":"2.0","result":1,"id":{ident}}}')
    for params in ["9" * 5000, "9" * 300, "9" * 301 + ".5", "NaN", "-Infinity", '"\\ud800"',
                   '"\x7f"', "[1,]", "[1 2]", '{"a":1,}', "01", "1.", ".5", "-", '"\\x"',
                   "[" * 5 + "]" * 5, '{"a":{"b":{"c":{"d":1}}}}', "True"]:  # fmt: skip
        out.append(f'{{"jsonrpc":"2.0","method":"m","params":{params},"id":1}}')
    out += ['{"jsonrpc":"2.0","method":"m","\\u0069d":5}',
            '{"jsonrpc":"2.0","method":"m","id":1,"methods":2,"results":3,"errors":4}',
            '{"jsonrpc":"2.0","methods":"m","id":1}', '{"jsonrpc":"2.0","results":1,"id":1}',
            '{"jsonrpc":"2.0","id":1,"id":2,"result":0}',
            '{"jsonrpc":"1.0","jsonrpc":"2.0","method":"m","id":1}',
            '{"jsonrpc":"2.0","jsonrpc":"1.0","method":"m","id":1}',
            '{"jsonrpc":"2.0","\\u006dethod":"m","id":1}',
            '{"jsonrpc":"2.0","method":"m","id":1} x',
            '\ufeff{"jsonrpc":"2.0","method":"m","id":1}', '{"jsonrpc":"2.0","id":1}',
            '{"jsonrpc":"2.0","id":null,"error":{}}', '{"jsonrpc":"2.0","method":"m"}']  # fmt: skip
    return [text.encode("utf-8") for text in out]


def _ids_by_json_loads(payload: bytes) -> tuple | None:
    from inspector.protocols.decoders.jsonrpc import _exchanges

    try:
        value = json.loads(payload.decode("utf-8"))
        return _exchanges(value if isinstance(value, list) else [value])
    except Exception:
        return None


def _ids_by_fast_path(payload: bytes) -> tuple | None:
    decoder = decoders()["jsonrpc"]
    assert decoder.exchange is not None
    try:
        return decoder.exchange(payload, CTX)
    except Exception:
        return None


def test_jsonrpc_fast_ids_of_tricky_messages_equal_json_loads() -> None:
    tricky = _tricky_jsonrpc()
    for payload in tricky:
        assert _ids_by_fast_path(payload) == _ids_by_json_loads(payload), payload
        same("jsonrpc", payload)
    assert sum(_ids_by_json_loads(p) not in (None, ()) for p in tricky) > 20


@settings(max_examples=1500, deadline=None)
@given(jsonrpc_texts())
def test_jsonrpc_fast_ids_equal_json_loads(payload: bytes) -> None:
    """The regular expression that reads a plain message gives what json.loads gives,
    for every text it accepts (and the tree agrees)."""
    assert _ids_by_fast_path(payload) == _ids_by_json_loads(payload), payload
    same("jsonrpc", payload)


def test_jsonrpc_plain_messages_take_the_regular_expression() -> None:
    """The messages libraries write are read without json.loads (the fast path is used)."""
    from inspector.protocols.decoders.jsonrpc import _message_pattern

    for text in [b'{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":7}',
                 b'{"jsonrpc": "2.0", "result": {"a": [1, {"b": null}]}, "id": "x-1"}',
                 b'{"id": 3, "jsonrpc": "2.0", "error": {"code": -32601, "message": "no"}}',
                 b'{"jsonrpc":"2.0","method":"note","params":{"s":"\\u00e9\\n"}}']:  # fmt: skip
        assert _message_pattern().fullmatch(text) is not None, text


def _ids_expected(payload: bytes) -> tuple:
    """What statistics take for a payload: json.loads' ids, none when it is not valid."""
    found = _ids_by_json_loads(payload) if len(payload) <= MAX_PAYLOAD else None
    return () if found is None else found


_OTHER_DIGITS = st.permutations("0123456789").map(
    lambda p: bytes.maketrans(b"0123456789", "".join(p).encode())
)


@settings(max_examples=600, deadline=None)
@given(st.lists(jsonrpc_texts(), min_size=1, max_size=6), st.lists(_OTHER_DIGITS, max_size=4),
       st.randoms(use_true_random=False))  # fmt: skip
def test_jsonrpc_ids_of_a_page_equal_json_loads(
    texts: list[bytes], digits: list[bytes], rng: object
) -> None:
    """A page read at once (shapes remembered across messages that differ in their
    digits) gives each message what json.loads gives."""
    from inspector.protocols.decoders.jsonrpc import exchanges_many

    page = texts + [text.translate(table) for table in digits for text in texts]
    page += [text.replace(b'"jsonrpc"', b'"jsonrpx"') for text in texts]
    rng.shuffle(page)  # type: ignore[attr-defined]
    assert exchanges_many(page, CTX) == [_ids_expected(p) for p in page]
    assert exchanges_many(page, CTX) == [_ids_expected(p) for p in page]  # all remembered


def test_jsonrpc_ids_of_a_page_of_tricky_messages() -> None:
    """Tricky messages and their digits changed (a float id, -0, 00, "1.0" for "2.0"),
    twice (the second time from remembered shapes), in one page."""
    from inspector.protocols.decoders.jsonrpc import exchanges_many

    tricky = _tricky_jsonrpc()
    page = tricky + [p.translate(bytes.maketrans(b"0123456789", b"9876543210")) for p in tricky]
    page += [p.replace(b"2.0", b"3.0") for p in tricky] + [b"", b"[]", b"[1]", b"null"]
    page += [b'{"method":"m","id":1}', b'{"result":1,"id":1}', b'{"id":1}', b'{"method":2}']
    page += [b'[{"jsonrpc":"2.0","method":"m","id":%d},{"jsonrpc":"2.0","result":1,"id":%d}]'
             % (i, i + 1) for i in range(3)]  # fmt: skip
    expected = [_ids_expected(p) for p in page]
    assert exchanges_many(page, CTX) == expected
    assert exchanges_many(page, CTX) == expected
    assert sum(bool(ids) for ids in expected) > 40


def test_jsonrpc_ids_of_pages_whose_shapes_do_not_repeat() -> None:
    """Pages of ever new shapes (the memo filled and emptied, the rest of a page read
    message by message) and of long messages still give json.loads' ids."""
    from inspector.protocols.decoders.jsonrpc import _MAX_SHAPED, _MAX_SHAPES, exchanges_many

    page = [b'{"jsonrpc":"2.0","method":"%s","id":%d}' % (b"m" * (i % 700), i)
            for i in range(3 * _MAX_SHAPES // 2)]  # fmt: skip
    page += [b'{"jsonrpc":"2.0","result":1,"id":"%s"}' % (b"x" * _MAX_SHAPED), b"[" * 3000]
    expected = [_ids_expected(p) for p in page]
    for _ in range(3):
        assert exchanges_many(page, CTX) == expected
    assert exchanges_many(page[::-1], CTX) == expected[::-1]
