"""Replay: input discovery, pacing, looping with stable keys, and the CLI's offline paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from producers.kafka import ArticleProducer
from producers.replay import Pacer, iter_inputs, replay
from producers.seeds import default_seeds_dir
from tests.factories import FakeKafkaProducer, make_article
from wirehose.cli import cli
from wirehose.core.clients import KafkaAccess


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_pacer_spaces_calls_at_the_asked_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.wait()
    assert clock.sleeps == [0.25, 0.25]


def test_pacer_does_not_sleep_for_time_already_spent_sending() -> None:
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 0.4  # sending took 0.4 s of the 0.5 s slot
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.1)]


def test_pacer_without_rate_never_sleeps_and_rejects_nonsense() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait()
    assert clock.sleeps == []
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)


def test_default_input_is_the_packaged_seeds() -> None:
    articles = list(iter_inputs())
    assert [a.source for a in articles] == sorted(p.name for p in default_seeds_dir().glob("*.txt"))


def test_inputs_mix_directories_txt_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("Headline\n\nStory one.", encoding="utf-8")
    feed = tmp_path / "more.jsonl"
    feed.write_text(json.dumps({"title": "T", "body": "Story two."}) + "\n", encoding="utf-8")
    articles = list(iter_inputs([tmp_path / "one.txt", feed], [feed]))
    assert [a.body for a in articles] == ["Story one.", "Story two.", "Story two."]
    assert all(a.producer == "replay" for a in articles)


def test_looping_twice_sends_the_same_keys_twice() -> None:
    articles = list(iter_inputs())
    producer = ArticleProducer(KafkaAccess("h:9092"), "raw", factory=FakeKafkaProducer)
    queued: list[str] = []
    report = replay(articles, producer, loops=2, on_queued=lambda a: queued.append(a.article_id))
    keys = [key.decode() for _, key, _ in FakeKafkaProducer.instances[-1].records]
    assert report.sent == 10
    assert keys[:5] == keys[5:] == [a.article_id for a in articles]
    assert queued == keys


def test_two_separate_replays_produce_identical_keys() -> None:
    first = [a.article_id for a in iter_inputs()]
    second = [a.article_id for a in iter_inputs()]
    assert first == second
    assert len(set(first)) == 5


def test_replay_rejects_negative_loops() -> None:
    producer = ArticleProducer(KafkaAccess("h:9092"), "raw", factory=FakeKafkaProducer)
    with pytest.raises(ValueError, match="forever"):
        replay([make_article()], producer, loops=-1)


def test_cli_dry_run_prints_parsed_articles_without_raw() -> None:
    result = CliRunner().invoke(cli, ["replay", "--dry-run"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5
    assert "raw" not in rows[0]
    assert {r["publisher"] for r in rows} == {
        None,
        "All Israel News",
        "FOX NEWS",
        "LibertySociety.com",
    }


def test_cli_reports_a_bad_jsonl_line_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "ok"}\n{"title": 1\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["replay", "--dry-run", "--jsonl", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output
    assert "cannot read the input" in result.output


def test_cli_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(cli, ["replay", "--help"])
    assert result.exit_code == 0
    for example in ("wirehose replay --jsonl", "--rate 5 --loop 0", "--dry-run"):
        assert example in result.output
