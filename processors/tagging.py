"""Entity tagging that pays for NER once per story text, not once per copy.

A copy that dedup marked ``duplicate_of`` an article already tagged takes that article's
entities, re-anchored in its own text (``EntityTagger.tag_from_canonical``); only when the copy
differs too much, or the original is not in the cache, does it go through spaCy. The cache is
per worker and bounded; dedup-decide routes a copy to the partition of its original, so the
worker that tagged the original usually tags the copy (``wirehose_entities_articles_total``
counts both ways). A miss (say, after a restart) costs one NER pass, never correctness.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Sequence

from processors.entities import EntityTagger
from wirehose.article import Article, Entity

log = logging.getLogger(__name__)


class CopyAwareTagger:
    """A batch step: reuse the original's entities for copies, run NER for the rest."""

    step_id = "entities"

    def __init__(self, tagger: EntityTagger, *, cache_size: int = 50_000) -> None:
        self.tagger = tagger
        self.cache_size = cache_size
        self._entities: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self.counts: Counter[str] = Counter()  # articles by how they got entities: ner, reused

    def process(self, article: Article) -> Article:
        return self.process_batch([article])[0]

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        done: dict[int, Article] = {}
        for position, article in enumerate(articles):
            reused = self._from_original(article)
            if reused is not None:
                done[position] = reused
        pending = [(position, a) for position, a in enumerate(articles) if position not in done]
        if pending:
            tagged = self.tagger.process_batch([article for _, article in pending])
            done.update(zip((position for position, _ in pending), tagged, strict=True))
        self.counts["reused"] += len(articles) - len(pending)
        self.counts["ner"] += len(pending)
        result = [done[position] for position in range(len(articles))]
        for article in result:
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
