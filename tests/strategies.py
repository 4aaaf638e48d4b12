"""Hypothesis strategies for input from strangers: text, JSON and bytes that aim at the edges.

Random text alone rarely reaches the code that matters (a byline rule, a dateline, a trailer),
so these mix the shapes the parsers look for with what breaks parsers: control characters,
NUL, surrogates, right-to-left and zero-width marks, lone combining marks, long runs of one
character, very long lines, wrong JSON types, deep nesting, numbers past every limit.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters parsers trip on. Surrogates are excluded by Hypothesis unless asked for.
ODD_CHARS = (
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\r", "\t", "\u00a0",
    "\u2028", "\u2029", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e",
    "\u2066", "\u2069", "\ufeff", "\ufffd", "\ufffe", "\uffff", "\u0301", "\u0336", "\ufdfa",
    "\U0001f600", "\U0010ffff", "\ud800", "\udc00", "\udfff", "ß", "İ", "ﬁ", "\u2126",
)  # fmt: skip

# The shapes the pasted-text rules recognise, whole and in pieces.
NEWS_TOKENS = (
    "By ", "By Jane Doe", " and ", "Jane", "O'Neil", "(Reuters) - ", "JERUSALEM (AP) — ",
    "(LibertySociety.com) – ", "(", ")", " - ", " — ", "–", "--", "©", "(c)", "Copyright",
    "2024", "1999-2024", "All rights reserved", " contributed to this report", "reporting",
    "This post appeared first on ", "The Example Staff is a team of journalists",
    "Sun 10 Dec 2023 4:15 pm - Jerusalem Time", "01 Jan 0001 00:30 Tokyo", "12:30", "p.m.",
    " GMT", " time", "Politics", "World", "Share", "Pinterest LinkedIn Tumblr", "Read more",
    "Reporting by Jane; Editing by John", "Follow us on X", "Photo:", "Headline here",
    "A sentence of the story.", "...", "!!!", "???", ",,,", ";", ":", '"', "'", "“", "”", "’",
    "\n", "\n\n", " ", "  ", "\t", "www.example.com", "https://example.com/a?utm_source=x",
)  # fmt: skip

any_char = st.characters(exclude_categories=())  # every code point, surrogates included


@st.composite
def runs(draw: st.DrawFn, pieces: st.SearchStrategy[str], most: int = 300) -> str:
    """One piece repeated many times: what makes a backtracking pattern or a parser loop."""
    return draw(pieces) * draw(st.integers(min_value=2, max_value=most))


def hostile_text(max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Text assembled from news shapes, odd characters, plain random text and long runs."""
    piece = st.one_of(
        st.sampled_from(NEWS_TOKENS),
        st.sampled_from(ODD_CHARS),
        st.text(any_char, max_size=12),
        runs(st.sampled_from((*NEWS_TOKENS, *ODD_CHARS))),
    )
    return st.lists(piece, max_size=max_pieces).map("".join)


def pasted_article() -> st.SearchStrategy[str]:
    """Pasted text: lines, each a news shape, hostile text, or many copies of one line."""
    line = st.one_of(st.sampled_from(NEWS_TOKENS), hostile_text(6))
    many = runs(st.sampled_from(NEWS_TOKENS).map(lambda s: s + "\n"), most=60)
    return st.lists(st.one_of(line, many), max_size=20).map("\n".join)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text(6),
    st.sampled_from(("", " ", "1", "2024-01-02T03:04:05+02:00", "0001-01-01T00:00:00+01:00")),
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON values of any type, nested, with object keys drawn from ``keys``."""
    return st.recursive(
        json_scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)
        ),
        max_leaves=20,
    )


def long_number() -> st.SearchStrategy[bytes]:
    """A JSON object holding an integer longer than Python converts by default (4300 digits)."""
    return st.integers(min_value=4000, max_value=6000).map(
        lambda digits: b'{"schema_version": 1, "n": ' + b"7" * digits + b"}"
    )


def deep_json(max_depth: int = 5000) -> st.SearchStrategy[bytes]:
    """Arrays or objects nested past the parser's recursion limit (or just short of it)."""
    return st.builds(
        lambda depth, kind: (kind[0] * depth + kind[1] * depth).encode(),
        st.integers(min_value=1, max_value=max_depth),
        st.sampled_from((("[", "]"), ('{"a":', "}"))),
    )


def encodings_of(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """``text`` as bytes in an encoding a reader may not expect, or broken on purpose."""
    return st.tuples(
        text, st.sampled_from(("utf-8", "utf-16", "utf-32", "latin-1", "cp1252", "cesu"))
    ).map(lambda pair: _encode(*pair))


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "cesu":  # surrogates written out as three bytes each, which UTF-8 forbids
        return text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes flipped, dropped, doubled or inserted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        how = draw(st.sampled_from(("flip", "drop", "double", "insert")))
        if how == "flip":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif how == "drop":
            del data[at]
        elif how == "double":
            data[at:at] = data[at : at + draw(st.integers(min_value=1, max_value=40))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def json_bytes(value: Any) -> bytes:
    """``value`` as JSON the way a sloppy producer writes it: NaN allowed, surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode("utf-8")
