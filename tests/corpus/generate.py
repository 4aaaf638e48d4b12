"""Generate the labelled wire-copy corpus: originals plus syndicated variants of each.

    .venv/bin/python tests/corpus/generate.py           # rewrite tests/corpus/wirecopy.jsonl
    .venv/bin/python tests/corpus/generate.py --check   # exit 1 if the file is not up to date

Originals are the five seeds (000-003 are different outlets' own write-ups of one phone call,
NOT copies of each other; 004 is a later call) and the unrelated stories in ``originals.py``.
Each original gets variants at named strengths (``TIERS``): what outlets really do to agency
copy - a new headline, a dateline, house quote style, header and footer debris, a trimmed or
added paragraph, word and sentence edits, or only the first half. A variant's ``cluster`` is its
original's; originals and variants are published in that order, variants minutes to hours later.
Everything is seeded, so the file is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from originals import ADDED_PARAGRAPHS, HANDWRITTEN, templated

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "seeds"
OUT = HERE / "wirecopy.jsonl"
SEED = 4

OUTLETS = ["Daily Ledger", "Metro Wire", "Coastal Times", "Global Post", "Evening Star",
           "Capital Report", "Northern Echo Online", "The Sentinel"]  # fmt: skip
DATELINES = ["JERUSALEM (Reuters) - ", "MOSCOW, Oct 16 (Reuters) - ", "WASHINGTON (AP) — ",
             "(Reuters) - ", "LONDON (AFP) – ", "JERUSALEM — ", "(CNN) — "]  # fmt: skip
HEADERS = ["World", "Middle East", "Business", "Facebook Twitter WhatsApp Email",
           "Pinterest LinkedIn Tumblr", "By Jane Porter", "Mon 16 Oct 2023 6:45 pm - Jerusalem Time",
           "Advertisement"]  # fmt: skip
FOOTERS = ["This post appeared first on {outlet}", "Copyright 2023, {outlet}. All rights reserved.",
           "Reuters contributed to this report.", "(Reporting by Dan Williams; Editing by Mark Heinrich)",
           "Read more: {title}", "Share your opinion", "The {outlet} Staff is a team of journalists in Israel."]  # fmt: skip
SYNONYMS = {"said": "stated", "told": "informed", "after": "following", "about": "around",
            "more": "over", "also": "additionally", "but": "however", "began": "started",
            "killed": "slain", "called": "phoned", "would": "will", "people": "residents",
            "company": "firm", "expected": "forecast", "including": "among them"}  # fmt: skip
FILLERS = ["reportedly", "also", "now", "further", "still", "then"]


def paragraphs(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


def seed_story(text: str) -> tuple[str, str]:
    """(title, body) of a pasted seed: the first headline-shaped line after section labels is
    the title; a seed that opens with prose gets its first words as title. The body keeps the
    rest, debris included, as a feed extractor would hand it over."""
    paras = paragraphs(text)
    start = next(
        i for i, p in enumerate(paras) if len(p.split()) > 3 and not re.search(r"\d:\d\d", p)
    )
    if paras[start].endswith((".", '"', "”")):
        return " ".join(paras[start].split()[:14]), "\n".join(paras)
    return paras[start], "\n".join(paras[:start] + paras[start + 1 :])


def retitle(title: str, rng: random.Random) -> str:
    words = title.split()
    cut = words[: max(4, len(words) - rng.randint(0, 4))]
    return rng.choice(["", "WATCH: ", "UPDATE 1-", "Breaking: "]) + " ".join(cut)


def house_style(text: str, rng: random.Random) -> str:
    """Swap quote and dash styles and whitespace the way different CMSs do."""
    if rng.random() < 0.5:
        text = re.sub(r"[“”]", '"', text).replace("’", "'").replace("‘", "'")
    else:
        text = re.sub(r'"(\w)', r"“\1", text).replace('"', "”").replace("'", "’")
    text = text.replace(" — ", " -- ") if rng.random() < 0.5 else text.replace(" - ", " – ")
    return re.sub(r" (?=\w)", lambda m: "  " if rng.random() < 0.03 else " ", text)


def edit_words(paras: list[str], rate: float, rng: random.Random) -> list[str]:
    """Scattered copy-desk edits: synonyms, dropped and inserted words at ``rate`` per word."""
    out = []
    for para in paras:
        words = para.split(" ")
        for i, word in enumerate(words):
            if not word.isalpha() or rng.random() >= rate:
                continue
            op = rng.random()
            if word.lower() in SYNONYMS and op < 0.6:
                words[i] = SYNONYMS[word.lower()]
            elif op < 0.8:
                words[i] = ""
            else:
                words[i] = f"{word} {rng.choice(FILLERS)}"
        out.append(" ".join(w for w in words if w))
    return out


def rewrite_sentences(paras: list[str], count: int, rng: random.Random) -> list[str]:
    """Rewrite ``count`` whole sentences (a localised edit): every shingle in them changes."""
    paras = list(paras)
    for _ in range(count):
        i = rng.randrange(len(paras))
        sentences = re.split(r"(?<=[.!?”\"]) ", paras[i])
        j = rng.randrange(len(sentences))
        words = sentences[j].split()
        rng.shuffle(words)
        sentences[j] = " ".join(edit_words([" ".join(words)], 0.3, rng))
        paras[i] = " ".join(sentences)
    return paras


def trim(paras: list[str], rng: random.Random) -> list[str]:
    drop = max(1, len(paras) // 8)
    return paras[:-drop] if len(paras) > 3 else paras


def add(paras: list[str], rng: random.Random) -> list[str]:
    at = rng.randint(1, len(paras))
    return [*paras[:at], rng.choice(ADDED_PARAGRAPHS), *paras[at:]]


def first_half(paras: list[str], rng: random.Random) -> list[str]:
    return paras[: max(1, (len(paras) + 1) // 2)]


def lead_third(paras: list[str], rng: random.Random) -> list[str]:
    """Only the top of the story: Jaccard ~0.3 with the original, the edge of the LSH curve."""
    return paras[: max(1, round(len(paras) * 0.36))]


def wrap(paras: list[str], title: str, outlet: str, rng: random.Random) -> list[str]:
    """Header debris above and trailer debris below the story."""
    head = rng.sample(HEADERS, rng.randint(1, 3))
    foot = [f.format(outlet=outlet, title=title) for f in rng.sample(FOOTERS, rng.randint(1, 3))]
    return [*head, title, *paras, *foot]


Step = Callable[[list[str], random.Random], list[str]]
# tier -> (uses boilerplate, steps). Ordered from gentlest to harshest.
TIERS: dict[str, tuple[bool, tuple[Step, ...]]] = {
    "exact": (False, ()),
    "typography": (False, ()),
    "boilerplate": (True, ()),
    "trimmed": (True, (trim,)),
    "added": (True, (add,)),
    "edits-1pct": (True, (lambda p, r: edit_words(p, 0.01, r),)),
    "edits-2pct-sentence": (True, (lambda p, r: edit_words(p, 0.02, r), lambda p, r: rewrite_sentences(p, 1, r))),
    "first-half": (True, (first_half,)),
    "first-half-edits": (True, (first_half, lambda p, r: edit_words(p, 0.01, r))),
    "lead-third": (True, (lead_third,)),
    "trim-add-edits": (True, (trim, add, lambda p, r: edit_words(p, 0.02, r))),
    "heavy": (True, (trim, add, lambda p, r: edit_words(p, 0.04, r), lambda p, r: rewrite_sentences(p, 2, r))),
}  # fmt: skip
TEMPLATE_TIERS = ("typography", "boilerplate", "edits-1pct", "first-half", "trim-add-edits")


def variant(original: dict[str, str], tier: str, rng: random.Random) -> tuple[str, str]:
    """(title, body) of one syndicated copy of ``original`` at strength ``tier``."""
    if tier == "exact":
        return original["title"], original["body"]
    boilerplate, steps = TIERS[tier]
    paras = paragraphs(original["body"])
    for step in steps:
        paras = step(paras, rng)
    if rng.random() < 0.7:
        paras[0] = rng.choice(DATELINES) + paras[0]
    title = retitle(original["title"], rng)
    if boilerplate:
        paras = wrap(paras, title, rng.choice(OUTLETS), rng)
    separator = "\n\n" if rng.random() < 0.5 else "\n"
    return title, house_style(separator.join(paras), rng)


def build_corpus(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    base = datetime(2023, 10, 16, 15, 0, tzinfo=UTC)
    originals: list[tuple[str, dict[str, str], datetime, tuple[str, ...]]] = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, body = seed_story(path.read_text(encoding="utf-8"))
        when = (
            base + timedelta(minutes=40 * i)
            if i < 4
            else datetime(2023, 12, 10, 14, 15, tzinfo=UTC)
        )
        originals.append(
            (f"seed{path.name[:3]}", {"title": title, "body": body}, when, tuple(TIERS))
        )
    stories = {**HANDWRITTEN, **templated(rng)}
    for i, (name, (title, body)) in enumerate(stories.items()):
        tiers = tuple(TIERS) if name in HANDWRITTEN else TEMPLATE_TIERS
        when = base + timedelta(days=1 + i % 20, hours=i % 7)
        originals.append((name, {"title": title, "body": body}, when, tiers))

    docs: list[dict[str, object]] = []
    for cluster, original, when, tiers in originals:
        docs.append(_doc(cluster, "original", cluster, original["title"], original["body"], when))
        for n, tier in enumerate(tiers):
            title, body = variant(original, tier, rng)
            later = when + timedelta(minutes=rng.randint(5, 36 * 60))
            docs.append(_doc(f"{cluster}-v{n:02d}", tier, cluster, title, body, later))
    docs.sort(key=lambda d: (str(d["published_at"]), str(d["doc_id"])))
    return docs


def _doc(
    doc_id: str, tier: str, cluster: str, title: str, body: str, when: datetime
) -> dict[str, object]:
    return {
        "doc_id": doc_id,
        "cluster": cluster,
        "tier": tier,
        "title": title,
        "body": body,
        "url": f"https://corpus.invalid/{doc_id}",
        "published_at": when.isoformat(),
    }


def render(docs: list[dict[str, object]]) -> str:
    return "".join(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n" for doc in docs)


def main(argv: list[str]) -> int:
    text = render(build_corpus())
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} docs={text.count(chr(10))} bytes={len(text.encode())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
