"""The decider's table as compact binary records (``processors.dedup.wire`` format 2).

``Decider`` works on plain values - a pending dict (partials so far), a decided dict (the mark
and what it points at), the held article's JSON text, the forgotten-before cutoff - and
``DecisionTable`` stores each as a short record instead of JSON: a decided canonical article
costs about 20 bytes instead of 300, and so does each changelog write while it is pending.
A decided record leaves out what it can say by reference: the rank it points at is its own id
or its ``duplicate_of``, and so, until a re-mark moves the mark, is where it was routed.

Keys are bytes too: an article id packed (``processors.dedup.wire.pack_id``), ``#a`` and the
packed id for a held article, ``#f`` and the name for anything else the decider keeps.

``scan`` reads the partition, event time and article offset of every dict record without
decoding the rest, for ``Decider``'s expiry sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

from processors.dedup.wire import FORMAT, Reader, Writer, pack_id, unpack_id

TEXT, PENDING, DECIDED = 1, 2, 3  # the kind byte after the format byte
ARTICLE_SUFFIX = "#article"  # the decider's key for an article it holds until it is decided

_HAS_WHEN, _HAS_AO, _HAS_PARTS, _HAS_EXTRA = 1, 2, 4, 8
_CANONICAL, _LATE, _TO_EXACT, _HAS_DUPLICATE, _HAS_SIMILARITY = 16, 32, 64, 128, 256
_TO_OWN_TIME = 512  # the rank the mark points at has the article's own event time
# Where the rank a mark points at (``to``) and the route are: the article itself, its
# duplicate_of, or written out.
_SELF, _DUPLICATE, _WRITTEN = 0, 1, 2
_METHODS = (None, "none", "exact", "minhash")
_MARK_FIELDS = {"is_canonical", "duplicate_of", "similarity", "method", "late"}


def _write_match(out: Writer, match: dict[str, Any] | None) -> None:
    if match is None:
        out.u8(0)
        return
    out.u8(1).ident(match["id"]).time(datetime.fromisoformat(match["when"])).f64(match["sim"])
    out.u8(1 if match["method"] == "exact" else 0)


def _read_match(read: Reader) -> dict[str, Any] | None:
    if not read.u8():
        return None
    article_id, when, similarity = read.ident(), read.time(), read.f64()
    method = "exact" if read.u8() else "minhash"
    return {"id": article_id, "when": when.isoformat(), "sim": similarity, "method": method}


def _reference(out: Writer, value: str, key: str, duplicate: str | None) -> None:
    if value == key:
        out.u8(_SELF)
    elif value == duplicate:
        out.u8(_DUPLICATE)
    else:
        out.u8(_WRITTEN).ident(value)


def _dereference(read: Reader, key: str, duplicate: str | None) -> str:
    how = read.u8()
    if how == _SELF:
        return key
    if how == _DUPLICATE and duplicate is not None:
        return duplicate
    return read.ident()


def encode(key: str, value: Any) -> bytes:
    """``value`` (as ``Decider`` keeps it under ``key``) as a record."""
    if isinstance(value, str):
        return Writer(TEXT).raw(value.encode("utf-8")).done()
    if not isinstance(value, dict):
        raise TypeError(f"a decisions value is a str or a dict, not {type(value).__name__}")
    decided = "mark" in value
    flags = (_HAS_WHEN if "when" in value else 0) | (_HAS_AO if "ao" in value else 0)
    if decided:
        mark = value["mark"]
        if set(mark) - _MARK_FIELDS:
            raise ValueError(f"unknown mark fields {sorted(set(mark) - _MARK_FIELDS)}")
        flags |= (
            (_CANONICAL if mark["is_canonical"] else 0)
            | (_LATE if mark.get("late") else 0)
            | (_TO_EXACT if value["to"][2] else 0)
            | (_HAS_DUPLICATE if mark.get("duplicate_of") is not None else 0)
            | (_HAS_SIMILARITY if mark.get("similarity") is not None else 0)
            | (_TO_OWN_TIME if value["to"][0] == value.get("when") else 0)
        )
    else:
        flags |= (_HAS_PARTS if "parts" in value else 0) | (_HAS_EXTRA if "extra" in value else 0)
    out = Writer(DECIDED if decided else PENDING).u16(flags).u16(value["p"])
    if "when" in value:
        out.time(datetime.fromisoformat(value["when"]))
    if "ao" in value:
        out.i64(value["ao"])
    if decided:
        duplicate = mark.get("duplicate_of")
        if duplicate is not None:
            out.ident(duplicate)
        if mark.get("similarity") is not None:
            out.f64(mark["similarity"])
        out.u8(_METHODS.index(mark.get("method")))
        to_when, to_id, _exact = value["to"]
        if not flags & _TO_OWN_TIME:
            out.time(datetime.fromisoformat(to_when))
        _reference(out, to_id, key, duplicate)
        _reference(out, value["route"], key, duplicate)
        return out.done()
    if "parts" in value:
        out.u16(value["parts"])
    if "extra" in value:
        _write_match(out, value["extra"])
    out.u16(len(value["partials"]))
    for band, match in value["partials"].items():
        out.u16(int(band))
        _write_match(out, match)
    return out.done()


def decode(key: str, data: bytes) -> Any:
    """The value ``encode`` wrote for ``key``."""
    read = Reader(data)
    if read.kind == TEXT:
        return read.rest().decode("utf-8")
    flags, partition = read.u16(), read.u16()
    value: dict[str, Any] = {"p": partition}
    if flags & _HAS_WHEN:
        value["when"] = read.time().isoformat()
    if flags & _HAS_AO:
        value["ao"] = read.i64()
    if read.kind == DECIDED:
        duplicate = read.ident() if flags & _HAS_DUPLICATE else None
        similarity = read.f64() if flags & _HAS_SIMILARITY else None
        value["mark"] = {
            "is_canonical": bool(flags & _CANONICAL),
            "duplicate_of": duplicate,
            "similarity": similarity,
            "method": _METHODS[read.u8()],
            "late": bool(flags & _LATE),
        }
        to_when = value["when"] if flags & _TO_OWN_TIME else read.time().isoformat()
        value["to"] = [to_when, _dereference(read, key, duplicate), bool(flags & _TO_EXACT)]
        value["route"] = _dereference(read, key, duplicate)
        return value
    if flags & _HAS_PARTS:
        value["parts"] = read.u16()
    if flags & _HAS_EXTRA:
        value["extra"] = _read_match(read)
    value["partials"] = {str(read.u16()): _read_match(read) for _ in range(read.u16())}
    return value


def pack_key(key: str) -> bytes:
    if key.endswith(ARTICLE_SUFFIX):
        return b"#a" + pack_id(key[: -len(ARTICLE_SUFFIX)])
    if key.startswith("#"):
        return b"#f" + key.encode("utf-8")
    return pack_id(key)


def unpack_key(data: bytes) -> str:
    if data.startswith(b"#a"):
        return unpack_id(data[2:]) + ARTICLE_SUFFIX
    if data.startswith(b"#f"):
        return data[2:].decode("utf-8")
    return unpack_id(data)


class DecisionTable(MutableMapping[str, Any]):
    """``Decider``'s values over a table that holds their records under packed keys (a Faust
    table with bytes keys and values, or a dict in tests and benchmarks).

    Between ``defer`` and ``flush`` changes are kept here and only the last one per key is
    written, each under the ``context`` that was set when it was made (for Faust: the event
    whose partition's changelog it goes to). A worker that acknowledges a batch only after
    flushing it loses nothing by this - a crash before the flush reads the whole batch again -
    and an article decided within the batch it arrived in never reaches the changelog as a
    held article, nor its pending record as each partial came.
    """

    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table
        self.context: Any = None
        self._dirty: dict[bytes, tuple[bytes | None, Any]] | None = None

    def defer(self) -> None:
        """Keep changes here until ``flush``."""
        if self._dirty is None:
            self._dirty = {}

    def flush(self, enter: Callable[[Any], None] = lambda context: None) -> int:
        """Write what changed since ``defer`` (``enter`` is called with each change's context
        first) and stop deferring; returns how many keys were written or deleted."""
        dirty, self._dirty = self._dirty or {}, None
        written = 0
        for packed, (data, context) in dirty.items():
            if data is None and packed not in self.table:
                continue  # made and dropped within the batch: nothing to tell the changelog
            enter(context)
            if data is None:
                del self.table[packed]
            else:
                self.table[packed] = data
            written += 1
        return written

    def _record(self, packed: bytes) -> bytes | None:
        if self._dirty is not None and packed in self._dirty:
            return self._dirty[packed][0]
        return self.table.get(packed)

    def __getitem__(self, key: str) -> Any:
        data = self._record(pack_key(key))
        if data is None:
            raise KeyError(key)
        return decode(key, data)

    def __setitem__(self, key: str, value: Any) -> None:
        packed, data = pack_key(key), encode(key, value)
        if self._dirty is None:
            self.table[packed] = data
        else:
            self._dirty[packed] = (data, self.context)

    def __delitem__(self, key: str) -> None:
        packed = pack_key(key)
        if self._record(packed) is None:
            raise KeyError(key)
        if self._dirty is None:
            del self.table[packed]
        else:
            self._dirty[packed] = (None, self.context)

    def _packed_keys(self) -> list[bytes]:
        keys = dict.fromkeys(self.table)
        for packed, (data, _context) in (self._dirty or {}).items():
            if data is None:
                keys.pop(packed, None)
            else:
                keys[packed] = None
        return list(keys)

    def __iter__(self) -> Iterator[str]:
        return (unpack_key(key) for key in self._packed_keys())

    def __len__(self) -> int:
        return len(self._packed_keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._record(pack_key(key)) is not None

    def get(self, key: str, default: Any = None) -> Any:
        data = self._record(pack_key(key))
        return default if data is None else decode(key, data)

    def scan(self) -> Iterator[tuple[str, int, int | None, int | None]]:
        """``(key, partition, event time in microseconds or None, article offset or None)``
        of every pending or decided record, read from its fixed header only."""
        for packed in self._packed_keys():
            data = self._record(packed)
            if data is None or len(data) < 6 or data[0] != FORMAT:
                continue
            if data[1] not in (PENDING, DECIDED):
                continue
            read = Reader(data)
            flags, partition = read.u16(), read.u16()
            when = read.i64() if flags & _HAS_WHEN else None
            offset = read.i64() if flags & _HAS_AO else None
            yield unpack_key(packed), partition, when, offset
