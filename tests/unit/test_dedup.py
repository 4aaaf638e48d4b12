"""WireCopyDetector: exact first, LSH proposes, verified similarity decides, rank picks canonical."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processors.dedup.detector import CANONICAL, WireCopyDetector, estimate, new_entry, verify
from processors.dedup.sign import EXACT_BIT, sketch
from processors.dedup.store import Entry, InMemoryDedupStore, entry_from_bytes, entry_to_bytes
from wirehose.core.article import Article
from wirehose.core.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
T0 = datetime(2023, 10, 16, 18, 0, tzinfo=UTC)


def seed_text(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def article(body: str, *, url: str, minutes: int = 0, title: str = "") -> Article:
    when = T0 + timedelta(minutes=minutes)
    return Article.create(
        title=title,
        body=body,
        url=f"https://example.invalid/{url}",
        producer="test",
        published_at=when,
        fetched_at=when + timedelta(minutes=1),
    )


ORIGINAL = seed_text("000")
PARAS = ORIGINAL.splitlines()


def test_exact_copy_is_found_by_content_hash() -> None:
    detector = WireCopyDetector()
    first = detector.process(article(ORIGINAL, url="a"))
    copy = detector.process(article(ORIGINAL, url="b", minutes=5, title="Another headline"))
    assert first.dedup == CANONICAL
    assert copy.dedup is not None
    assert (copy.dedup.is_canonical, copy.dedup.duplicate_of) == (False, first.article_id)
    assert (copy.dedup.method, copy.dedup.similarity) == ("exact", 1.0)
    assert copy.content_hash == first.content_hash


def test_exact_twins_of_a_copy_still_point_at_the_original() -> None:
    wrapped = "World\nJERUSALEM (Reuters) - " + ORIGINAL + "\nRead more: elsewhere"
    detector = WireCopyDetector()
    original = detector.process(article(ORIGINAL, url="a"))
    first = detector.process(article(wrapped, url="b", minutes=5)).dedup
    twin = detector.classify(article(wrapped, url="c", minutes=6))
    assert first is not None
    assert first.duplicate_of == original.article_id
    assert twin.mark == first  # the original outranks the exact twin it also matches
    # Earlier candidates are verified best rank first: the original, then no further. The
    # twin's exact bucket needs no verification at all.
    assert twin.candidates == 1


def test_syndicated_copy_with_packaging_and_an_edit_is_a_minhash_duplicate() -> None:
    body = (
        "\n".join(
            [
                "World",
                "Facebook Twitter WhatsApp Email",
                "JERUSALEM (Reuters) - " + PARAS[0].replace("on Monday", "Monday"),
                *PARAS[1:],
                "This post appeared first on Metro Wire",
            ]
        )
        .replace("“", '"')
        .replace("”", '"')
    )
    detector = WireCopyDetector()
    original = detector.process(article(ORIGINAL, url="a"))
    verdict = detector.classify(article(body, url="b", minutes=30))
    assert verdict.mark.duplicate_of == original.article_id
    assert verdict.mark.method == "minhash"
    assert verdict.mark.similarity is not None
    assert 0.95 <= verdict.mark.similarity < 1.0
    assert verdict.candidates == 1


def test_first_half_copy_is_a_duplicate_by_containment_not_jaccard() -> None:
    half = "\n".join(PARAS[: len(PARAS) // 2 + 1])
    detector = WireCopyDetector()
    original = detector.process(article(ORIGINAL, url="a"))
    mark = detector.process(article(half, url="b", minutes=10)).dedup
    assert mark is not None
    assert mark.duplicate_of == original.article_id
    copy, source = article(half, url="x"), original
    sim = verify(detector.signer.sign(copy).shingles, detector.signer.sign(source).shingles)
    assert sim.jaccard < 0.8 <= sim.containment
    estimated = estimate(
        new_entry(copy, detector.signer.sign(copy)), new_entry(source, detector.signer.sign(source))
    )
    assert estimated.jaccard < 0.8 <= estimated.containment == mark.similarity
    assert estimated.containment == pytest.approx(sim.containment, abs=0.1)


def test_a_short_brief_quoting_a_long_story_is_not_its_copy() -> None:
    brief = PARAS[0]  # one sentence: under 30% of the story and under 25 shingles
    detector = WireCopyDetector()
    detector.process(article(ORIGINAL, url="a"))
    assert detector.process(article(brief, url="b", minutes=10)).dedup == CANONICAL


def test_different_outlets_write_ups_of_one_event_are_not_duplicates() -> None:
    detector = WireCopyDetector()
    marks = [
        detector.process(article(seed_text(p), url=p, minutes=i)).dedup
        for i, p in enumerate(("000", "001", "002", "003", "004"))
    ]
    assert marks == [CANONICAL] * 5


def test_canonical_is_the_earliest_published_and_a_late_original_supersedes() -> None:
    detector = WireCopyDetector()
    copy = article("Metro Wire\n" + ORIGINAL, url="copy", minutes=60)
    original = article(ORIGINAL, url="orig", minutes=0)
    assert detector.classify(copy).mark == CANONICAL  # nothing earlier seen yet
    late = detector.classify(original)
    assert late.mark == CANONICAL  # outranks what it matches: published first
    assert late.supersedes == (copy.article_id,)
    again = detector.classify(article(ORIGINAL + "\nRead more: x", url="third", minutes=90))
    assert again.mark.duplicate_of == original.article_id  # best rank wins, not first arrival


def test_same_stream_gives_the_same_marks_and_redelivery_repeats_the_mark() -> None:
    stream = [article(seed_text(p), url=p, minutes=i) for i, p in enumerate(("000", "002"))]
    stream += [
        article(seed_text("000") + f"\nShare {n}", url=f"c{n}", minutes=10 + n) for n in range(3)
    ]

    def run() -> list[object]:
        detector = WireCopyDetector()
        return [detector.process(a).dedup for a in stream]

    assert run() == run()
    store = InMemoryDedupStore()
    detector = WireCopyDetector(store=store)
    first = [detector.process(a).dedup for a in stream]
    replay = detector.classify(stream[3])
    assert replay.replayed
    assert replay.mark == first[3]
    assert len(store) == len(stream)


def test_copies_outside_the_window_are_not_candidates_and_old_state_expires() -> None:
    store = InMemoryDedupStore()
    detector = WireCopyDetector(store=store, window=timedelta(hours=1), lateness=timedelta(0))
    detector.process(article(ORIGINAL, url="a"))
    later = detector.process(article(ORIGINAL, url="b", minutes=61)).dedup
    assert later == CANONICAL
    detector.process(article(seed_text("004"), url="c", minutes=200))
    assert len(store) == 1
    assert store.bucket_count() == 1 + detector.signer.bands


def test_settings_drive_threshold_window_and_lateness() -> None:
    settings = Settings(dedup_threshold=0.9, dedup_window_hours=6, dedup_lateness_hours=2)
    detector = WireCopyDetector.from_settings(settings)
    assert (detector.threshold, detector.window) == (0.9, timedelta(hours=6))
    assert detector.watermarks.lateness == timedelta(hours=2)


def test_state_outlives_the_window_by_the_lateness_so_a_late_original_still_finds_its_copies() -> (
    None
):
    store = InMemoryDedupStore()
    detector = WireCopyDetector(store=store, window=timedelta(hours=1), lateness=timedelta(hours=3))
    copy = detector.process(article("Metro Wire\n" + ORIGINAL, url="copy", minutes=30))
    detector.process(article(seed_text("004"), url="later", minutes=150))  # 2 h on
    late = detector.classify(article(ORIGINAL, url="orig", minutes=0))
    assert late.supersedes == (copy.article_id,)
    detector.process(article(seed_text("002"), url="much-later", minutes=400))
    assert store.get(copy.article_id) is None  # window plus lateness behind: gone


def test_a_much_copied_story_costs_one_verification_per_copy() -> None:
    detector = WireCopyDetector()
    copies = [
        article(f"{ORIGINAL}\nDistributed by outlet {n}.", url=f"copy{n}", minutes=5 + n)
        for n in range(30)
    ]
    original = article(ORIGINAL, url="original")
    assert detector.process(original).dedup == CANONICAL
    for copy in copies:
        verdict = detector.classify(copy)
        assert verdict.mark.duplicate_of == original.article_id
        assert verdict.candidates == 1  # the original ranks first and is a match: search ends


def test_a_late_original_supersedes_every_copy_marked_before_it() -> None:
    detector = WireCopyDetector()
    copies = [article(ORIGINAL, url=f"copy{n}", minutes=10 + n) for n in range(12)]
    for copy in copies:
        detector.process(copy)
    late_original = article(ORIGINAL, url="original", minutes=0)
    verdict = detector.classify(late_original)
    assert verdict.mark == CANONICAL
    assert set(verdict.supersedes) == {c.article_id for c in copies}
    # The next copy points at the original, not at the copies marked before it arrived.
    after = detector.process(article(ORIGINAL + "\nShare this.", url="after", minutes=30))
    assert after.dedup is not None
    assert after.dedup.duplicate_of == late_original.article_id


def test_verify_computes_exact_jaccard_and_guarded_containment() -> None:
    big = tuple(range(100))
    half = tuple(range(50))
    assert verify(big, half).jaccard == pytest.approx(0.5)
    assert verify(big, half).score == pytest.approx(1.0)
    tiny = tuple(range(20))  # fully contained, but too short to be called a copy
    assert verify(big, tiny).score == pytest.approx(0.2)
    assert verify((), big).score == 0.0


def _entry(hashes: tuple[int, ...], article_id: str = "ab" * 8) -> Entry:
    return Entry(
        article_id=article_id, when=T0, bucket_keys=(), sketch=sketch(hashes), size=len(hashes)
    )


def test_the_sketch_estimate_follows_the_exact_similarity() -> None:
    rng = random.Random(5)
    for jaccard in (0.1, 0.5, 0.8, 0.95):
        size = 300
        common = round(2 * size * jaccard / (1 + jaccard))
        errors = []
        for _ in range(20):
            pool = rng.sample(range(2**32), 2 * size - common)
            a, b = tuple(pool[:size]), tuple(pool[:common] + pool[size:])
            errors.append(estimate(_entry(a), _entry(b)).jaccard - verify(a, b).jaccard)
        assert abs(sum(errors) / len(errors)) < 0.02, jaccard  # no bias
        assert max(abs(e) for e in errors) < 0.1, jaccard  # ~4 sd of 1024 one-bit MinHashes
    same = tuple(range(100))
    assert estimate(_entry(same), _entry(same)).score == 1.0
    half = estimate(_entry(same), _entry(same[:50]))  # contained: J 0.5, containment 1
    assert half.jaccard == pytest.approx(0.5, abs=0.1)
    assert half.score == pytest.approx(1.0, abs=0.1)
    assert estimate(_entry(()), _entry(same)).score == 0.0


def test_entry_round_trips_through_its_table_record() -> None:
    entry = Entry(
        article_id="ab" * 8,
        when=T0,
        bucket_keys=(EXACT_BIT + 7, *range(16)),
        sketch=sketch((1, 2, 4_294_967_295)),
        size=3,
        best=(T0 - timedelta(hours=1), "cd" * 8),
    )
    data = entry_to_bytes(entry)
    assert len(data) <= 240  # 128 bytes of sketch, 4 per band key, 8 for the exact key, best 26
    assert entry_from_bytes(entry.article_id, data) == entry
    with pytest.raises(ValueError, match="no mark"):
        entry_to_bytes(entry.model_copy(update={"mark": CANONICAL}))
