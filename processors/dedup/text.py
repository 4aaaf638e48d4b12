"""Text reduced to what two copies of one wire story share, and hashed into word shingles.

Outlets that run one agency story change everything around it: the headline, a dateline prefix
(``JERUSALEM (Reuters) -``), share-button strips, "This post appeared first on ...", copyright
and credit lines, quote and dash styles, line breaks. None of that says whether the story is
the same, so it is removed or folded *before* shingling; otherwise a 300-word copy would carry
20-40 foreign shingles and lose several points of Jaccard to its original.

Boilerplate is recognised paragraph by paragraph with the same predicates the producers use to
clean pasted pages (``wirehose.core.textrules``), plus a few trailer shapes that only matter here
(agency ``Reporting by ...; Editing by ...`` footers, "Read more" links). It is applied to every
paragraph, not just the first and last: syndicators also paste widgets mid-story.

Shingles are word 5-grams (``SHINGLE_SIZE``), hashed to 32 bits with BLAKE2b so that every
process and every run maps a shingle to the same number (Python's ``hash`` is salted per
process, which would break a distributed index). See docs/dedup.md for why k=5 and 32 bits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from wirehose.core import textrules
from wirehose.core.text import fold_unicode, normalize_text

SHINGLE_SIZE = 5

# Spaces before "--" are taken only from the start of their run (not after another space):
# "\s*--+" would scan the rest of a long run of spaces from each of its positions.
_DOUBLE_HYPHEN = re.compile(r"(?:(?<!\s)\s++)?--+\s*")
_WORD = re.compile(r"[^\W_]+(?:['.,-][^\W_]+)*")

# Trailers and widgets that wirehose.core.textrules does not need to name (they carry no metadata)
# but that syndicated copies add or drop.
_AGENCY_FOOTER = re.compile(
    r"^\(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|graphics)\s+by\b.{0,200}$",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"^(?:(?:read more|read also|see also|related|recommended|more from|follow us|click here|"
    r"follow\s+\w+\s+on|sign up|subscribe|download (?:our|the) app|get the latest|join (?:us|our))"
    r"\b|(?:file )?(?:photo|image|video)(?: credit)?\s*:)[^.!?]{0,150}[.!?]?$",
    re.IGNORECASE,
)
_MAX_WIDGET_WORDS = 25


def fold_copy_text(text: str) -> str:
    """A copy's text as the paragraph rules read it: NFKC, zero-width marks dropped, an ASCII
    ``--`` made one spaced dash.

    Quotes and dashes stay as written here: the debris rules of ``wirehose.core.textrules``
    are written against them (``By Jane O’Neil`` is not a byline to them, ``By Jane O'Neil``
    is), so folding them first would change which paragraphs are dropped, and with them the
    shingle hashes stored in dedup state. The rest of ``wirehose.core.text.TYPOGRAPHY`` is
    applied after that, by ``normalize_text`` in ``similarity_text``.
    """
    return _DOUBLE_HYPHEN.sub(" - ", fold_unicode(text))


def _is_debris(paragraph: str) -> bool:
    """True for a paragraph that is packaging around the story rather than story text."""
    if textrules.is_boilerplate(paragraph) or textrules.is_section_label(paragraph):
        return True
    if textrules.credited_agencies(paragraph) is not None:
        return True
    if textrules.trailer_publisher(paragraph) is not None or textrules.byline(paragraph):
        return True
    if textrules.parse_date_header(paragraph) is not None:
        return True
    if len(paragraph.split()) > _MAX_WIDGET_WORDS:
        return False
    return bool(_AGENCY_FOOTER.match(paragraph) or _CALL_TO_ACTION.match(paragraph))


def story_paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text`` that belong to the story, datelines cut off.

    A paragraph is a non-empty line: copies re-wrap text, but none we have seen joins two
    paragraphs into one line, and splitting finer than that would make widget detection guess.
    """
    kept: list[str] = []
    for line in fold_copy_text(text).splitlines():
        paragraph = " ".join(line.split())
        if not paragraph or _is_debris(paragraph):
            continue
        # A dateline can open any paragraph that follows stripped header debris, so try each.
        _agency, _publisher, rest = textrules.split_dateline(paragraph)
        if rest.strip():
            kept.append(rest.strip())
    return kept


def similarity_text(text: str) -> str:
    """The story text, folded (``wirehose.core.text.normalize_text``): what shingles are cut
    from."""
    return normalize_text(" ".join(story_paragraphs(text)))


def word_tokens(text: str) -> list[str]:
    """Word tokens of already folded text; punctuation goes, so quote styles cannot matter.

    Inner apostrophes, periods, commas and hyphens stay (``hamas's``, ``u.s.``, ``1,400``,
    ``al-assad``) because splitting them would create shingles out of fragments.
    """
    return _WORD.findall(text)


def shingles(tokens: list[str], size: int = SHINGLE_SIZE) -> set[str]:
    """Contiguous word ``size``-grams; a text shorter than ``size`` words is one shingle."""
    if not tokens:
        return set()
    if len(tokens) <= size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def hash32(value: str) -> int:
    """A stable 32-bit hash: the same in every process, platform and run."""
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=4).digest(), "big")


def hash_shingles(values: Iterable[str]) -> tuple[int, ...]:
    """Sorted, de-duplicated 32-bit shingle hashes: compact, and stable to store and compare."""
    return tuple(sorted({hash32(value) for value in values}))


def shingle_hashes(text: str, size: int = SHINGLE_SIZE) -> tuple[int, ...]:
    """Boilerplate-free, folded, shingled and hashed ``text``: the set similarity works on."""
    return hash_shingles(shingles(word_tokens(similarity_text(text)), size))
