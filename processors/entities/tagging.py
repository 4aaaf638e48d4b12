"""Entity tagging that pays for NER once per story text, not once per copy.

A copy that dedup marked ``duplicate_of`` an article already tagged takes that article's
entities, re-anchored in its own text (``EntityTagger.tag_from_canonical``); only when the copy
differs too much, or the original is not in the cache, does it go through spaCy. The cache is
per worker and bounded; dedup-decide routes a copy to the partition of its original, so the
worker that tagged the original usually tags the copy (``wirehose_entities_articles_total``
counts both ways). A miss (say, after a restart) costs one NER pass, never correctness.

Each article goes through the pipeline for its language: ``others`` maps a language to its own
tagger (``WIREHOSE_SPACY_MODELS``), and ``tagger`` takes the articles in ``languages`` (the
English model's language, plus ``und``: see ``processors.worker.app.ner_languages``). A batch is
tagged one language group at a time, each group in one ``process_batch`` call, and comes back in
input order. Articles in a language with no pipeline pass with no entities and are counted as
``skipped``; they are still deduplicated, clustered and indexed, just without entities. A copy
takes its original's entities only when the same pipeline tagged the original: a French copy
of an article tagged by the English model goes through the French one.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Collection, Mapping, Sequence

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
        others: Mapping[str, EntityTagger] | None = None,
    ) -> None:
        self.tagger = tagger
        self.cache_size = cache_size
        # None: every article not in ``others``, whatever its language.
        self.languages = frozenset(languages) if languages is not None else None
        self.others = dict(others or {})
        # article id -> (the pipeline that tagged it, its entities)
        self._entities: OrderedDict[str, tuple[str, tuple[Entity, ...]]] = OrderedDict()
        # articles by how they got entities: ner, reused, skipped (no pipeline for the language)
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
            if self._pipeline(article) is None:
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
        groups: dict[str, list[int]] = {}
        for position, article in enumerate(articles):
            if position not in done and position not in waiting:
                groups.setdefault(self._key(article), []).append(position)
        for key, positions in groups.items():  # one NER call per pipeline, in batch order
            tagged = self._tagger(key).process_batch([articles[p] for p in positions])
            done.update(zip(positions, tagged, strict=True))
            for article in tagged:
                self._remember(key, article)
        ner = sum(len(positions) for positions in groups.values())
        for position in sorted(waiting):
            reused = self._from_original(articles[position])
            if reused is None:  # its original is itself a copy tagged from elsewhere: NER
                key = self._key(articles[position])
                reused = self._tagger(key).process_batch([articles[position]])[0]
                ner += 1
            done[position] = reused
        self.counts["reused"] += len(articles) - ner - len(skipped)
        self.counts["ner"] += ner
        if skipped:
            self.counts["skipped"] += len(skipped)
        result = [done[position] for position in range(len(articles))]
        for position, article in enumerate(result):
            if position not in skipped:  # a copy in a tagged language must not reuse "none"
                self._remember(self._key(article), article)
        return result

    def _pipeline(self, article: Article) -> str | None:
        """Which pipeline tags the article: a language of ``others``, ``""`` for ``tagger``, or
        None when none does."""
        language = article.language or ""
        if language in self.others:
            return language
        if self.languages is None or article.language in self.languages:
            return ""
        return None

    def _key(self, article: Article) -> str:
        key = self._pipeline(article)
        assert key is not None, "skipped articles are never tagged"
        return key

    def _tagger(self, key: str) -> EntityTagger:
        return self.others[key] if key else self.tagger

    def _from_original(self, article: Article) -> Article | None:
        original = article.dedup.duplicate_of if article.dedup else None
        if original is None or original not in self._entities:
            return None
        key, entities = self._entities[original]
        if key != self._key(article):
            return None  # tagged by another language's pipeline: not this copy's entities
        self._entities.move_to_end(original)
        return self._tagger(key).tag_from_canonical(article, entities)

    def _remember(self, key: str, article: Article) -> None:
        if article.dedup is not None and article.dedup.duplicate_of is not None:
            return  # only originals are reused
        self._entities[article.article_id] = (key, article.entities)
        self._entities.move_to_end(article.article_id)
        while len(self._entities) > self.cache_size:
            self._entities.popitem(last=False)
