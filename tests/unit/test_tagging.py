"""CopyAwareTagger: NER once per story text; copies take their original's entities."""

from __future__ import annotations

from collections.abc import Sequence

from processors.entities.tagging import CopyAwareTagger
from wirehose.core.article import Article, DedupMark, Entity


class CountingTagger:
    """Stands in for spaCy: tags one PERSON per article and counts what it was asked to tag."""

    def __init__(self) -> None:
        self.tagged: list[str] = []

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        self.tagged += [a.article_id for a in articles]
        return [self._tag(a) for a in articles]

    def tag_from_canonical(self, article: Article, entities: tuple[Entity, ...]) -> Article:
        return article.model_copy(update={"entities": entities})

    @staticmethod
    def _tag(article: Article) -> Article:
        entity = Entity(label="PERSON", text="Ada", canonical="Ada", field="body", start=0, end=3)
        return article.model_copy(update={"entities": (entity,)})


def article(url: str, *, copy_of: Article | None = None) -> Article:
    made = Article.create(
        title=url, body="Ada spoke today.", url=f"https://t.invalid/{url}", producer="test"
    )
    mark = DedupMark(
        is_canonical=copy_of is None,
        duplicate_of=copy_of.article_id if copy_of else None,
        similarity=1.0 if copy_of else None,
        method="exact" if copy_of else "none",
    )
    return made.model_copy(update={"dedup": mark})


def test_a_copy_in_the_same_batch_as_its_original_reuses_its_entities() -> None:
    spacy = CountingTagger()
    tagger = CopyAwareTagger(spacy)  # type: ignore[arg-type]
    original = article("o")
    copies = [article(f"c{n}", copy_of=original) for n in range(3)]
    other = article("x")
    out = tagger.process_batch([copies[0], original, other, *copies[1:]])
    assert spacy.tagged == [original.article_id, other.article_id]
    assert all(a.entities for a in out)
    assert tagger.counts == {"ner": 2, "reused": 3}
    # The next batch's copy finds the original in the cache.
    later = article("c9", copy_of=original)
    tagger.process_batch([later])
    assert tagger.counts["reused"] == 4
    assert len(spacy.tagged) == 2


def test_a_copy_of_a_copy_in_the_same_batch_goes_through_ner() -> None:
    spacy = CountingTagger()
    tagger = CopyAwareTagger(spacy)  # type: ignore[arg-type]
    unseen = article("gone")  # its original was never tagged here
    copy = article("c", copy_of=unseen)
    copy_of_copy = article("cc", copy_of=copy)
    out = tagger.process_batch([copy, copy_of_copy])
    assert set(spacy.tagged) == {copy.article_id, copy_of_copy.article_id}
    assert tagger.counts == {"ner": 2, "reused": 0}
    assert all(a.entities for a in out)
