"""Example source: a drop directory. Every new ``.txt`` file becomes one article.

Files are parsed with the seed rules (headline, publisher, agencies, date). A file is marked
done once its article is confirmed by Kafka; a file that holds no article is reported and
skipped, so one bad file does not stall the directory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from producers.base import PollingSource
from producers.seeds import parse_seed_file
from wirehose.core.article import Article
from wirehose.core.errors import ExtractionError

log = logging.getLogger(__name__)


class DirectorySource(PollingSource):
    def __init__(self, directory: Path, *, interval: float = 5.0) -> None:
        super().__init__(f"dir:{directory}", interval=interval)
        self.directory = directory
        self._done: set[str] = set()
        self._pending: dict[str, list[str]] = {}  # article_id -> file names, until acked

    def poll(self) -> list[Article]:
        self._pending = {}  # files not acked last round (send failed) are read again
        articles = []
        for path in sorted(self.directory.glob("*.txt")):
            if path.name in self._done:
                continue
            try:
                article = parse_seed_file(path, producer=self.step_id)
            except ExtractionError as exc:
                log.warning("skipped file step_id=%s file=%s reason=%s", self.step_id, path, exc)
                self._done.add(path.name)
                continue
            self._pending.setdefault(article.article_id, []).append(path.name)
            articles.append(article)
        return articles

    def ack(self, delivered: Sequence[Article]) -> None:
        for article in delivered:
            self._done.update(self._pending.pop(article.article_id, []))
