"""Benchmark and fault-test corpora of any size, built with the wire-copy corpus generator.

``tests/corpus/generate.py`` (the labelled dedup corpus) already knows how outlets rewrite
agency copy; this module reuses its variant tiers and originals rather than inventing another
generator, and only scales them up. A corpus of ``n`` articles is, in publishing order:

- the five seeds and the hand-written stories, each with every variant tier (wire copy);
- then fresh originals, each followed by 0-3 syndicated variants: mostly *mosaics* (sentences
  from the originals pool, rewritten word by word so that they share no real text with each
  other: unrelated news) and some *robot briefs* (the generator's templated earnings and match
  reports, which look alike to shingles without being copies: the hard case for LSH).

``copy_rate`` sets the share of copies (variants) in the whole corpus. Real wire archives carry
a few percent; left unset, every original draws 0-3 variants (about half the corpus is copies,
the hard case for dedup, and an easy one for throughput, since copies skip NER). With a rate,
an original gets its variants only while the copies so far are below that share, so any long
enough prefix has the rate too.

Every article has a unique URL, hence a unique ``article_id``; publishing times spread over
``spread_hours`` (inside the dedup window by default), so the whole corpus is one window.
Everything is seeded: the same arguments give the same articles.
"""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from wirehose.core.article import Article

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tests" / "corpus" / "generate.py"
BASE_TIME = datetime(2023, 10, 16, 6, 0, tzinfo=UTC)
ROBOT_SHARE = 0.15  # of fresh originals; the rest are mosaics
VARIANT_COUNTS = (0, 0, 1, 1, 2, 3)


@lru_cache(maxsize=1)
def generator() -> ModuleType:
    """The wire-copy corpus generator, loaded from the checkout (tests/ is not packaged)."""
    if not GENERATOR.exists():
        raise FileNotFoundError(
            f"{GENERATOR} not found: benchmarks and fault tests run from a wirehose checkout"
        )
    spec = importlib.util.spec_from_file_location("wirehose_corpus_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Labelled:
    """One generated article and what it is: ``kind`` is original, a tier name, or robot."""

    article: Article
    cluster: str
    kind: str


def _stories() -> list[tuple[str, str]]:
    """(title, body) of the seeds and the hand-written stories."""
    gen = generator()
    seeds = [gen.seed_story(p.read_text(encoding="utf-8")) for p in sorted(gen.SEEDS.glob("*.txt"))]
    return seeds + list(gen.HANDWRITTEN.values())


def sentence_pool() -> list[str]:
    """Sentences of the seeds and hand-written stories, the material of unrelated mosaics."""
    gen = generator()
    pool: list[str] = []
    for _, body in _stories():
        for para in gen.paragraphs(body):
            pool.extend(s for s in para.split(". ") if len(s.split()) >= 6)
    return pool


def mosaic(pool: list[str], rng: random.Random) -> tuple[str, str]:
    """An unrelated article: pooled sentences, rewritten enough that 5-word shingles differ."""
    gen = generator()
    sentences = rng.sample(pool, rng.randint(6, 12))
    paras = gen.edit_words([s.rstrip(".") + "." for s in sentences], 0.35, rng)
    for i in range(len(paras)):
        paras[i] = f"{paras[i]} ({rng.randint(2, 999_999)})" if rng.random() < 0.5 else paras[i]
    title = " ".join(paras[0].split()[:9])
    return title, "\n".join(paras)


def generate(
    n: int,
    *,
    seed: int = 7,
    spread_hours: float = 48.0,
    in_time_order: bool = True,
    copy_rate: float | None = None,
) -> list[Labelled]:
    """``n`` articles (seeds, syndicated variants, unrelated), sorted by publishing time.

    With ``in_time_order=False`` they come in the order generated, each original followed by
    its variants, so that any prefix has the same mix of originals and copies. Cut from the
    time-sorted list, a prefix is the first hours, before most variants are published, and the
    last articles are nearly all variants: a measurement on either end sees a mix the stream
    as a whole never has.
    """
    if copy_rate is not None and not 0.0 <= copy_rate < 1.0:
        raise ValueError(f"copy_rate must be in [0, 1): {copy_rate}")
    gen = generator()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    stories = _stories()
    copies = 0
    pool = sentence_pool()
    out: list[Labelled] = []
    number = 0

    def emit(title: str, body: str, cluster: str, kind: str, when: datetime) -> None:
        nonlocal number
        article = Article.create(
            title=title,
            body=body,
            producer="bench",
            url=f"https://bench.invalid/{seed}/{number}",
            published_at=when,
            publisher=rng.choice(gen.OUTLETS),
        )
        out.append(Labelled(article, cluster, kind))
        number += 1

    cluster_no = 0
    while len(out) < n:
        cluster = f"c{cluster_no}"
        if cluster_no < len(stories):
            title, body = stories[cluster_no]
            tiers: tuple[str, ...] = tuple(gen.TIERS)
            kind = "original"
        elif rng.random() < ROBOT_SHARE:
            title, body = rng.choice(list(gen.templated(rng).values()))
            tiers = tuple(rng.sample(gen.TEMPLATE_TIERS, rng.choice(VARIANT_COUNTS)))
            kind = "robot"
        else:
            title, body = mosaic(pool, rng)
            tiers = tuple(rng.sample(list(gen.TIERS), rng.choice(VARIANT_COUNTS)))
            kind = "original"
        when = BASE_TIME + timedelta(hours=rng.uniform(0, spread_hours * 0.9))
        emit(title, body, cluster, kind, when)
        for tier in tiers:
            if len(out) >= n or (copy_rate is not None and copies >= copy_rate * len(out)):
                break
            copies += 1
            v_title, v_body = gen.variant({"title": title, "body": body}, tier, rng)
            later = when + timedelta(minutes=rng.randint(5, int(spread_hours * 6)))
            emit(v_title, v_body, cluster, tier, later)
        cluster_no += 1
    if in_time_order:
        out.sort(key=publishing_order)
    return out


def publishing_order(item: Labelled) -> tuple[datetime, str]:
    return (item.article.published_at or BASE_TIME, item.article.article_id)


def articles(
    n: int, *, seed: int = 7, spread_hours: float = 48.0, copy_rate: float | None = None
) -> list[Article]:
    """Just the articles of :func:`generate`."""
    return [
        item.article
        for item in generate(n, seed=seed, spread_hours=spread_hours, copy_rate=copy_rate)
    ]
