"""How well the language detector does on short texts (headlines) and long ones (paragraphs).

The labelled sample is ``tests/data/languages.jsonl``: headlines of about ten words and
paragraphs of about eighty, written for the purpose in ten languages (en, fr, de, es, it, pt, nl,
ru, ar, zh), one JSON object a line with ``lang``, ``kind`` (short or long) and ``text``. A
headline is read as a title alone, a paragraph as a body alone, as the worker would read an
article that has only one of them::

    python -m wirehose.bench.languages [PATH] [--sweep] [--json]

An answer is *right*, *und* (the detector declined) or *wrong* (a confident wrong language:
the costly kind, since it routes the article away from English NER or into the wrong analyzer).
``--sweep`` is how the thresholds in ``processors.language.detector`` were chosen: every text is
cut to its first 1 to 20 words (Chinese: 2 to 30 characters) and, for each confidence threshold,
it counts the answers accepted and the wrong ones among them, and accuracy by letters read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from processors.language.detector import (
    MIN_CONFIDENCE,
    MIN_LETTER_BYTES,
    UNDETERMINED,
    LanguageDetector,
    letter_bytes,
)

DEFAULT_SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "languages.jsonl"
PREFIX_WORDS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
PREFIX_CHARS = (2, 3, 4, 6, 8, 10, 12, 16, 20, 30)  # for scripts written without spaces
UNSPACED = frozenset({"zh", "ja"})
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
LETTER_BUCKETS = ((0, 6), (6, 12), (12, 20), (20, 30), (30, 50), (50, 10**9))


@dataclass(frozen=True)
class Sample:
    lang: str
    kind: str  # short or long
    text: str


@dataclass
class KindScore:
    """Answers for one kind of text: right, declined (und) and confidently wrong."""

    total: int = 0
    right: int = 0
    undetermined: int = 0
    wrong: int = 0
    mistakes: list[str] = field(default_factory=list)  # "expected->answer (confidence): text"
    ms_per_text: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def load_samples(path: Path) -> list[Sample]:
    if not path.is_file():
        raise FileNotFoundError(f"no labelled sample at {path}: pass the path of languages.jsonl")
    with path.open(encoding="utf-8") as lines:
        return [Sample(**json.loads(line)) for line in lines if line.strip()]


def _detect(detector: LanguageDetector, sample: Sample) -> tuple[str, float]:
    if sample.kind == "short":
        found = detector.detect(sample.text, "")
    else:
        found = detector.detect("", sample.text)
    return found.code, found.confidence


def score(detector: LanguageDetector, samples: Sequence[Sample]) -> dict[str, KindScore]:
    """Right, undetermined and wrong answers per kind (short, long)."""
    scores: dict[str, KindScore] = {}
    for kind in sorted({s.kind for s in samples}, reverse=True):
        result = KindScore()
        chosen = [s for s in samples if s.kind == kind]
        started = time.perf_counter()
        answers = [_detect(detector, s) for s in chosen]
        result.ms_per_text = (time.perf_counter() - started) * 1000 / max(1, len(chosen))
        for sample, (code, confidence) in zip(chosen, answers, strict=True):
            result.total += 1
            if code == sample.lang:
                result.right += 1
                continue
            if code == UNDETERMINED:
                result.undetermined += 1
            else:
                result.wrong += 1
            result.mistakes.append(f"{sample.lang}->{code} ({confidence:.2f}): {sample.text[:60]}")
        scores[kind] = result
    return scores


def prefixes(sample: Sample) -> list[str]:
    """The sample's text cut to its first few words (characters, in unspaced scripts)."""
    if sample.lang in UNSPACED:
        chars = sample.text.replace(" ", "")
        return [chars[:n] for n in PREFIX_CHARS]
    words = sample.text.split()
    return [" ".join(words[:n]) for n in PREFIX_WORDS]


def sweep(samples: Sequence[Sample]) -> dict[str, Any]:
    """Best guesses on prefixes of every sample, without thresholds: what each would accept."""
    bare = LanguageDetector(min_confidence=0.0, min_letter_bytes=0)
    guesses: list[tuple[bool, float, int]] = []  # right, confidence, letter bytes
    for sample in samples:
        for text in prefixes(sample):
            found = bare.detect(text, "")
            guesses.append((found.code == sample.lang, found.confidence, letter_bytes(text, 10**9)))
    by_threshold = []
    for threshold in THRESHOLDS:
        accepted = [g for g in guesses if g[1] >= threshold]
        by_threshold.append(
            {
                "threshold": threshold,
                "accepted": len(accepted),
                "wrong_accepted": sum(not right for right, _, _ in accepted),
            }
        )
    by_letters = []
    for low, high in LETTER_BUCKETS:
        bucket = [g for g in guesses if low <= g[2] < high]
        if bucket:
            by_letters.append(
                {
                    "letter_bytes": f"{low}-{high - 1}" if high < 10**9 else f"{low}+",
                    "texts": len(bucket),
                    "accuracy": round(sum(right for right, _, _ in bucket) / len(bucket), 3),
                }
            )
    return {"texts": len(guesses), "by_threshold": by_threshold, "by_letter_bytes": by_letters}


def report(samples: Sequence[Sample], *, with_sweep: bool) -> dict[str, Any]:
    detector = LanguageDetector()
    languages = Counter(s.lang for s in samples)
    out: dict[str, Any] = {
        "languages": dict(sorted(languages.items())),
        "min_confidence": MIN_CONFIDENCE,
        "min_letter_bytes": MIN_LETTER_BYTES,
        "kinds": {
            kind: {**asdict(result), "accuracy": round(result.accuracy, 3)}
            for kind, result in score(detector, samples).items()
        },
    }
    if with_sweep:
        out["sweep"] = sweep(samples)
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"languages: {', '.join(result['languages'])}; threshold {result['min_confidence']}, "
        f"at least {result['min_letter_bytes']} bytes of letters",
        "",
        "| texts | n | right | und | wrong | accuracy | ms per text |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in result["kinds"].items():
        lines.append(
            f"| {kind} | {row['total']} | {row['right']} | {row['undetermined']} | "
            f"{row['wrong']} | {row['accuracy']:.1%} | {row['ms_per_text']:.2f} |"
        )
    for kind, row in result["kinds"].items():
        lines.extend(f"- {kind}: {mistake}" for mistake in row["mistakes"])
    if "sweep" in result:
        swept = result["sweep"]
        lines += ["", f"prefixes: {swept['texts']}", "", "| threshold | accepted | wrong |"]
        lines.append("| ---: | ---: | ---: |")
        lines += [
            f"| {r['threshold']} | {r['accepted']} | {r['wrong_accepted']} |"
            for r in swept["by_threshold"]
        ]
        lines += ["", "| letter bytes | texts | accuracy (no threshold) |", "| --- | ---: | ---: |"]
        lines += [
            f"| {r['letter_bytes']} | {r['texts']} | {r['accuracy']:.0%} |"
            for r in swept["by_letter_bytes"]
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--sweep", action="store_true", help="also sweep thresholds on prefixes")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args(argv)
    result = report(load_samples(args.path), with_sweep=args.sweep)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
