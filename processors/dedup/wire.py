"""Compact binary encodings shared by the dedup messages and tables.

Every internal dedup record - the messages between the stages and the values of both tables -
starts with a format byte (``FORMAT``) and a kind byte, followed by big-endian fields: event
times as microseconds since the epoch, counts as varints, article ids packed (``pack_id``: 17
bytes for 32 hex digits, in table keys too), sketches as raw bytes. JSON
spent most of these records' bytes on names, ISO dates and base64, on every hop and in every
changelog write. A reader refuses a record of another format (``WireFormatError``) instead of
guessing at it.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

FORMAT = 2  # the JSON records before this format were format 1 (they start with "{")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class WireFormatError(ValueError):
    """A dedup record of a format this version does not read (or a truncated one)."""


def micros(when: datetime) -> int:
    """``when`` (timezone-aware) as whole microseconds since the epoch."""
    return (when - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class Writer:
    """Builds one record: the format byte, then fields in the order they are added."""

    def __init__(self, kind: int = 0) -> None:
        self._parts: list[bytes] = [bytes((FORMAT, kind))]

    def u8(self, value: int) -> Writer:
        self._parts.append(struct.pack(">B", value))
        return self

    def u16(self, value: int) -> Writer:
        self._parts.append(struct.pack(">H", value))
        return self

    def u24(self, value: int) -> Writer:
        self._parts.append(value.to_bytes(3, "big"))
        return self

    def u32(self, value: int) -> Writer:
        self._parts.append(struct.pack(">I", value))
        return self

    def varint(self, value: int) -> Writer:
        """A non-negative integer in 7-bit groups, low first: 1 byte below 128."""
        if value < 0:
            raise ValueError("a varint is never negative")
        out = bytearray()
        while True:
            low, value = value & 0x7F, value >> 7
            out.append(low | (0x80 if value else 0))
            if not value:
                break
        self._parts.append(bytes(out))
        return self

    def i64(self, value: int) -> Writer:
        self._parts.append(struct.pack(">q", value))
        return self

    def u64(self, value: int) -> Writer:
        self._parts.append(struct.pack(">Q", value))
        return self

    def f64(self, value: float) -> Writer:
        self._parts.append(struct.pack(">d", value))
        return self

    def time(self, when: datetime) -> Writer:
        return self.i64(micros(when))

    def ident(self, article_id: str) -> Writer:
        """An article id, packed (``pack_id``): 18 bytes for 32 hex digits."""
        packed = pack_id(article_id)
        if len(packed) > 0xFF:
            raise ValueError(f"id of {len(packed)} bytes is too long for a dedup record")
        self._parts.append(bytes((len(packed),)) + packed)
        return self

    def raw(self, value: bytes) -> Writer:
        self._parts.append(value)
        return self

    def done(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads one record written by ``Writer``, field by field, after checking its format."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 2 or data[0] != FORMAT:
            found = data[:1].decode("latin-1") if data else "nothing"
            raise WireFormatError(f"not a format-{FORMAT} dedup record (starts with {found!r})")
        self.data = data
        self.kind = data[1]
        self.pos = 2

    def _take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise WireFormatError("truncated dedup record")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return int(value)

    def u8(self) -> int:
        return self._take(">B")

    def u16(self) -> int:
        return self._take(">H")

    def u24(self) -> int:
        return int.from_bytes(self.raw(3), "big")

    def u32(self) -> int:
        return self._take(">I")

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def i64(self) -> int:
        return self._take(">q")

    def u64(self) -> int:
        return self._take(">Q")

    def f64(self) -> float:
        size = struct.calcsize(">d")
        if self.pos + size > len(self.data):
            raise WireFormatError("truncated dedup record")
        (value,) = struct.unpack_from(">d", self.data, self.pos)
        self.pos += size
        return float(value)

    def time(self) -> datetime:
        return from_micros(self.i64())

    def ident(self) -> str:
        return unpack_id(self.raw(self.u8()))

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise WireFormatError("truncated dedup record")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def rest(self) -> bytes:
        value = self.data[self.pos :]
        self.pos = len(self.data)
        return value


_HEX_ID = 0x80  # a packed hex id starts with 0x80 + its number of digits; anything else with 0


def pack_id(article_id: str) -> bytes:
    """An article id as a table key holds it: a lower-case hex id (what ``Article`` allows) as
    one length byte and its digits two to a byte; any other text as a zero byte and UTF-8."""
    digits = len(article_id)
    if 0 < digits < 0x80 and all(c in "0123456789abcdef" for c in article_id):
        packed = bytes.fromhex(article_id.rjust(digits + digits % 2, "0"))
        return bytes((_HEX_ID + digits,)) + packed
    return b"\x00" + article_id.encode("utf-8")


def unpack_id(data: bytes) -> str:
    """The id ``pack_id`` packed."""
    if data and data[0] >= _HEX_ID:
        return data[1:].hex()[-(data[0] - _HEX_ID) :]
    return data[1:].decode("utf-8")
