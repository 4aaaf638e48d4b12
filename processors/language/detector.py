"""Language identification: py3langid's naive Bayes model over byte n-grams, 140 languages
and varieties.

The model ships inside the py3langid wheel, so nothing is downloaded at run time, and it is
deterministic: the same text always gets the same answer. It is loaded once per process
(about 0.8 s).

What is read: the title, then the start of the body, ``MAX_CHARS`` in all. Cost is linear in
the text read (the model walks it byte by byte in Python: about 0.35 ms plus 1.5 ms per 1,000
characters, measured), so the cap bounds the cost per article whatever the body's length: about
1 ms at 500 characters, against some 25 ms of CPU for NER on an article. On the multilingual
fixture (tests/data/languages.jsonl) every text of 30 or more bytes of letters (five or six
words) is identified right; 500 characters, some 80 words, leave room for a body that opens
with a dateline, a byline or a photo credit.

When the answer is ``und`` (undetermined) rather than a guess:

- the text has fewer than ``MIN_LETTER_BYTES`` bytes of letters (UTF-8 bytes, since the model
  reads bytes: 12 is two short Latin words, six Cyrillic letters, four Chinese characters).
  Digits, punctuation and symbols carry no language. On prefixes of the fixture's texts the
  detector is right 16% of the time below 6 bytes of letters, 54-67% at 6-11 bytes, and its
  confidence there rests on too little text to trust;
- the model's probability for its best language is below ``MIN_CONFIDENCE``. Over 1,300
  prefixes (1 to 20 words) of the fixture's texts, 0.7 is the lowest threshold at which no wrong
  answer was accepted (at 0.6 one was: "Des milliers d'habitants" as Aragonese, 0.62), while
  every full-length headline still clears it. Wrong answers on short text are mostly close
  relatives (Aragonese, Extremaduran, Ligurian, Luxembourgish, Afrikaans, Belarusian) with
  probabilities of 0.2 to 0.6.

Before the best language is chosen, varieties the model tells apart but that are one language
for search (one analyzer, one reader) are summed into it: Moroccan and Egyptian Arabic into
Arabic, Wu and Cantonese into Chinese, and so on (``MACROLANGUAGES``). Without that, a short
Chinese headline splits its probability between zh and wuu (0.48 and 0.44, say) and falls
under the threshold though the language is not in doubt.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

log = logging.getLogger(__name__)

UNDETERMINED = "und"  # ISO 639-2 for "undetermined"
MAX_CHARS = 500
MIN_LETTER_BYTES = 12
MIN_CONFIDENCE = 0.7

# Labels of the model folded into the language they are a variety of (ISO 639-3 members of
# the macrolanguage); "zxx" is the model's "no linguistic content".
MACROLANGUAGES: dict[str, str] = {
    "ary": "ar",
    "arz": "ar",
    "wuu": "zh",
    "yue": "zh",
    "nb": "no",
    "nn": "no",
    "uzs": "uz",
    "zxx": UNDETERMINED,
}


@dataclass(frozen=True)
class Language:
    """A detector's answer: an ISO 639-1 code (or ``und``) and the model's probability for it.

    For ``und`` the confidence is that of the best guess that was not good enough (0.0 when
    the text was too short to ask).
    """

    code: str
    confidence: float

    @property
    def determined(self) -> bool:
        return self.code != UNDETERMINED


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """The model, loaded once per process; probabilities normalised to sum to 1."""
    log.debug("loading the language model file=%s", MODEL_FILE)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def fold(code: str) -> str:
    """A language code as wirehose counts it: a variety becomes its macrolanguage."""
    return MACROLANGUAGES.get(code, code)


def letter_bytes(text: str, enough: int) -> int:
    """UTF-8 bytes of the letters in ``text``, counting no further than ``enough``."""
    total = 0
    for char in text:
        if char.isalpha():
            total += len(char.encode("utf-8"))
            if total >= enough:
                break
    return total


class LanguageDetector:
    """``detect(title, body)``: the language of an article's text, or ``und``."""

    def __init__(
        self,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        min_letter_bytes: int = MIN_LETTER_BYTES,
        max_chars: int = MAX_CHARS,
    ) -> None:
        self.min_confidence = min_confidence
        self.min_letter_bytes = min_letter_bytes
        self.max_chars = max_chars
        self._model = _identifier()

    def sample(self, title: str, body: str = "") -> str:
        """The text the detector reads: title, then the body's start, ``max_chars`` at most."""
        head = title[: self.max_chars]
        if len(head) >= self.max_chars:
            return head
        return f"{head}\n{body[: self.max_chars - len(head) - 1]}" if body else head

    def detect(self, title: str, body: str = "") -> Language:
        text = self.sample(title, body)
        if letter_bytes(text, self.min_letter_bytes) < self.min_letter_bytes:
            return Language(UNDETERMINED, 0.0)
        scores: Counter[str] = Counter()
        for code, probability in self._model.rank(text):
            scores[fold(code)] += probability
        code, probability = max(scores.items(), key=lambda item: (item[1], item[0]))
        confidence = round(min(1.0, float(probability)), 4)
        if code == UNDETERMINED or confidence < self.min_confidence:
            return Language(UNDETERMINED, confidence)
        return Language(code, confidence)
