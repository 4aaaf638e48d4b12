"""Named-entity tagging of articles with spaCy, with canonical forms for faceting.

Only the components NER reads are loaded (:func:`processors.entities.components.ner_exclude`
reads them from the pipeline's config). In en_core_web_sm that is ``ner`` alone: its NER embeds
its own token-to-vector layer and reads neither the shared ``tok2vec`` (which feeds the tagger
and parser) nor the tagger, parser, lemmatizer or attribute ruler. Excluding them leaves the
entities unchanged (span for span on the seeds in tests/integration/test_entities.py, and on
4 000 texts of the benchmark corpus) and halves the CPU time per article: about 14 ms per
benchmark article, against 28 for the whole pipeline and 19.5 with the shared ``tok2vec`` kept.
Title and body go through ``nlp.pipe`` as separate texts: offsets stay relative to their field,
and batching amortises the model's per-call overhead.

A copy of an article (dedup marked it ``duplicate_of`` another) mostly has the same text, so
:meth:`EntityTagger.tag_from_canonical` re-anchors the canonical article's entities in the copy
by string search instead of running NER again, and declines (returns None) when too many of
them cannot be found, i.e. when the texts differ enough that NER is worth its price.

A pipeline for another language (``WIREHOSE_SPACY_MODELS``) is loaded the same way, its labels
are read as ours (``rules.LABEL_ALIASES``: PER is PERSON, MISC is dropped) and its entities take
the language-neutral canonical forms of :mod:`processors.entities.neutral`; the English rules of
:mod:`processors.entities.canonical` apply to English pipelines only.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from processors.entities.canonical import AliasMap, Field, Mention, canonicalize, full_names
from processors.entities.components import ner_exclude
from processors.entities.model import load_pipeline
from processors.entities.neutral import canonicalize_neutral
from processors.entities.rules import LABEL_ALIASES, NAMED_LABELS
from wirehose.core.article import Article, Entity

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

log = logging.getLogger(__name__)


class EntityTagger:
    """Fills ``Article.entities``: every named mention in title and body, canonicalized.

    ``aliases`` is the cross-article surname map; with ``learn`` the tagger feeds it each
    article's full names, so it must be shared state when several workers tag (see AliasMap).
    """

    step_id = "entities"

    def __init__(
        self,
        model: str = "en_core_web_sm",
        *,
        nlp: Language | None = None,
        aliases: AliasMap | None = None,
        learn: bool = True,
        labels: Iterable[str] = NAMED_LABELS,
        batch_size: int = 32,
        max_chars: int = 1_000_000,
        exclude: Sequence[str] | None = None,
    ) -> None:
        if nlp is None:
            # None: what the pipeline's own config says its NER does not read.
            skip = tuple(exclude) if exclude is not None else ner_exclude(model)
            nlp = load_pipeline(model, skip)
        self.nlp = nlp
        # spaCy refuses texts over max_length; the sink already drops bodies over max_chars.
        self.nlp.max_length = max(self.nlp.max_length, max_chars + 1)
        self.aliases = aliases if aliases is not None else AliasMap()
        self.learn = learn
        self.labels = frozenset(labels)
        self.batch_size = batch_size
        # The canonical rules read English words; other languages get the neutral ones.
        self._canonicalize = canonicalize if self.language == "en" else canonicalize_neutral

    @property
    def language(self) -> str:
        """The language the model was trained on (``en`` for en_core_web_*): NER on text in
        another language finds capitalised words, not entities."""
        return str(getattr(self.nlp, "lang", None) or "en")

    def process(self, article: Article) -> Article:
        """Tag one article (a batch of one: use :meth:`process_batch` when you have several)."""
        return self.process_batch([article])[0]

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        """Tag many articles in one ``nlp.pipe`` stream, returned in input order."""
        texts: list[tuple[str, tuple[int, Field]]] = []
        for i, article in enumerate(articles):
            texts.extend(((text, (i, f)) for f, text in _fields(article)))
        mentions: list[list[Mention]] = [[] for _ in articles]
        for doc, (i, field) in self.nlp.pipe(texts, as_tuples=True, batch_size=self.batch_size):
            mentions[i].extend(self._mentions(doc, field))
        return [
            self._finish(article, found) for article, found in zip(articles, mentions, strict=True)
        ]

    def _mentions(self, doc: Doc, field: Field) -> Iterable[Mention]:
        for ent in doc.ents:
            label = LABEL_ALIASES.get(ent.label_, ent.label_)
            if label in self.labels:
                yield Mention(field, ent.start_char, ent.end_char, ent.text, label)

    def _finish(self, article: Article, mentions: Sequence[Mention]) -> Article:
        entities = self._canonicalize(mentions, self.aliases, dict(_fields(article)))
        if self.learn:
            self.aliases.observe(full_names(entities))
        log.debug("tagged article id=%s entities=%d", article.article_id, len(entities))
        return article.model_copy(update={"entities": tuple(entities)})

    def tag_from_canonical(
        self, copy: Article, canonical_entities: Sequence[Entity], *, min_coverage: float = 0.8
    ) -> Article | None:
        """The copy with the canonical article's entities re-anchored in its own text, or None.

        None means the texts differ too much (fewer than ``min_coverage`` of the canonical's
        mentions, or of its distinct names, were found): run :meth:`process` instead. The alias
        map is not fed, since the canonical article's names were already counted once.
        """
        entities = reanchor(copy, canonical_entities)
        if not canonical_entities:
            return copy.model_copy(update={"entities": ()})
        names = {e.text for e in canonical_entities}
        found_names = {e.text for e in entities}
        if len(entities) < min_coverage * len(canonical_entities) or len(
            found_names
        ) < min_coverage * len(names):
            log.debug(
                "copy differs, needs NER id=%s found=%d of=%d",
                copy.article_id,
                len(entities),
                len(canonical_entities),
            )
            return None
        return copy.model_copy(update={"entities": tuple(entities)})


def _fields(article: Article) -> list[tuple[Field, str]]:
    fields: tuple[tuple[Field, str], ...] = (("title", article.title), ("body", article.body))
    return [(field, text) for field, text in fields if text]


def reanchor(copy: Article, canonical_entities: Sequence[Entity]) -> list[Entity]:
    """Find every canonical entity text in the copy's title and body, as whole words.

    Longer texts claim their spans first, so "Netanyahu" inside an anchored "Benjamin Netanyahu"
    is not counted twice. Each text keeps the label and canonical form it had most often.
    """
    forms: dict[str, Counter[tuple[str, str]]] = {}
    for entity in canonical_entities:
        forms.setdefault(entity.text, Counter())[(entity.label, entity.canonical)] += 1
    found: list[Entity] = []
    for field, text in _fields(copy):
        taken: list[tuple[int, int]] = []
        for surface in sorted(forms, key=lambda s: (-len(s), s)):
            label, canonical = forms[surface].most_common(1)[0][0]
            for match in re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", text):
                start, end = match.span()
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                taken.append((start, end))
                found.append(
                    Entity(
                        label=label,
                        text=surface,
                        canonical=canonical,
                        field=field,
                        start=start,
                        end=end,
                    )
                )
    return sorted(found, key=lambda e: (e.field != "title", e.start))
