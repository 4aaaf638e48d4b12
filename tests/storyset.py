"""A small labelled set for story clustering: the seeds plus hand-written articles.

Stories: ``oct16-call`` is the Netanyahu-Putin call of 16 October 2023 (seeds 000-003 and one
more write-up), ``dec10-call`` the call of 10 December 2023 (seed 004 and one more write-up).
Every other article is its own story, chosen to overlap the calls on entities, vocabulary or
date: Netanyahu or Putin news of the same days, the same Security Council vote, Lavrov on the
same Sunday, an earlier Netanyahu-Putin meeting. All hand-written for this test; the events are
real but the wording is not any outlet's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from producers.seeds import iter_seed_articles
from wirehose.core.article import Article, event_time

SEED_STORIES = ["oct16-call"] * 4 + ["dec10-call"]
SEED_DATES = [datetime(2023, 10, 16, h, tzinfo=UTC) for h in (15, 16, 17, 18)] + [
    datetime(2023, 12, 10, 14, 15, tzinfo=UTC)
]

# (story, published_at, title, body)
WRITTEN: list[tuple[str, datetime, str, str]] = [
    (
        "oct16-call",
        datetime(2023, 10, 16, 19, 5, tzinfo=UTC),
        "Kremlin says Putin offered Netanyahu help to avert humanitarian disaster in Gaza",
        "Russian President Vladimir Putin spoke by telephone with Israeli Prime Minister Benjamin "
        "Netanyahu on Monday and offered condolences for the Israelis killed in the Hamas attack, "
        "the Kremlin said. Putin told Netanyahu about his calls earlier in the day with the leaders "
        "of Iran, Egypt, Syria and the Palestinian Authority, and said Russia wanted to help prevent "
        "a humanitarian catastrophe in the Gaza Strip. Netanyahu's office said the prime minister "
        "told Putin that Israel would not stop until it had destroyed the military capabilities of "
        "Hamas. It was the first conversation between the two leaders since the war began on Oct. 7.",
    ),
    (
        "dec10-call",
        datetime(2023, 12, 10, 17, 40, tzinfo=UTC),
        "Netanyahu criticises Russia's UN stance in long call with Putin",
        "Israeli Prime Minister Benjamin Netanyahu told Russian President Vladimir Putin on Sunday "
        "that he was dissatisfied with the anti-Israel positions taken by Russia's representatives "
        "at the United Nations, his office said after a 50-minute telephone call. Netanyahu, who left "
        "a cabinet meeting to take the call, also criticised Moscow's dangerous cooperation with Iran. "
        "The Kremlin said Putin stressed the need to avoid a humanitarian catastrophe in Gaza and "
        "described the situation of civilians there. It was the leaders' first conversation since "
        "mid-October.",
    ),
    (
        "knesset-speech",
        datetime(2023, 10, 16, 14, 30, tzinfo=UTC),
        "Netanyahu tells Knesset Israel will destroy Hamas as hostage families protest",
        "Prime Minister Benjamin Netanyahu told the Knesset on Monday that Israel would fight until "
        "victory and destroy Hamas, as families of hostages held in Gaza gathered outside parliament "
        "to demand their return. Speaking at the opening of the winter session, Netanyahu said Hamas "
        "was part of an axis of evil with Iran and Hezbollah. Opposition leader Yair Lapid called for "
        "an emergency government focused on the war. Sirens interrupted the session as rockets were "
        "fired towards Jerusalem and Tel Aviv, and lawmakers were led to shelters.",
    ),
    (
        "putin-xi",
        datetime(2023, 10, 18, 9, 0, tzinfo=UTC),
        "Putin and Xi hail deepening ties at Belt and Road forum in Beijing",
        "Russian President Vladimir Putin met Chinese President Xi Jinping in Beijing on Wednesday "
        "on the sidelines of the Belt and Road Forum, his first trip outside the former Soviet Union "
        "since the International Criminal Court issued a warrant for his arrest. Putin said the two "
        "countries' cooperation was growing and praised China's infrastructure initiative. The "
        "leaders also discussed the war between Israel and Hamas; Putin said the conflict showed the "
        "failure of United States policy in the Middle East. Xi called Putin an old friend.",
    ),
    (
        "unsc-vote",
        datetime(2023, 10, 16, 23, 0, tzinfo=UTC),
        "Security Council rejects Russian draft on Gaza ceasefire",
        "The United Nations Security Council on Monday rejected a Russian-drafted resolution calling "
        "for a humanitarian ceasefire in the war between Israel and Hamas. Only five members voted in "
        "favour, short of the nine needed. The United States, Britain, France and Japan voted "
        "against, saying the text failed to condemn Hamas for the Oct. 7 attack. Russian ambassador "
        "Vassily Nebenzia said the council had failed to send a message of peace. A rival Brazilian "
        "draft is expected to be put to a vote on Tuesday.",
    ),
    (
        "lavrov-doha",
        datetime(2023, 12, 10, 11, 0, tzinfo=UTC),
        "Lavrov at Doha Forum blames Washington for Gaza bloodshed",
        "Russian Foreign Minister Sergei Lavrov said on Sunday that the United States bore "
        "responsibility for the bloodshed in Gaza after it vetoed a Security Council call for a "
        "ceasefire. Speaking at the Doha Forum in Qatar, Lavrov said Washington wanted to dominate "
        "the Middle East and accused Western governments of double standards over civilian deaths. "
        "He said Russia was in contact with all sides, including Hamas, and called for an "
        "independent Palestinian state.",
    ),
    (
        "putin-reelection",
        datetime(2023, 12, 8, 15, 0, tzinfo=UTC),
        "Putin says he will run for president again in March election",
        "Vladimir Putin said on Friday that he would stand in Russia's presidential election in "
        "March, a move that could keep him in power until 2030. Putin announced his decision at a "
        "Kremlin ceremony after a war veteran asked him to run. The Kremlin leader faces no serious "
        "challenger; his most prominent critics are in prison or abroad. Election officials said the "
        "vote would be held on March 17.",
    ),
    (
        "issachar-2020",
        datetime(2020, 1, 30, 12, 0, tzinfo=UTC),
        "Netanyahu thanks Putin in Moscow as Naama Issachar is freed",
        "Israeli Prime Minister Benjamin Netanyahu thanked Russian President Vladimir Putin at a "
        "meeting in Moscow on Thursday after Russia released Naama Issachar, an Israeli-American "
        "woman jailed for drug smuggling. Putin pardoned Issachar on Wednesday. Netanyahu said the "
        "two leaders also discussed Syria and Iran. Issachar flew back to Israel with the prime "
        "minister on his plane.",
    ),
    (
        "biden-call",
        datetime(2023, 10, 22, 21, 0, tzinfo=UTC),
        "Biden and Netanyahu discuss aid to Gaza in phone call",
        "President Joe Biden spoke by phone with Israeli Prime Minister Benjamin Netanyahu on Sunday "
        "and the two leaders agreed that aid would keep flowing into Gaza, the White House said. "
        "Biden welcomed the release of two American hostages held by Hamas and said Washington would "
        "continue to support Israel's right to defend itself. The leaders also discussed efforts to "
        "stop the conflict from spreading in the region.",
    ),
]


def labelled_articles(seeds_dir: Path, *, seed_dates: bool) -> list[tuple[Article, str]]:
    """The set in publication order. ``seed_dates=False`` keeps the seeds as parsed: 000-003
    have no ``published_at`` (their ``fetched_at`` is now), as in a real replay."""
    seeds = list(iter_seed_articles(seeds_dir))
    labelled: list[tuple[Article, str]] = []
    for article, story, when in zip(seeds, SEED_STORIES, SEED_DATES, strict=True):
        if seed_dates:
            article = article.model_copy(update={"published_at": when})
        labelled.append((article, story))
    for story, when, title, body in WRITTEN:
        article = Article.create(title=title, body=body, producer="test", published_at=when)
        labelled.append((article, story))
    return sorted(labelled, key=lambda pair: event_time(pair[0]))


def pairwise(predicted: list[str], gold: list[str]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of a clustering, and the true and predicted pair counts."""
    n = len(gold)
    true_pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if gold[i] == gold[j]}
    pred_pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if predicted[i] == predicted[j]}
    hits = len(true_pairs & pred_pairs)
    precision = hits / len(pred_pairs) if pred_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    return precision, recall, len(true_pairs), len(pred_pairs)
