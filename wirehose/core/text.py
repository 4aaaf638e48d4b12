"""The one text normaliser: typographic variants of the same words compare equal everywhere.

Outlets that run the same words print them differently: curly or straight quotes, guillemets,
en or em dashes, a minus sign for a hyphen, non-breaking spaces, an ellipsis character,
zero-width marks left by a CMS. None of that changes what the text says, so every place that
compares text must fold it the same way, or two copies of one story disagree in one place and
agree in another: the dedup shingle hashes (``processors.dedup.text``), the entity canonical
forms and their comparison keys (``processors.entities.canonical``), the story content words
(``processors.stories.features``), and the ``content_hash`` and text-based ``article_id`` of
``wirehose.core.article``. They all fold with :data:`TYPOGRAPHY`, the only such table; no other
module keeps its own.

Three functions apply it, each after Unicode NFKC (which already turns the ellipsis into
``...``, a non-breaking space into a space, ligatures and full-width forms into plain letters):

- :func:`fold_typography`: the whole table. Surfaces that are shown (entity names) and keys.
- :func:`normalize_text`: the comparison form of a text (the table, case, whitespace), what
  ``content_hash`` hashes. It leaves zero-width marks in place: hashes and text-based ids were
  defined before they were folded, and they are stored (Elasticsearch ``_id``, Kafka keys, the
  dedup exact buckets), so folding them here would re-identify every stored article whose text
  has one. Dedup removes them before it calls this (with :func:`fold_unicode`), so its shingles
  see the whole table.
- :func:`fold_unicode`: NFKC and zero-width marks only, quotes and dashes as written. For text
  that rules written against the original punctuation still have to read
  (``wirehose.core.textrules`` recognises bylines and datelines before anything else is folded).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# Every typographic variant folded anywhere, and what it folds to.
TYPOGRAPHY: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Single quotes, apostrophes and the prime used as one.
        "\u2018": "'",  # ‘ left single quotation mark
        "\u2019": "'",  # ’ right single quotation mark, the typographic apostrophe
        "\u201a": "'",  # ‚ single low-9 quotation mark
        "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
        "\u2032": "'",  # ′ prime
        # Double quotes. (NFKC makes a double prime two primes first, so it folds to ''.)
        "\u201c": '"',  # “ left double quotation mark
        "\u201d": '"',  # ” right double quotation mark
        "\u201e": '"',  # „ double low-9 quotation mark
        "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
        "\u2033": '"',  # ″ double prime
        "\u00ab": '"',  # « left guillemet
        "\u00bb": '"',  # » right guillemet
        # Dashes.
        "\u2013": "-",  # – en dash
        "\u2014": "-",  # — em dash
        "\u2212": "-",  # − minus sign
        # Spacing and punctuation that NFKC also folds; listed so the table is complete.
        "\u00a0": " ",  # no-break space
        "\u2026": "...",  # … horizontal ellipsis
        # Zero-width marks: invisible, so they fold to nothing.
        "\u200b": "",  # zero width space
        "\u200c": "",  # zero width non-joiner
        "\u200d": "",  # zero width joiner
        "\ufeff": "",  # zero width no-break space, the byte order mark
    }
)
# The part of the table normalize_text does not apply (see the module docstring).
ZERO_WIDTH_MARKS: Final = frozenset(char for char, folded in TYPOGRAPHY.items() if not folded)

_ALL = str.maketrans(dict(TYPOGRAPHY))
_VISIBLE = str.maketrans({c: f for c, f in TYPOGRAPHY.items() if c not in ZERO_WIDTH_MARKS})
_ZERO_WIDTH = str.maketrans(dict.fromkeys(ZERO_WIDTH_MARKS))
_SPACE = re.compile(r"\s+")
# A code point in U+D800..U+DFFF. A Python string can hold one (a JSON "\ud800" escape, an HTML
# "&#xd800;" reference decoded without care), but UTF-8 cannot encode it, so text carrying one
# fails the moment it is hashed or sent.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def fold_typography(text: str) -> str:
    """``text`` in NFKC with every fold of :data:`TYPOGRAPHY` applied; case and spacing kept."""
    return unicodedata.normalize("NFKC", text).translate(_ALL)


def fold_unicode(text: str) -> str:
    """``text`` in NFKC without zero-width marks; quotes and dashes stay as written."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def collapse_spaces(text: str) -> str:
    """Runs of whitespace (line breaks included) as one space, none at the ends."""
    return _SPACE.sub(" ", text).strip()


def has_surrogates(text: str) -> bool:
    """True when ``text`` holds a surrogate code point, which no UTF-8 output can carry."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def normalize_text(text: str) -> str:
    """The comparison form of ``text``: NFKC, :data:`TYPOGRAPHY` except the zero-width marks,
    case-folded, single spaces. What ``content_hash`` and text-based article ids are made of."""
    return collapse_spaces(unicodedata.normalize("NFKC", text).translate(_VISIBLE).casefold())
