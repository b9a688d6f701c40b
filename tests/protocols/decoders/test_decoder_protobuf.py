"""Protobuf: wire decoding without a schema, and names from a descriptor set, checked
against messages the ``protobuf`` package serialises."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.protocols.decoders import DecodeContext, get
from inspector.protocols.decoders.protobuf import SCHEMA_OPTION, load_schema

FDP = descriptor_pb2.FieldDescriptorProto


def descriptor_set() -> bytes:
    """What ``protoc --descriptor_set_out --include_imports chat.proto`` writes for:

    package chat; enum Mood { CALM = 0; ANGRY = 1; }
    message Author { string name = 1; sint32 karma = 2; }
    message Post { int64 id = 1; string text = 2; Author author = 3; repeated int32 tags = 4;
                   double score = 5; Mood mood = 6; bytes blob = 7; fixed32 crc = 8; }
    """
    proto = descriptor_pb2.FileDescriptorProto(name="chat.proto", package="chat", syntax="proto3")
    mood = proto.enum_type.add(name="Mood")
    mood.value.add(name="CALM", number=0)
    mood.value.add(name="ANGRY", number=1)
    author = proto.message_type.add(name="Author")
    author.field.add(name="name", number=1, type=FDP.TYPE_STRING, label=FDP.LABEL_OPTIONAL)
    author.field.add(name="karma", number=2, type=FDP.TYPE_SINT32, label=FDP.LABEL_OPTIONAL)
    post = proto.message_type.add(name="Post")
    for name, number, kind, label, type_name in (
        ("id", 1, FDP.TYPE_INT64, FDP.LABEL_OPTIONAL, None),
        ("text", 2, FDP.TYPE_STRING, FDP.LABEL_OPTIONAL, None),
        ("author", 3, FDP.TYPE_MESSAGE, FDP.LABEL_OPTIONAL, ".chat.Author"),
        ("tags", 4, FDP.TYPE_INT32, FDP.LABEL_REPEATED, None),
        ("score", 5, FDP.TYPE_DOUBLE, FDP.LABEL_OPTIONAL, None),
        ("mood", 6, FDP.TYPE_ENUM, FDP.LABEL_OPTIONAL, ".chat.Mood"),
        ("blob", 7, FDP.TYPE_BYTES, FDP.LABEL_OPTIONAL, None),
        ("crc", 8, FDP.TYPE_FIXED32, FDP.LABEL_OPTIONAL, None),
    ):
        field = post.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    return descriptor_pb2.FileDescriptorSet(file=[proto]).SerializeToString()


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proto") / "chat.desc"
    path.write_bytes(descriptor_set())
    return path


def post_class() -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorSet.FromString(descriptor_set()).file[0])
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("chat.Post"))


POST = post_class()

posts = st.builds(
    dict,
    id=st.integers(-(2**63), 2**63 - 1),
    text=st.text(max_size=30),
    name=st.text(max_size=10),
    karma=st.integers(-(2**31), 2**31 - 1),
    tags=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=6),
    score=st.floats(allow_nan=False),
    mood=st.sampled_from([0, 1]),
    blob=st.binary(max_size=20),
    crc=st.integers(0, 2**32 - 1),
)


def make_post(values: dict[str, Any]) -> Any:
    post = POST(
        id=values["id"],
        text=values["text"],
        tags=values["tags"],
        score=values["score"],
        mood=values["mood"],
        blob=values["blob"],
        crc=values["crc"],
    )
    post.author.name = values["name"]
    post.author.karma = values["karma"]
    return post


@settings(max_examples=150, deadline=None)
@given(posts)
def test_named_fields_match_what_protobuf_parses(schema_file: Path, values: dict) -> None:
    schema = load_schema(schema_file, "chat.Post")
    payload = make_post(values).SerializeToString()
    decoded = get("protobuf").run(payload, DecodeContext(options={SCHEMA_OPTION: schema}))
    assert decoded.ok, decoded.error
    parsed = POST.FromString(payload)
    named = {f.name: f for f in decoded.fields}
    tags = [f.value for f in decoded.fields if f.name.startswith("tags[")]
    assert tags == list(parsed.tags)
    for name in ("id", "text", "score", "mood", "crc"):
        if name in named:
            assert named[name].value == getattr(parsed, name)
        else:  # proto3 leaves default values off the wire
            assert not getattr(parsed, name)
    if "blob" in named:
        assert bytes.fromhex(named["blob"].value) == parsed.blob
    if "author" in named:
        author = {f.name: f.value for f in named["author"].children}
        assert author.get("name", "") == parsed.author.name
        assert author.get("karma", 0) == parsed.author.karma
    for field in decoded.fields:
        assert payload[field.start : field.end]  # every field knows its bytes
        assert not field.guess


@settings(max_examples=150, deadline=None)
@given(posts)
def test_schemaless_numbers_and_varints(values: dict) -> None:
    post = make_post(values)
    payload = post.SerializeToString()
    decoded = get("protobuf").run(payload, DecodeContext())
    assert decoded.ok, decoded.error
    by_number = {f.name: f for f in decoded.fields}
    if post.id:
        assert by_number["1"].value == post.id % 2**64
    if post.crc:
        assert by_number["8"].value == post.crc
    if "3" in by_number and by_number["3"].type == "message":
        assert by_number["3"].guess
    covered = sorted((f.start, f.end) for f in decoded.fields)
    assert covered[0][0] == 0 and covered[-1][1] == len(payload)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))


def test_nested_message_is_a_marked_guess() -> None:
    post = POST(id=7)
    post.author.name = "\x00\x01"  # not printable: reads as a message? no; as bytes then
    post.author.karma = 5
    decoded = get("protobuf").run(post.SerializeToString(), DecodeContext())
    author = next(f for f in decoded.fields if f.name == "3")
    assert author.guess and author.type == "message"
    assert [c.name for c in author.children] == ["1", "2"]
    assert "sint 5" in author.children[1].text


def test_schema_errors_are_one_line(tmp_path: Path, schema_file: Path) -> None:
    with pytest.raises(ValueError, match=r"has no message 'chat\.Nope'"):
        load_schema(schema_file, "chat.Nope")
    bad = tmp_path / "bad.desc"
    bad.write_bytes(b"\xff\xff\xff")
    with pytest.raises(ValueError, match="is not a descriptor set"):
        load_schema(bad, "chat.Post")
    with pytest.raises(ValueError, match="cannot read"):
        load_schema(tmp_path / "missing.desc", "chat.Post")
    schema = load_schema(schema_file, "chat.Post")
    decoded = get("protobuf").run(b"\x12\x05ab", DecodeContext(options={SCHEMA_OPTION: schema}))
    assert decoded.error is not None and decoded.error.startswith("not valid Protobuf chat.Post: ")
    assert "\n" not in decoded.error


def test_show_with_a_descriptor_set(schema_file: Path, tmp_path: Path) -> None:
    import io
    import json

    from inspector.cli import run_command
    from inspector.cli.output import json_line
    from inspector.core.records import Direction, Kind, make_record

    post = POST(id=42, text="hello", tags=[1, 2], mood=1)
    post.author.name = "ann"
    payload = post.SerializeToString()
    frame = make_record(0, 5, Direction.IN, Kind.FRAME, b"\x82" + bytes([len(payload)])
                        + payload, payload, {"opcode": "binary"})  # fmt: skip
    path = tmp_path / "proto.jsonl"
    path.write_text(json_line(frame) + "\n")
    out, err = io.StringIO(), io.StringIO()
    argv = ["show", str(path), "--proto-descriptor", str(schema_file), "chat.Post", "--json"]
    assert run_command(argv, out, err) == 0, err.getvalue()
    decoded = json.loads(out.getvalue())["decoded"]
    assert decoded["summary"] == "chat.Post 6 fields"
    fields = {f["name"]: f for f in decoded["fields"]}
    assert fields["mood"]["text"] == "ANGRY (1)"
    assert fields["author"]["children"][0] == {
        "name": "name", "text": "'ann'", "type": "string", "value": "ann",
        "range": fields["author"]["children"][0]["range"]}  # fmt: skip
    start, end = fields["text"]["range"]
    assert payload[start:end] == b"\x12\x05hello"
