"""Fault-test fixtures: a PRIVATE Kafka and Elasticsearch, a corpus, a fast model, a summary.

The shared native services (9092/9200) serve every engineer and every other test; stopping
them here would break those runs. So this session starts its own pair on free ports (see
``wirehose.bench.private``) and stops it at the end.

Entity tagging uses a blank English pipeline with an entity ruler instead of en_core_web_sm,
except in the poisoned-input test: the statistical model tags ~25 articles/s on this 2-core
machine, which would make thousands of articles per scenario take minutes each, and what
these tests check (delivery, redelivery, rebalancing, dead letters) does not depend on which
model tags. The ruler goes through the same ``EntityTagger``/``nlp.pipe`` code path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from processors.dedup.detector import WireCopyDetector
from tests.fault.harness import Figures, Mark, write_summary
from wirehose.bench.corpus import articles as corpus_articles
from wirehose.bench.private import PrivateServices, private_services
from wirehose.core.article import Article, event_time
from wirehose.core.settings import Settings
from wirehose.ops.services.runtime import free_port

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = ROOT / "bench" / "results" / "fault-summary.json"
CORPUS_SIZE = 1200
_FIGURES: list[Figures] = []

_ENTITY_PATTERNS = [
    ("PERSON", "Benjamin Netanyahu"), ("PERSON", "Vladimir Putin"), ("PERSON", "Sergei Lavrov"),
    ("PERSON", "Netanyahu"), ("PERSON", "Putin"), ("ORG", "Hamas"), ("ORG", "Reuters"),
    ("GPE", "Israel"), ("GPE", "Gaza"), ("GPE", "Russia"), ("GPE", "Moscow"), ("GPE", "Iran"),
]  # fmt: skip


@pytest.fixture(scope="session")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServices]:
    """Kafka and Elasticsearch of this session only: free to stop, kill and restart."""
    try:
        with private_services(tmp_path_factory.mktemp("fault-services") / "home") as stack:
            yield stack
    except Exception as exc:  # a missing service is a failure with the reason, never a skip
        pytest.fail(f"private Kafka/Elasticsearch for fault tests failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def private_es(private_stack: PrivateServices) -> Iterator[Elasticsearch]:
    # Retries on connection errors: the node is stopped and started under these tests.
    client = Elasticsearch(
        private_stack.settings.elasticsearch_url, request_timeout=60, retry_on_timeout=True
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def fast_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A blank English pipeline whose entity ruler tags the corpus's main names."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": label, "pattern": text} for label, text in _ENTITY_PATTERNS])  # type: ignore[attr-defined]
    path = tmp_path_factory.mktemp("model") / "ruler"
    nlp.to_disk(path)
    return str(path)


@pytest.fixture(scope="session")
def fault_corpus() -> list[Article]:
    """Seeds, syndicated variants and unrelated articles, unique ids, in publishing order."""
    return corpus_articles(CORPUS_SIZE, seed=11)


@pytest.fixture
def fault_settings(
    private_stack: PrivateServices, fast_model: str, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings on the private services with this test's own topics, index, group and home."""

    def make(**overrides: Any) -> Settings:
        tag = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "home": tmp_path / f"home-{tag}",
            "topic_raw": f"fault-raw-{tag}",
            "topic_enriched": f"fault-enriched-{tag}",
            "topic_dead_letter": f"fault-dlq-{tag}",
            "topic_alerts": f"fault-alerts-{tag}",
            "index_alias": f"fault-articles-{tag}",
            "app_id": f"fault-app-{tag}",
            "worker_web_port": free_port(),
            "spacy_model": fast_model,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return private_stack.settings.model_copy(update=values)

    return make


@pytest.fixture(scope="session")
def baseline_marks(fault_corpus: list[Article]) -> dict[str, Mark]:
    """What every disturbed run must end with: the reference detector's marks, in one process
    over the corpus in event-time order (the dedup contract, tests/e2e)."""
    detector = WireCopyDetector.from_settings(Settings())
    ordered = sorted(fault_corpus, key=lambda a: (event_time(a), a.article_id))
    return {
        article.article_id: (mark.is_canonical, mark.duplicate_of)
        for article in ordered
        for mark in [detector.classify(article).mark]
    }


@pytest.fixture
def record_figures() -> Callable[[Figures], None]:
    """Add a scenario's figures to bench/results/fault-summary.json (rewritten after each)."""

    def record(figures: Figures) -> None:
        _FIGURES.append(figures)
        write_summary(SUMMARY, _FIGURES)

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("fault figures (bench/results/fault-summary.json)")
    terminalreporter.write_line(
        f"{'scenario':<28}{'sent':>7}{'indexed':>9}{'doubled':>9}{'enriched x2':>12}"
        f"{'extra':>7}{'dead':>6}  notes"
    )
    for f in _FIGURES:
        terminalreporter.write_line(
            f"{f.scenario:<28}{f.sent:>7}{f.indexed:>9}{f.doubled:>9}{f.enriched_doubled:>12}"
            f"{f.extra:>7}{f.dead_lettered:>6}  {f.notes}"
        )
