"""Story clustering against a labelled set of real articles: B-cubed precision, recall, F1.

A labelled set is a directory with ``articles.jsonl`` (loose objects, as ``wirehose replay
--jsonl`` reads them) and ``events.json`` (url -> event id): articles with the same event id are
one story. No such set ships with wirehose; point ``WIREHOSE_LABELLED_STORIES`` (or the command
line) at one::

    python -m wirehose.bench.stories_eval /path/to/set [--methods centroid,member]

The articles are tagged by ``EntityTagger`` (as the worker does) and clustered in event-time
order, one pass, in process. Each method is scored on the whole set, on the events in even and
odd positions (by first article: choose on one half, report the other), and on a *dense*
replay, which moves every event into ten a day (keeping each event's own spread): the same
stories, but every window full of other events about the same people. B-cubed scores each
article by the share of its predicted story that is its event (precision) and of its event
that is in its predicted story (recall).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from processors.entities.tagger import EntityTagger
from processors.stories.clustering import Story, StoryClusterer, Vectors, Weights
from processors.stories.features import StoryFeatures
from producers.jsonl import iter_jsonl_articles
from wirehose.core.article import Article, event_time

ENVIRONMENT = "WIREHOSE_LABELLED_STORIES"
DENSE_PER_DAY = 10

Labelled = list[tuple[Article, str]]


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    stories: int
    events: int
    articles: int
    ms_per_article: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "stories": self.stories,
            "events": self.events,
            "articles": self.articles,
            "ms_per_article": round(self.ms_per_article, 2),
        }


def labelled_dir(given: str | Path | None = None) -> Path:
    """The labelled set: ``given``, else ``$WIREHOSE_LABELLED_STORIES``."""
    where = given or os.environ.get(ENVIRONMENT)
    if not where:
        raise FileNotFoundError(f"no labelled set: pass a directory or set {ENVIRONMENT}")
    path = Path(where)
    for name in ("articles.jsonl", "events.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} not found")
    return path


def load(directory: Path) -> Labelled:
    """The set's articles with their event ids, in event-time order."""
    events = json.loads((directory / "events.json").read_text(encoding="utf-8"))
    articles = iter_jsonl_articles(directory / "articles.jsonl", producer="eval")
    labelled = [(a, str(events[a.url])) for a in articles if a.url in events]
    return sorted(labelled, key=lambda pair: (event_time(pair[0]), pair[0].article_id))


def tag(labelled: Labelled, tagger: EntityTagger | None = None) -> Labelled:
    tagger = tagger or EntityTagger()
    tagged = tagger.process_batch([a for a, _ in labelled])
    return [(a, event) for a, (_, event) in zip(tagged, labelled, strict=True)]


def bcubed(predicted: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against the gold labels."""
    if not predicted:
        return 1.0, 1.0, 1.0
    in_story, in_event = Counter(predicted), Counter(gold)
    both = Counter(zip(predicted, gold, strict=True))
    pairs = list(zip(predicted, gold, strict=True))
    precision = sum(both[p] / in_story[p[0]] for p in pairs) / len(pairs)
    recall = sum(both[p] / in_event[p[1]] for p in pairs) / len(pairs)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def halves(labelled: Labelled) -> dict[str, Labelled]:
    """The events in even and odd positions, by the time of their first article."""
    order = {event: i for i, event in enumerate(dict.fromkeys(e for _, e in labelled))}
    return {
        name: [(a, e) for a, e in labelled if order[e] % 2 == parity]
        for name, parity in (("even", 0), ("odd", 1))
    }


def dense(labelled: Labelled, per_day: int = DENSE_PER_DAY) -> Labelled:
    """Every event moved to ``per_day`` a day, each keeping the spread of its own articles."""
    first: dict[str, datetime] = {}
    for article, event in labelled:
        first.setdefault(event, event_time(article))
    base = datetime(2030, 1, 1, tzinfo=UTC)
    start = {
        event: base + i * timedelta(days=1) / per_day
        for i, event in enumerate(sorted(first, key=lambda e: (first[e], e)))
    }
    moved = []
    for article, event in labelled:
        when = start[event] + (event_time(article) - first[event])
        moved.append((article.model_copy(update={"published_at": when, "fetched_at": when}), event))
    return sorted(moved, key=lambda pair: (event_time(pair[0]), pair[0].article_id))


def score(make: Callable[[], StoryClusterer], labelled: Labelled) -> Score:
    clusterer = make()
    start = time.perf_counter()
    predicted = [clusterer.process(article).story_id or "" for article, _ in labelled]
    seconds = time.perf_counter() - start
    gold = [event for _, event in labelled]
    precision, recall, f1 = bcubed(predicted, gold)
    return Score(
        precision,
        recall,
        f1,
        len(set(predicted)),
        len(set(gold)),
        len(labelled),
        seconds / max(1, len(labelled)) * 1000,
    )


def evaluate(make: Callable[[], StoryClusterer], labelled: Labelled) -> dict[str, Score]:
    """One method on the whole set, its halves, and the dense replay and its halves."""
    packed = dense(labelled)
    runs = {"all": labelled, **halves(labelled), "dense": packed}
    runs.update({f"dense {name}": part for name, part in halves(packed).items()})
    return {name: score(make, part) for name, part in runs.items()}


class EmbeddingClusterer(StoryClusterer):
    """The same gates, with a document embedding (wordllama) in the similarity.

    ``blend`` is the embedding's share: 1.0 replaces the TF-IDF similarity, 0.5 averages
    them. A story's embedding is the sum of its members' (unit) embeddings. For comparison
    only: the embedding is computed here, not stored in the worker's state.
    """

    def __init__(self, model: Any, *, blend: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.blend = blend
        self._articles: dict[str, Any] = {}
        self._pending: Any = None

    def process(self, article: Article) -> Article:
        embedding = self.model.embed([f"{article.title}\n{article.body}"], norm=True)[0]
        self._pending = embedding
        done = super().process(article)
        self._articles[article.article_id] = embedding
        return done

    def similarity(
        self,
        features: StoryFeatures,
        vectors: Vectors,
        story: Story,
        weights: Weights,
    ) -> float:
        text = super().similarity(features, vectors, story, weights)
        if text == 0.0:
            return 0.0  # a gate ruled the story out
        members = [self._articles[i] for i in story.members if i in self._articles]
        if not members:
            return text
        centroid = sum(members)
        norm = math.sqrt(float(centroid @ centroid)) or 1.0
        embedded = float(self._pending @ centroid) / norm
        return (1 - self.blend) * text + self.blend * embedded


def wordllama_model() -> Any:
    """wordllama's 256-dimension model from the files in its wheel, never from the network.

    ``WordLlama.load()`` looks for its tokenizer in a folder the wheel does not have and then
    downloads it; the wheel does ship it (``tokenizers/``), so both files are read directly.
    """
    import wordllama  # lazy: an optional benchmark dependency (the "bench" extra)
    from safetensors import safe_open  # lazy: comes with wordllama
    from tokenizers import Tokenizer  # lazy: comes with wordllama
    from wordllama.inference import WordLlamaInference  # lazy: as above

    package = Path(wordllama.__file__).parent
    tokenizer = Tokenizer.from_file(
        str(package / "tokenizers" / "l2_supercat_tokenizer_config.json")
    )
    with safe_open(str(package / "weights" / "l2_supercat_256.safetensors"), framework="np") as f:
        embedding = f.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, tokenizer)


def methods(names: Sequence[str]) -> dict[str, Callable[[], StoryClusterer]]:
    """The compared methods (docs/stories.md), by name."""
    chosen: dict[str, Callable[[], StoryClusterer]] = {
        "centroid": StoryClusterer,
        "member": lambda: StoryClusterer(compare="member"),
        "decay-1d": lambda: StoryClusterer(half_life=timedelta(days=1)),
        "decay-2d": lambda: StoryClusterer(half_life=timedelta(days=2)),
    }
    if any(name.startswith("embedding") for name in names):
        model = wordllama_model()
        # Thresholds chosen like the TF-IDF ones, on the events in even positions (docs/stories.md).
        chosen["embedding"] = lambda: EmbeddingClusterer(model, blend=1.0, threshold=0.6)
        chosen["embedding+tfidf"] = lambda: EmbeddingClusterer(model, blend=0.5, threshold=0.4)
    unknown = set(names) - set(chosen)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; known: {sorted(chosen)}")
    return {name: chosen[name] for name in names}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", help=f"the labelled set (default ${ENVIRONMENT})")
    parser.add_argument("--methods", default="centroid", help="comma-separated method names")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    labelled = tag(load(labelled_dir(args.directory)))
    results = {
        name: evaluate(make, labelled) for name, make in methods(args.methods.split(",")).items()
    }
    if args.json:
        print(
            json.dumps(
                {m: {run: s.as_dict() for run, s in r.items()} for m, r in results.items()},
                indent=2,
            )
        )
        return 0
    print("method | run | P | R | F1 | stories/events | ms/article")
    for method, runs in results.items():
        for run, s in runs.items():
            print(
                f"{method} | {run} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | "
                f"{s.stories}/{s.events} | {s.ms_per_article:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
