"""The dedup stages' binary records: messages and table values read back as they were written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.dedup.decisions import DecisionTable, decode, encode
from processors.dedup.detector import Match
from processors.dedup.messages import (
    Probe,
    article_message,
    backfill_message,
    decode_verdict,
    partial_message,
)
from processors.dedup.sign import EXACT_BIT, SKETCH_BYTES
from processors.dedup.store import add_member, members_of, remove_member
from processors.dedup.wire import WireFormatError, Writer, pack_id, unpack_id
from wirehose.core.article import Article

T0 = datetime(2023, 10, 16, 18, 0, 0, 123456, tzinfo=UTC)
ID = "a6741c1b3231fe4859ac57c4b0c70c50"


def test_ids_pack_to_half_their_digits_and_back() -> None:
    for article_id in (ID, "abc", "0012", "012345678", "not-hex", "x" * 70):
        assert unpack_id(pack_id(article_id)) == article_id
    assert len(pack_id(ID)) == 17


def test_a_probe_round_trips_and_weighs_mostly_its_sketch() -> None:
    probe = Probe(
        article_id=ID,
        when=T0,
        keys=(EXACT_BIT + 2**64 - 1, 0, 2**32 - 1, 12345),
        sketch=bytes(range(SKETCH_BYTES)),
        size=70_000,  # more than two bytes: sizes are varints
        parts=4,
        origin=3,
        watermark=T0 + timedelta(hours=1),
    )
    data = probe.to_bytes()
    assert Probe.from_bytes(data) == probe
    assert len(data) < SKETCH_BYTES + 70  # the rest: id, times, 3 band keys, the exact key
    bare = Probe(ID, T0, (7,), bytes(SKETCH_BYTES), 0, 1)
    assert Probe.from_bytes(bare.to_bytes()) == bare


def test_verdicts_messages_read_back_as_the_decider_keeps_them() -> None:
    article = Article.create(title="t", body="Some body text here.", producer="test")
    message = decode_verdict(article_message(article, 3))
    assert message["kind"] == "article"
    assert message["parts"] == 3
    assert Article.from_bytes(message["article"]) == article
    match = Match("b" * 16, (T0, "b" * 16), 0.8125, "minhash")
    partial = decode_verdict(partial_message(ID, 2, 4, match, low=T0, when=T0))
    assert partial == {
        "kind": "partial",
        "id": ID,
        "partition": 2,
        "parts": 4,
        "best": {"id": "b" * 16, "when": T0.isoformat(), "sim": 0.8125, "method": "minhash"},
        "low": T0.isoformat(),
        "when": T0.isoformat(),
    }
    assert decode_verdict(partial_message(ID, 0, 1, None))["best"] is None
    exact = Match("c" * 16, (T0, "c" * 16), 1.0, "exact")
    backfill = decode_verdict(backfill_message(ID, T0, exact))
    assert backfill["kind"] == "backfill"
    assert backfill["match"]["method"] == "exact"


def test_a_record_of_another_format_is_refused_not_guessed_at() -> None:
    with pytest.raises(WireFormatError):
        decode_verdict(b'{"kind": "partial", "id": "x"}')  # the JSON of an older worker
    with pytest.raises(WireFormatError):
        Probe.from_bytes(partial_message(ID, 0, 1, None))  # a verdicts message is no probe
    with pytest.raises(WireFormatError, match="truncated"):
        Probe.from_bytes(Writer(1).u8(0).done())


def test_decider_values_round_trip_and_decided_ones_are_small() -> None:
    when = T0.isoformat()
    match = {"id": "b" * 32, "when": when, "sim": 0.9, "method": "minhash"}
    pending = {
        "p": 2,
        "partials": {"0": None, "3": match},
        "parts": 4,
        "when": when,
        "extra": match,
        "ao": 17,
    }
    canonical: dict[str, Any] = {
        "p": 1,
        "when": when,
        "mark": {
            "is_canonical": True,
            "duplicate_of": None,
            "similarity": None,
            "method": "none",
            "late": False,
        },
        "to": [when, ID, False],
        "route": ID,
        "ao": 5,
    }
    earlier = (T0 - timedelta(hours=2)).isoformat()
    remarked = {  # re-marked: the mark moved, the route stayed where its article went
        "p": 0,
        "when": when,
        "mark": {
            "is_canonical": False,
            "duplicate_of": "d" * 32,
            "similarity": 1.0,
            "method": "exact",
            "late": True,
        },
        "to": [earlier, "d" * 32, True],
        "route": "b" * 32,
    }
    for value in (pending, canonical, remarked, '{"article": 1}', "2023-10-16T00:00:00+00:00"):
        assert decode(ID, encode(ID, value)) == value
    assert len(encode(ID, canonical)) < 30  # was ~300 bytes of JSON
    with pytest.raises(ValueError, match="unknown mark fields"):
        encode(ID, {**canonical, "mark": {**canonical["mark"], "extra": 1}})


def test_the_decision_table_packs_keys_and_scans_headers_only() -> None:
    raw: dict[bytes, bytes] = {}
    table = DecisionTable(raw)
    table[ID] = {"p": 1, "partials": {}, "when": T0.isoformat(), "ao": 9}
    table[ID + "#article"] = '{"held": true}'
    table["#forgotten-1"] = T0.isoformat()
    assert set(table) == {ID, ID + "#article", "#forgotten-1"}
    assert len(next(key for key in raw if not key.startswith(b"#"))) == 17
    assert ID in table
    assert "f" * 32 not in table
    micros = (T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert list(table.scan()) == [(ID, 1, micros, 9)]
    del table[ID + "#article"]
    assert table.get(ID + "#article") is None


def test_a_bucket_holds_one_id_until_it_has_two() -> None:
    buckets: dict[int, str | list[str]] = {}
    add_member(buckets, 1, "a")
    add_member(buckets, 1, "a")  # filed once
    assert buckets[1] == "a"
    assert members_of(buckets, 1) == ("a",)
    add_member(buckets, 1, "b")
    assert members_of(buckets, 1) == ("a", "b")
    remove_member(buckets, 1, "a")
    assert buckets[1] == "b"
    remove_member(buckets, 1, "b")
    assert 1 not in buckets
    assert members_of(buckets, 1) == ()
