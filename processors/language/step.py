"""The language step: every article leaves it with ``Article.language`` settled and a
``LanguageMark`` saying how.

Which wins when the source declared a language (an RSS ``<language>``, a page's ``lang``):

1. the detector, when it is confident (``LanguageDetector``: enough text, probability at least
   0.7). Feeds mis-declare: a multilingual outlet serves every edition under its home
   language, a CMS default says ``en-us`` for everything, a feed-wide declaration covers the one
   item in another language. A confident detection is measured on the article's own text;
2. otherwise the declaration, normalized (``en-US`` -> ``en``): a short or ambiguous text says
   less about its language than the source that published it;
3. otherwise ``und`` (undetermined).

The mark keeps the declaration even when the detector overrode it, so a feed that mis-declares
can be found; a second pass over an already marked article gives the same result.
"""

from __future__ import annotations

import logging
import re

from processors.language.detector import UNDETERMINED, Language, LanguageDetector, fold
from wirehose.core.article import Article, LanguageMark

log = logging.getLogger(__name__)

# A primary language subtag (ISO 639-1 or -2), optionally with a region or script after it.
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][\w-]*)?$")


def normalize_declared(value: str | None) -> str | None:
    """A declared language as a bare lower-case code (``en-US`` -> ``en``), or None when there
    is none or it is not a language tag (``English``, ``und``, an empty string)."""
    if not value:
        return None
    match = _TAG.match(value.strip())
    if match is None:
        return None
    code = fold(match.group(1).lower())
    return None if code == UNDETERMINED else code


def settle(found: Language, declared: str | None) -> str:
    """The article's language: a confident detection, else the declaration, else ``und``."""
    if found.determined:
        return found.code
    return declared or UNDETERMINED


class LanguageStep:
    """Detect each article's language and settle it against what the source declared."""

    step_id = "language"

    def __init__(self, detector: LanguageDetector | None = None) -> None:
        self.detector = detector if detector is not None else LanguageDetector()

    def process(self, article: Article) -> Article:
        found = self.detector.detect(article.title, article.body)
        # Once marked, ``language`` holds the settled value: the declaration is in the mark.
        declared = (
            article.language_mark.declared
            if article.language_mark is not None
            else normalize_declared(article.language)
        )
        language = settle(found, declared)
        if declared is not None and language != declared:
            log.debug(
                "detected language overrides the declared one id=%s declared=%s detected=%s "
                "confidence=%.2f",
                article.article_id,
                declared,
                language,
                found.confidence,
            )
        mark = LanguageMark(detected=found.code, confidence=found.confidence, declared=declared)
        return article.model_copy(update={"language": language, "language_mark": mark})
