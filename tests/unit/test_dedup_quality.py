"""Quality floors on the labelled wire-copy corpus (numbers and method in docs/dedup.md).

Floors sit a little under the measured values so that a change which really degrades detection
fails, while the exact figures live in the docs rather than in brittle equalities.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from processors.dedup.detector import WireCopyDetector
from wirehose.bench.dedup_quality import (
    CorpusDoc,
    Quality,
    evaluate,
    load_corpus,
    lsh_proposal_rate,
)

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
# Variants that are the same text in different packaging, or cut: what "near-identical" means.
NEAR_IDENTICAL = ("exact", "typography", "boilerplate", "trimmed", "added", "edits-1pct",
                  "first-half", "first-half-edits", "lead-third")  # fmt: skip


@pytest.fixture(scope="module")
def docs() -> list[CorpusDoc]:
    return load_corpus(CORPUS_DIR / "wirecopy.jsonl")


@pytest.fixture(scope="module")
def quality(docs: list[CorpusDoc]) -> Quality:
    return evaluate(docs)


def test_committed_corpus_is_what_the_generator_makes() -> None:
    generator = runpy.run_path(str(CORPUS_DIR / "generate.py"))
    assert generator["main"](["--check"]) == 0


def test_corpus_is_labelled_as_documented(docs: list[CorpusDoc]) -> None:
    originals = [d for d in docs if d.tier == "original"]
    assert len(docs) == 202
    assert len(originals) == 22
    assert {"seed000", "seed001", "seed002", "seed003"} <= {d.cluster for d in originals}
    first: dict[str, str] = {}
    for doc in docs:  # every original precedes its copies in the stream
        first.setdefault(doc.cluster, doc.tier)
    assert set(first.values()) == {"original"}


def test_precision_and_recall_at_the_default_threshold(quality: Quality) -> None:
    assert quality.threshold == 0.8
    assert quality.false_positives == 0, quality.false_alarms
    assert quality.precision >= 0.98
    assert quality.recall >= 0.86, quality.misses
    for tier in NEAR_IDENTICAL:
        assert quality.recall_by_tier[tier] >= 0.98, (tier, quality.misses)


def test_lsh_loses_nothing_against_the_exact_oracle(quality: Quality) -> None:
    assert quality.oracle_pairs > 500
    assert quality.jaccard_oracle_pairs > 250
    assert quality.lsh_recall_vs_oracle >= 0.99
    assert quality.lsh_recall_vs_jaccard_oracle >= 0.99


def test_independent_write_ups_stay_far_below_the_threshold(quality: Quality) -> None:
    # Template briefs (same phrasing, different facts) are the hardest negatives we have.
    assert quality.hardest_negative < 0.65


def test_a_lower_threshold_trades_no_precision_for_recall_on_this_corpus(
    docs: list[CorpusDoc],
) -> None:
    lower = evaluate(docs, lambda: WireCopyDetector(threshold=0.7))
    assert lower.false_positives == 0
    assert lower.recall >= 0.94


def test_lsh_banding_follows_its_s_curve_where_containment_needs_it() -> None:
    # 64 bands x 2 rows: theory 0.9976 at J=0.3 (a 30% lead-only copy), 0.148 at J=0.05.
    assert lsh_proposal_rate(0.3) >= 0.99
    assert lsh_proposal_rate(0.05) <= 0.25
