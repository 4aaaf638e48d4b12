"""The enrichment pipeline without a broker: validation, steps, dead letters with provenance."""

from __future__ import annotations

from collections.abc import Sequence

from processors.pipeline import EnrichmentPipeline, RawRecord, Stamp, Validate
from tests.factories import make_article
from wirehose.core.article import Article
from wirehose.core.errors import DropArticle


class Shout:
    step_id = "shout"

    def process(self, article: Article) -> Article:
        if "forbidden" in article.body:
            raise DropArticle("forbidden-word", "the body says forbidden")
        return article.model_copy(update={"title": article.title.upper()})


class BatchShout(Shout):
    def __init__(self) -> None:
        self.batches: list[int] = []

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        self.batches.append(len(articles))
        return [self.process(article) for article in articles]


def _record(article: Article, offset: int) -> RawRecord:
    return RawRecord(
        value=article.to_bytes(),
        key=article.article_id.encode(),
        topic="raw",
        partition=2,
        offset=offset,
    )


def test_valid_articles_pass_every_step_in_order() -> None:
    articles = [make_article(title="a"), make_article(title="b")]
    result = EnrichmentPipeline(Validate(10_000), [Shout(), Stamp()]).run(
        [_record(a, i) for i, a in enumerate(articles)]
    )
    assert [a.title for a in result.articles] == ["A", "B"]
    assert all(a.processed_at is not None for a in result.articles)
    assert result.dead_letters == []


def test_invalid_bytes_become_dead_letters_naming_topic_partition_offset() -> None:
    good = make_article()
    records = [
        RawRecord(value=b"{bad", key=b"k1", topic="raw", partition=1, offset=7),
        _record(good, 8),
    ]
    result = EnrichmentPipeline(Validate(10_000), [Stamp()]).run(records)
    assert [a.article_id for a in result.articles] == [good.article_id]
    (letter,) = result.dead_letters
    assert (
        letter.reason,
        letter.step,
        letter.topic,
        letter.partition,
        letter.offset,
        letter.key,
    ) == (
        "invalid-json",
        "validate",
        "raw",
        1,
        7,
        "k1",
    )
    assert letter.original == b"{bad"


def test_a_step_rejection_drops_only_that_article_even_in_a_batch_step() -> None:
    step = BatchShout()
    bad = make_article(body="a forbidden body")
    good = make_article()
    result = EnrichmentPipeline(Validate(10_000), [step]).run([_record(bad, 0), _record(good, 1)])
    assert [a.article_id for a in result.articles] == [good.article_id]
    (letter,) = result.dead_letters
    assert (letter.reason, letter.step, letter.article_id, letter.offset) == (
        "forbidden-word",
        "shout",
        bad.article_id,
        0,
    )
    assert step.batches == [2]  # tried as a batch first, then one by one


def test_dead_letter_survives_the_wire() -> None:
    from wirehose.core.deadletter import DeadLetter

    result = EnrichmentPipeline(Validate(10), [Stamp()]).run(
        [_record(make_article(body="x" * 50), 3)]
    )
    (letter,) = result.dead_letters
    assert letter.reason == "oversized-body"
    assert DeadLetter.from_bytes(letter.to_bytes()) == letter


def test_a_huge_original_is_kept_as_size_and_hash_only() -> None:
    import hashlib

    from wirehose.core.deadletter import MAX_ORIGINAL_BYTES, DeadLetter
    from wirehose.core.errors import InvalidArticle

    huge = b"x" * (MAX_ORIGINAL_BYTES + 1)
    letter = DeadLetter.from_drop(
        InvalidArticle("oversized-body", "too long"), step="validate", original=huge
    )
    assert letter.original == b""
    assert letter.original_truncated
    assert (letter.original_size, letter.original_sha256) == (
        len(huge),
        hashlib.sha256(huge).hexdigest(),
    )
    assert len(letter.to_bytes()) < 2000  # small enough to publish anywhere

    small = DeadLetter.from_drop(InvalidArticle("invalid-json"), step="validate", original=b"{oops")
    assert small.original == b"{oops"
    assert not small.original_truncated
