"""No input takes more than linear time: every regular expression, and the parsers around them.

How it is measured, without a clock. Each check builds an attack input of size n and of size
8n from one pattern (``prefix + pump * n + suffix``), counts the work each takes, and asserts
the count grew at most ``LINEAR`` (10) times. Linear work ``a + b*n`` grows at most 8 times;
quadratic work grows towards 64 times, cubic towards 512, so one doubling of the margin is
enough to tell them apart while bounded repeats (``{1,60}``) settle. The counts are
deterministic (tests/costs.py):

- For a regular expression: the steps of a backtracking machine built from the pattern's own
  parse tree, which tries alternatives in the order Python's ``re`` does. That is where
  catastrophic backtracking hides (nested quantifiers, ``\\s*...\\s*`` around optional parts,
  ``.+?`` before a run of the same characters), and it is invisible to any count taken from
  Python code because ``re`` runs in C. Every count is taken after checking the machine
  matched exactly what ``re`` matches on that input.
- For a whole function (the pasted-text parser, the dedup text, HTML to text, the feed and
  JSON readers): the lines of Python it executes, plus the machine's steps for every call of
  a pattern in the modules it uses.

Every pattern in the audited modules must have an entry in ``PATTERNS`` (the AST of those
modules is read to make sure); ``test_the_old_patterns_are_caught`` shows, on the patterns
this replaced, that the measure does fail super-linear work.
"""

from __future__ import annotations

import _markupbase
import ast
import contextlib
import html
import html.parser
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from processors.dedup import text as dedup_text
from producers import extract, feeds, jsonl, seeds
from sinks import search
from tests.costs import WorkMeter, check_against_re, growth, pumped
from wirehose.core import article, text, textrules

ROOT = Path(__file__).resolve().parents[2]
AUDITED = [
    *sorted((ROOT / "producers").rglob("*.py")),
    *(ROOT / name for name in ("wirehose/core/textrules.py", "wirehose/core/text.py")),
    *(ROOT / name for name in ("wirehose/core/article.py", "processors/dedup/text.py")),
    ROOT / "sinks/search.py",
]
LINEAR = 10


@dataclass(frozen=True)
class Attack:
    """``prefix + pump * n + suffix``; the suffix makes the match fail late, where it hurts."""

    prefix: str
    pump: str
    suffix: str = "\x00"
    n: int = 64  # past every bounded repeat the patterns have ({1,60}, {8,40})

    def at(self, n: int) -> str:
        return pumped(self.prefix, self.pump, self.suffix, n)


@dataclass(frozen=True)
class Audited:
    """One pattern of the audited modules: how the code calls it, and the inputs that pump
    every part of it that could be matched in more than one way."""

    pattern: re.Pattern[str]
    method: str
    attacks: tuple[Attack, ...]


def _a(*specs: tuple[Any, ...]) -> tuple[Attack, ...]:
    return tuple(Attack(*spec) for spec in specs)


PATTERNS: dict[str, Audited] = {
    entry.pattern.pattern: entry
    for entry in (
        # producers/extract.py
        Audited(extract._SPACES, "finditer", _a(("", " "), ("", " x"), ("a", "\t\u00a0", "b"))),
        Audited(
            extract._MARKUP,
            "match",
            _a(
                ("<a", "<a", ""), ("<a", "<a"), ("<!--", "<!--", ""), ("<!--", "a>", ""),
                ("<!--", "-", ""), ("<!--", "--!", ""), ("<a b", '="', ""), ("<a b", "='", ""),
                ("<a b=", " ", ""), ("<a ", '"', ">"), ("<a", " =", ""), ("</", "</", ""),
                ("</a", " ", ""), ("<![", "<![", ""), ("<?", "<?", ""), ("<!", "-", ""),
                ("<a b='", "x", ""), ('<a b="', ">", ""),
            ),
        ),
        Audited(extract._RAW_TEXT_END["script"], "search", _a(("", "</ "), ("", "</script "))),
        Audited(extract._RAW_TEXT_END["style"], "search", _a(("", "</  style"), ("", "<"))),
        # wirehose/core/textrules.py
        Audited(
            textrules._SENTENCE_END,
            "search",
            _a((".", ")", "x"), ("", ".)", "x"), ("", ".", "x"), ("", ",'")),
        ),
        Audited(
            textrules._DOMAIN,
            "match",
            _a(("a", ".a", "!"), ("a", "-"), ("", "a."), ("a.", "ab", "1"), ("", "a.a-")),
        ),
        Audited(
            textrules._DATELINE,
            "match",
            _a(
                # A place of up to 60 characters can end anywhere in a run of spaces: linear,
                # 60 steps a character, which n = 256 lets the count show.
                ("A", " ", "x", 256), ("A", "A"), ("A, Dec 1", " "), ("(AP)", " "),
                ("A", " ", "(AP) x", 256), ("(", "a", ")"), ("A", ", Dec 1"), ("(AP) -", " "),
            ),
        ),
        Audited(
            textrules._CREDIT,
            "match",
            _a(
                ("a", " ", "b"), ("a", " x"), ("a ", "contributed ", "x"),
                ("a contributed", " "), ("a contributed to", " "), ("", "a ", "contributed to"),
                ("Reuters", " and AP", " contributed to this report!"),
            ),
        ),
        Audited(
            textrules._APPEARED_FIRST,
            "match",
            _a(("This post appeared first on ", "a", ".x"), ("This post appeared first on ", ". ")),
        ),
        Audited(
            textrules._COPYRIGHT,
            "match",
            _a(
                ("© x", " ", "y"), ("copyright", " "), ("© 2024", " ", "x"), ("© x", ". "),
                ("© x", " ."), ("(c) 2020 - 2024 ,", " "), ("© x", " all rights reserved"),
                ("© x", " ,"), ("copyright ©", " "), ("©", " 2024"), ("© 2024", " -"),
            ),
        ),
        Audited(
            textrules._STAFF_BIO,
            "match",
            _a(("The A", " "), ("The A", "a", " Staff is a team of x"), ("A Staff is a team of", " ")),
        ),
        Audited(
            textrules._BYLINE,
            "match",
            _a(("By A", " A", "!"), ("By", " ", "A!"), ("By A", ","), ("By A", " and"), ("By A", "a")),
        ),
        Audited(
            textrules._DATE_HEADER,
            "match",
            _a(
                # The zone, up to 40 characters, can end anywhere in a run of spaces (as above).
                ("10 Dec 2023 4:15", " "), ("10 Dec 2023 4:15 GMT", " ", "\x00", 256),
                ("10 Dec 2023 4:15", " |"),
                ("1:11", ":11", " GMT x"), ("10 Dec 2023 4:15 ", "a", "1"),
                ("10 Dec 2023 4:15", " p"), ("10 Dec 2023 4:15 New", " York", "!"),
                ("10 Dec 2023 4:15 GMT", " time"), ("10 Dec 2023 4:15 - ", " "),
            ),
        ),
        Audited(re.compile(r"[A-Z][A-Za-z&-]{1,24}"), "fullmatch", _a(("A", "a"), ("", "A-"))),
        Audited(re.compile(r"[\s|/·•,]+"), "finditer", _a(("a", " |", "b"), ("", "|"))),
        Audited(re.compile(r",|\band\b|&"), "finditer", _a(("", "and"), ("", "a "), ("", ", "))),
        Audited(
            re.compile(r"\b([ap])\.m\.?", re.IGNORECASE),
            "finditer",
            _a(("", "a."), ("", "p.m"), ("", "a.m.")),
        ),
        Audited(re.compile(r"[\s,]+"), "finditer", _a(("", " ,", "x"), ("x", ",", ""))),
        # wirehose/core/text.py
        Audited(text._SPACE, "finditer", _a(("", " ", "x"), ("", " x"))),
        Audited(text._SURROGATE, "search", _a(("", "a"), ("", "\ufffd"))),
        # wirehose/core/article.py (article_id's pattern runs in pydantic-core's Rust engine,
        # which is linear by construction; it is checked here as re reads it all the same)
        Audited(article._TRACKING_PARAMS, "match", _a(("utm_", "a", "!"), ("", "ref"))),
        Audited(re.compile(r"^[0-9a-f]+$"), "match", _a(("", "a", "g"), ("", "0"))),
        # processors/dedup/text.py
        Audited(
            dedup_text._DOUBLE_HYPHEN,
            "finditer",
            _a(("", " ", "x"), ("", " -", "x"), ("", "--", " "), ("a", " ", "-x"), ("", " \n", "-")),
        ),
        Audited(dedup_text._WORD, "finditer", _a(("", "a.", "_"), ("", "a'"), ("", "a-", "-"))),
        Audited(
            dedup_text._AGENCY_FOOTER,
            "match",
            _a(("(", " "), ("reporting", " "), ("reporting by", "a", "\n"), ("additional", " ")),
        ),
        Audited(
            dedup_text._CALL_TO_ACTION,
            "match",
            _a(("follow", " "), ("follow ", "a", " x"), ("follow a", " ", "on"), ("photo", " "),
               ("read more", "a", "\n"), ("file photo credit", " ")),
        ),
        # sinks/search.py
        Audited(search._RELATIVE, "match", _a(("", "1"), ("", "1", "mx"))),
    )
}  # fmt: skip

CASES = [
    pytest.param(entry, attack, id=f"{entry.pattern.pattern[:30]!r}-{index}")
    for entry in PATTERNS.values()
    for index, attack in enumerate(entry.attacks)
]


@pytest.mark.parametrize(("entry", "attack"), CASES)
def test_every_pattern_is_linear_on_its_attacks(entry: Audited, attack: Attack) -> None:
    def steps(n: int) -> int:
        return check_against_re(entry.pattern, entry.method, attack.at(n))

    assert growth(steps, attack.n) <= LINEAR


def _patterns_in(path: Path) -> set[str]:
    """The source of every pattern a module compiles or passes to ``re``, or to pydantic."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and isinstance(function.value, ast.Name)
            and function.value.id == "re"
            and node.args
        ):
            assert isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}: not a literal"
            found.add(node.args[0].value)
        for keyword in node.keywords:
            if keyword.arg == "pattern":  # pydantic's Field(pattern=...)
                assert isinstance(keyword.value, ast.Constant), f"{path}:{node.lineno}"
                found.add(keyword.value.value)
    return found


def test_every_pattern_of_the_audited_modules_is_in_the_table() -> None:
    in_code = set().union(*(_patterns_in(path) for path in AUDITED))
    assert in_code - set(PATTERNS) == set(), "add the new pattern and its attacks to PATTERNS"
    assert set(PATTERNS) - in_code == set(), "a pattern in PATTERNS is gone from the code"


# --- the patterns this replaced: the measure catches them ----------------------------------
OLD = [
    pytest.param(
        r"^(?P<who>.+?)\s+contributed\s+(?:reporting\s+)?to\s+(?:this|the)\s+(?:report|story|article)\.?$",
        "match",
        Attack("a", " ", "b", 32),
        id="credit",
    ),
    pytest.param(
        r"\s*(?:,|\band\b|&)\s*", "finditer", Attack("a", " ", "b", 32), id="credit-split"
    ),
    pytest.param(
        r"^(?:(?:copyright|\(c\))\s*©?\s*(?=\d{4})|©\s*)(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*,?\s*)?"
        r"(?P<pub>.+?)\s*(?:[.,]?\s*all rights reserved)?\.?$",
        "match",
        Attack("© x", " ", "y", 8),
        id="copyright",
    ),
    pytest.param(
        r"^(?P<when>[\w ,:./-]{8,40}?\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)"
        r"(?:\s*[-–—|]?\s*(?P<zone>[A-Za-z][A-Za-z _/]{1,40}?)(?:\s+time)?)?$",
        "match",
        Attack("10 Dec 2023 4:15", " ", "x", 32),
        id="date-header",
    ),
    pytest.param(r"\s*--+\s*", "finditer", Attack("", " ", "x", 32), id="double-hyphen"),
]


@pytest.mark.parametrize(("source", "method", "attack"), OLD)
def test_the_old_patterns_are_caught(source: str, method: str, attack: Attack) -> None:
    pattern = re.compile(source, re.IGNORECASE)

    def steps(n: int) -> int:
        return check_against_re(pattern, method, attack.at(n))

    assert growth(steps, attack.n) > 4 * LINEAR


# --- whole functions -------------------------------------------------------------------------
# The patterns counted in whole functions: those of the modules under test, html.unescape's,
# and those of the stdlib HTMLParser, whose scans over unclosed markup made html_to_text
# quadratic until it was replaced (watched so that going back to it would fail these tests).
WATCHED = (textrules, text, article, extract, feeds, jsonl, seeds, dedup_text)
WATCHED += (html, html.parser, _markupbase)
BODY = "The story itself, told in a sentence that ends."


def lines(line: str, n: int, *, before: str = "", after: str = "") -> str:
    return before + "\n".join([line] * n) + after


def _pasted(n: int, shape: str) -> str:
    return {
        "bylines": lines("By Jane Doe", n, after=f"\nHeadline\n{BODY}"),
        "dates": "\n".join(f"Sun 10 Dec 2023 4:15 pm - Zone{i} Time" for i in range(n))
        + f"\nHeadline\n{BODY}",
        "sections": lines("Politics", n, after=f"\nHeadline\n{BODY}"),
        "share-buttons": lines("Pinterest LinkedIn Tumblr", n, after=f"\n{BODY}"),
        "credits": lines("Reuters contributed to this report.", n, before=f"Headline\n{BODY}\n"),
        "copyrights": lines("© 2024 Site. All rights reserved.", n, before=f"{BODY}\n"),
        "headline-repeats": lines("Headline", n, before=f"Headline\n{BODY}\n"),
        "datelines": lines("JERUSALEM (AP) — ", n, before="Headline\n"),
        "one-long-copyright": f"{BODY}\n© x" + " " * n + "y",
        "one-long-credit": f"{BODY}\nJane" + " " * n + "x contributed to this report.",
        "one-long-date": "10 Dec 2023 4:15" + " " * n + f"x\nHeadline\n{BODY}",
        "punctuation": "." * n + "\n" + "-" * n + "\n" + "“" * n,
        "blank-lines": "\n" * n + BODY + " \t" * n,
        "double-hyphens": BODY + " -- " * n + " " * n + "x",
    }[shape]


PASTED_SHAPES = [
    "bylines", "dates", "sections", "share-buttons", "credits", "copyrights", "headline-repeats",
    "datelines", "one-long-copyright", "one-long-credit", "one-long-date", "punctuation",
    "blank-lines", "double-hyphens",
]  # fmt: skip


def assert_linear(function: Callable[[int], object], n: int) -> None:
    meter = WorkMeter(WATCHED)
    meter.measure(lambda: function(n))  # warm caches (the zone index): neither run pays for them

    def work(size: int) -> int:
        return meter.measure(lambda: function(size))

    assert growth(work, n) <= LINEAR


@pytest.mark.parametrize("shape", PASTED_SHAPES)
def test_pasted_text_is_parsed_in_linear_time(shape: str) -> None:
    assert_linear(lambda n: seeds.parse_article_text(_pasted(n, shape)), 12)


@pytest.mark.parametrize("shape", PASTED_SHAPES)
def test_dedup_text_is_linear(shape: str) -> None:
    assert_linear(lambda n: dedup_text.shingle_hashes(_pasted(n, shape)), 12)


@pytest.mark.parametrize("shape", PASTED_SHAPES)
def test_feed_bodies_are_tidied_in_linear_time(shape: str) -> None:
    assert_linear(lambda n: extract.tidy_body(_pasted(n, shape).replace("\n", "\n\n")), 12)


HTML_PUMPS = [
    "<!--", "<a", "</", "<![", "<!--a>", "<p>", '<a b="', "<a b='", "&amp;", "<", "<!", "<?",
    "<script>", "</script", "<a =b>", "<![CDATA[x>", "<p>text</p>", "<br/>", "<svg>",
]  # fmt: skip


@pytest.mark.parametrize("pump", HTML_PUMPS)
def test_html_to_text_is_linear(pump: str) -> None:
    # The stdlib HTMLParser this replaced rescanned the rest of the input from every "<" of
    # "<!--" * n, "<a" * n or "</" * n, and raised AssertionError on "<![" * n.
    assert_linear(lambda n: extract.html_to_text(f"<p>{BODY}</p>" + pump * n), 16)


def _feed(n: int, shape: str) -> bytes:
    item = f"<item><title>t</title><description>{BODY}</description></item>"
    return {
        "items": "<rss version='2.0'><channel>" + item * n + "</channel></rss>",
        "nesting": f"<rss version='2.0'><channel><item><description>{'<a>' * n}x{'</a>' * n}"
        "</description></item></channel></rss>",
        "escaped-markup": "<rss version='2.0'><channel><item><description>"
        + "&lt;!--a&gt;" * n
        + "</description></item></channel></rss>",
    }[shape].encode()


@pytest.mark.parametrize("shape", ["items", "nesting", "escaped-markup"])
def test_feeds_are_read_in_linear_time(shape: str) -> None:
    def read(n: int) -> None:
        feed = feeds.parse_feed(_feed(n, shape), url="https://feeds.example/rss")
        for entry in feed.entries:
            feeds.entry_to_article(entry, feed)

    assert_linear(read, 8)


def _json_line(n: int, shape: str) -> str:
    return {
        "wide": json.dumps({"body": BODY, "agencies": ["AP"] * n}),
        "deep": '{"body": "x", "raw": ' + "[" * n + "]" * n + "}",
        "escapes": json.dumps({"body": "\u00e9\U0001f600" * n}),
        "text": json.dumps({"text": _pasted(n, "bylines")}),
        "article": json.dumps(
            {
                **json.loads(article.Article.create(title="T", body=BODY, producer="p").to_bytes()),
                "title": "x" * n,
            }
        ),
    }[shape]


@pytest.mark.parametrize("shape", ["wide", "deep", "escapes", "text", "article"])
def test_json_is_read_in_linear_time(shape: str) -> None:
    def read(n: int) -> None:
        line = _json_line(n, shape)
        with contextlib.suppress(article.InvalidArticle):
            article.Article.from_bytes(line.encode())
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "in.jsonl"
            path.write_text((line + "\n") * 3, encoding="utf-8")
            list(jsonl.iter_jsonl_articles(path))

    assert_linear(read, 16)
