"""Recurring scheduled reports: the same templates every weekday, with new figures.

Wire services file some reports on a schedule: the central bank's money-market operations (a
shortage forecast in the morning, the help it gave at midday and in the afternoon), the
official currency fixing. Each edition reads like the last but reports another day; each is
its own story. Four series, four weeks of weekdays, every edition signed off "REUTER" like an
old wire story. Generated and seeded here (no real reports): ``story`` labels an edition by its
series and day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wirehose.core.article import Article

START = datetime(1987, 3, 2, tzinfo=UTC)  # a Monday
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class Report:
    article: Article
    series: str
    story: str  # series and day: one edition


def _rate(rng: random.Random) -> str:
    return rng.choice(["10-7/8", "10-13/16", "10-3/4", "9-7/8"])


def _marks(rng: random.Random) -> str:
    return f"{rng.uniform(1.7, 1.9):.4f}"


def reports(weekdays: int = 20, *, seed: int = 11) -> list[Report]:
    """Every edition of four daily series over ``weekdays`` weekdays, in publishing order."""
    rng = random.Random(seed)
    out: list[Report] = []
    day, done = START, 0
    while done < weekdays:
        if day.weekday() < 5:
            done += 1
            out.extend(_editions(day, rng))
        day += timedelta(days=1)
    return sorted(out, key=lambda r: (r.article.published_at or START, r.article.article_id))


def _editions(day: datetime, rng: random.Random) -> list[Report]:
    date = f"{_MONTHS[day.month - 1]} {day.day}"
    shortage = rng.randrange(200, 1500, 50)
    morning = rng.randrange(50, 700, 5)
    afternoon = rng.randrange(50, 500, 5)
    texts = {
        "forecast": (
            9,
            f"U.K. money market shortage forecast at {shortage} mln stg",
            f"LONDON, {date} - The Bank of England said it forecast a shortage of around "
            f"{shortage} mln stg in the money market today.\n"
            "Among the main factors affecting liquidity, bills maturing in official hands and "
            f"the treasury bill take-up will drain some {rng.randrange(100, 900)} mln stg, while "
            f"below target bankers' balances will take out around {rng.randrange(10, 200)} mln "
            "stg.\nPartly offsetting these, a fall in the note circulation will add "
            f"{rng.randrange(50, 400)} mln stg and exchequer transactions some "
            f"{rng.randrange(10, 300)} mln stg.\n REUTER",
        ),
        "fixing": (
            11,
            f"Dollar fixed at {_marks(rng)} marks in Frankfurt",
            f"FRANKFURT, {date} - The dollar was fixed at {_marks(rng)} marks at the official "
            f"fixing in Frankfurt, against {_marks(rng)} yesterday.\n"
            "The Bundesbank did not intervene as the dollar was fixed, dealers said. Trading was "
            f"quiet ahead of the fixing, with the dollar moving in a narrow range of "
            f"{_marks(rng)} to {_marks(rng)} marks.\n"
            f"The pound was fixed at {rng.uniform(2.6, 2.9):.3f} marks after "
            f"{rng.uniform(2.6, 2.9):.3f}.\n REUTER",
        ),
        "help": (
            12,
            f"U.K. money market given {morning} mln stg assistance",
            f"LONDON, {date} - The Bank of England said it had provided the money market with "
            f"{morning} mln stg assistance in the morning session.\n"
            "This compares with the bank's forecast of a shortage in the system of around "
            f"{shortage} mln stg today.\n"
            f"The central bank bought bills outright comprising {rng.randrange(10, 300)} mln stg "
            f"of treasury bills and {rng.randrange(10, 300)} mln stg of bank bills in band two "
            f"at {_rate(rng)} pct.\n REUTER",
        ),
        "further help": (
            15,
            f"U.K. money market given further {afternoon} mln stg help",
            f"LONDON, {date} - The Bank of England said it had given the money market a further "
            f"{afternoon} mln stg assistance in the afternoon session.\n"
            f"This brings the bank's total help so far today to {morning + afternoon} mln stg "
            f"and compares with its revised estimate of a {shortage} mln stg shortage.\n"
            "The central bank made outright purchases of bank bills in band one at "
            f"{_rate(rng)} pct.\n REUTER",
        ),
    }
    editions = []
    for series, (hour, title, body) in texts.items():
        when = day.replace(hour=hour, minute=rng.randrange(0, 50))
        article = Article.create(
            title=title,
            body=body,
            producer="test",
            publisher="Reuters",
            published_at=when,
            url=f"https://wire.invalid/{series.replace(' ', '-')}/{when:%Y%m%d}",
        )
        editions.append(Report(article, series, f"{series} {when:%Y-%m-%d}"))
    return editions
