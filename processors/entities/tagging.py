"""Entity tagging that pays for NER once per story text, not once per copy.

A copy that dedup marked ``duplicate_of`` an article already tagged takes that article's
entities, re-anchored in its own text (``EntityTagger.tag_from_canonical``); only when the copy
differs too much, or the original is not in the cache, does it go through spaCy. The cache is
per worker and bounded; dedup-decide routes a copy to the partition of its original, so the
worker that tagged the original usually tags the copy (``wirehose_entities_articles_total``
counts both ways). A miss (say, after a restart) costs one NER pass, never correctness.

NER runs only on articles in ``languages`` (the spaCy model's language, plus ``und``: see
``processors.worker.app.ner_languages``); the others pass with no entities and are counted as
``skipped``. They are still deduplicated, clustered and indexed, just without entities.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Collection, Sequence

from processors.entities.tagger import EntityTagger
from wirehose.core.article import Article, Entity

log = logging.getLogger(__name__)


class CopyAwareTagger:
    """A batch step: reuse the original's entities for copies, run NER for the rest."""

    step_id = "entities"

    def __init__(
        self,
        tagger: EntityTagger,
        *,
        cache_size: int = 50_000,
        languages: Collection[str] | None = None,
    ) -> None:
        self.tagger = tagger
        self.cache_size = cache_size
        # None: every article, whatever its language.
        self.languages = frozenset(languages) if languages is not None else None
        self._entities: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        # articles by how they got entities: ner, reused, skipped (not in ``languages``)
        self.counts: Counter[str] = Counter()

    def process(self, article: Article) -> Article:
        return self.process_batch([article])[0]

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        """Copies of originals already tagged reuse their entities; the rest go through NER
        together, except copies whose original is in this same batch: they wait for it (in a
        backlog, a story and its copies often arrive in one batch)."""
        done: dict[int, Article] = {}
        skipped: set[int] = set()
        for position, article in enumerate(articles):
            if self.languages is not None and article.language not in self.languages:
                done[position] = article.model_copy(update={"entities": ()})
                skipped.add(position)
                continue
            reused = self._from_original(article)
            if reused is not None:
                done[position] = reused
        in_batch = {a.article_id for p, a in enumerate(articles) if p not in done}
        waiting = {
            p
            for p, a in enumerate(articles)
            if p not in done
            and a.dedup is not None
            and a.dedup.duplicate_of in in_batch
            and a.dedup.duplicate_of != a.article_id
        }
        pending = [(p, a) for p, a in enumerate(articles) if p not in done and p not in waiting]
        if pending:
            tagged = self.tagger.process_batch([article for _, article in pending])
            done.update(zip((position for position, _ in pending), tagged, strict=True))
            for article in tagged:
                self._remember(article)
        ner = len(pending)
        for position in sorted(waiting):
            reused = self._from_original(articles[position])
            if reused is None:  # its original is itself a copy tagged from elsewhere: NER
                reused = self.tagger.process_batch([articles[position]])[0]
                ner += 1
            done[position] = reused
        self.counts["reused"] += len(articles) - ner - len(skipped)
        self.counts["ner"] += ner
        if skipped:
            self.counts["skipped"] += len(skipped)
        result = [done[position] for position in range(len(articles))]
        for position, article in enumerate(result):
            if position not in skipped:  # a copy in a tagged language must not reuse "none"
                self._remember(article)
        return result

    def _from_original(self, article: Article) -> Article | None:
        original = article.dedup.duplicate_of if article.dedup else None
        if original is None or original not in self._entities:
            return None
        self._entities.move_to_end(original)
        return self.tagger.tag_from_canonical(article, self._entities[original])

    def _remember(self, article: Article) -> None:
        if article.dedup is not None and article.dedup.duplicate_of is not None:
            return  # only originals are reused
        self._entities[article.article_id] = article.entities
        self._entities.move_to_end(article.article_id)
        while len(self._entities) > self.cache_size:
            self._entities.popitem(last=False)
