"""A wire archive for the dedup contract: months of event time, copies of every kind, bad order.

``archive()`` builds articles the way a real wire archive holds them: originals spread over
``days`` of event time (unrelated stories, plus robot briefs that look alike to shingles without
being copies), and for many of them syndicated copies published from minutes to two days later -
exact twins, house-style and boilerplate copies, half copies, light edits, copies of copies - and
some re-issues outside the dedup window. ``arrival()`` then orders them as a replay would deliver
them: per partition, with some originals delivered after their copies, and partitions lagging
each other by days of event time. Everything is seeded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wirehose.bench.corpus import generator, mosaic, sentence_pool
from wirehose.core.article import Article, event_time

START = datetime(2024, 1, 8, 6, 0, tzinfo=UTC)
# (tier of the generator, share of copies); "twin" is the exact body under another URL.
COPY_KINDS = (
    ("twin", 0.2),
    ("typography", 0.15),
    ("boilerplate", 0.2),
    ("first-half", 0.15),
    ("trimmed", 0.1),
    ("edits-1pct", 0.1),
    ("lead-third", 0.05),
    ("trim-add-edits", 0.05),
)
LATE_ORIGINAL_SHARE = 0.25  # of originals with copies: delivered after them
REISSUE_SHARE = 0.08  # of originals: run again days later, beyond the window


@dataclass(frozen=True)
class Item:
    article: Article
    cluster: str
    kind: str  # "original", "robot", "reissue", a copy tier, or "copy-of-copy"
    late: bool = False  # delivered after articles published later than it


def _delay(rng: random.Random) -> timedelta:
    """Log-uniform from two minutes to two days: most copies within hours, some next day."""
    return timedelta(minutes=2 * (1440.0 ** rng.random()))


def archive(originals: int = 120, *, days: int = 64, seed: int = 13) -> list[Item]:
    gen = generator()
    rng = random.Random(seed)
    pool = sentence_pool()
    items: list[Item] = []

    def emit(title: str, body: str, when: datetime, cluster: str, kind: str, late: bool = False):
        number = len(items)
        article = Article.create(
            title=title,
            body=body,
            producer="archive",
            url=f"https://archive.invalid/{seed}/{number}",
            published_at=when,
            publisher=rng.choice(gen.OUTLETS),
        )
        items.append(Item(article, cluster, kind, late))
        return article

    kinds, weights = zip(*COPY_KINDS, strict=True)
    for n in range(originals):
        cluster = f"a{n}"
        robot = rng.random() < 0.2
        if robot:
            title, body = rng.choice(list(gen.templated(rng).values()))
        else:
            title, body = mosaic(pool, rng)
        when = START + timedelta(days=rng.uniform(0, days))
        copies = rng.choice((0, 0, 1, 1, 2, 3, 4))
        late = copies > 0 and rng.random() < LATE_ORIGINAL_SHARE
        emit(title, body, when, cluster, "robot" if robot else "original", late)
        story = {"title": title, "body": body}
        for kind in rng.choices(kinds, weights, k=copies):
            at = when + _delay(rng)
            if kind == "twin":
                emit(gen.retitle(title, rng), body, at, cluster, kind)
                continue
            v_title, v_body = gen.variant(story, kind, rng)
            emit(v_title, v_body, at, cluster, kind)
            if rng.random() < 0.15:  # another outlet picks up the copy, not the original
                c_title, c_body = gen.variant(
                    {"title": v_title, "body": v_body}, "boilerplate", rng
                )
                emit(c_title, c_body, at + _delay(rng), cluster, "copy-of-copy")
        if rng.random() < REISSUE_SHARE:
            again = when + timedelta(days=rng.uniform(4, 6))
            r_title, r_body = gen.variant(story, "typography", rng)
            emit(r_title, r_body, again, cluster, "reissue")
    return items


def reference_order(items: list[Item]) -> list[Article]:
    """Event-time order, as the reference detector reads them."""
    return sorted((item.article for item in items), key=lambda a: (event_time(a), a.article_id))


def arrival(
    items: list[Item], partitions: int, *, lag_days: float = 3.0, seed: int = 5
) -> list[tuple[int, Article]]:
    """``(partition, article)`` in the order a replay delivers them.

    Each article goes to a partition at random. Within a partition articles come in event-time
    order, except late originals, which come up to two days after their copies. Across
    partitions, partition ``p`` runs ``p * lag_days`` days of event time behind partition 0:
    interleaved that way, a paced replay has partitions days apart, as a backlog of uneven
    partitions does.
    """
    rng = random.Random(seed)
    keyed = []
    for item in items:
        partition = rng.randrange(partitions)
        when = event_time(item.article)
        due = when + timedelta(days=rng.uniform(2.0, 2.5)) if item.late else when
        lag = timedelta(days=lag_days * partition)
        keyed.append((due - lag, partition, item.article.article_id, item.article))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [(partition, article) for _, partition, _, article in keyed]
