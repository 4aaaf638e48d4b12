"""Canonical entity forms, so that one person or place facets as one value.

"Netanyahu", "Benjamin Netanyahu", "Pm Netanyahu" and "Prime Minister Benjamin Netanyahu" are
one person; "the Gaza Strip" and "Gaza Strip" one place; "Hamas’s" is "Hamas". Everything here
is a pure function of the mentions of ONE article (plus an optional cross-article alias map), so
it is unit-tested without a model and gives the same answer on every replay.

Rules, in order (each one fixes a mistake seen on real news text):

0. Debris dropped, split names joined (when the article's text is given): a name alone on the
   body's last line is a sign-off or a credit ("Reuter" under an old wire story), not an entity
   of the story; a person the model split at a name particle ("Abdel Fattah" + "el-Sisi") is one.
1. Surface cleaning: typography folded (quotes, dashes, zero-width marks: ``wirehose.core.text``),
   possessives dropped, a leading article ("the", and a lower-case "a" or "an") dropped.
2. PERSON titles stripped: "Russian Foreign Minister Sergei Lavrov" -> "Sergei Lavrov".
3. Headline over-reach trimmed: title case makes NER read "Putin Phoned" as a name; a title
   PERSON that starts with a person known from the same article is cut back to that person.
4. Mislabel fix-up: a bare surname of a person named in full in the same article is that
   person ("Lavrov" tagged ORG next to "Sergei Lavrov" -> PERSON); a country name is a GPE.
5. Surname-only mentions take the full name seen in the same article; when the article has
   none, the cross-article :class:`AliasMap` may supply it (see its trade-offs); failing both, a
   lone surname drops its particle ("al-Sisi" and "Sisi" are one).
6. An acronym the article defines ("the European Community (EC)") is the name it stands for.
7. Within one article a canonical value gets one label: the majority of its mentions.

These rules are written for English text: titles, articles, possessives, country names and
aliases are English words. Pipelines for other languages go through
:mod:`processors.entities.neutral`, which applies only the rules that hold in any language.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from processors.entities import rules
from wirehose.core.article import Entity
from wirehose.core.text import collapse_spaces, fold_typography

Field = Literal["title", "body"]

_POSSESSIVE = re.compile(r"(?<=\w)(?:'s|(?<=s)')$", re.IGNORECASE)
# A trailing dot stays: it belongs to "U.S." and "Jr."; NER spans rarely end a sentence.
_EDGE_PUNCT = " \t\n\"'`,;:!?()[]{}<>*-"
_RELABEL_FROM = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT", "NORP"})
_COUNTRY_FROM = frozenset({"PERSON", "ORG", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT"})
_ACRONYM_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "EVENT", "LAW", "NORP", "PRODUCT"})
# "(EC)", "(N.A.T.O.)" right after a name: the acronym it will go by.
_DEFINED = re.compile(r"\s*\(\s*((?:[A-Z]\.?){2,8})\s*\)")


@dataclass(frozen=True)
class Mention:
    """A raw NER span: where it is, what it says, what the model called it."""

    field: Field
    start: int
    end: int
    text: str
    label: str


def fold_name(text: str) -> str:
    """A name's comparison key: typography folded (``wirehose.core.text``), no dots, single
    spaces, case-folded."""
    return collapse_spaces(fold_typography(text).replace(".", "")).casefold()


def clean_surface(text: str, *, keep_possessive: bool = False) -> str:
    """The name without typography, possessive, edge punctuation or a leading article."""
    text = collapse_spaces(fold_typography(text))
    if not keep_possessive:
        text = _POSSESSIVE.sub("", text)
    text = text.strip(_EDGE_PUNCT)
    if text.lower().startswith("the ") and fold_name(text) not in rules.KEEP_THE:
        text = text[4:].lstrip(_EDGE_PUNCT)
    # "a United States Supreme Court", "an ISIS fighter": the model took the article along.
    # Only lower case: a capital "A" may begin a name.
    elif (article := text.split(" ", 1)[0]) in {"a", "an"}:
        text = text[len(article) :].lstrip(_EDGE_PUNCT)
    return text


def strip_titles(name: str) -> str:
    """Drop a leading run of titles, and a nationality before them, from a person's name.

    "Israeli Prime Minister Benjamin Netanyahu" -> "Benjamin Netanyahu". A name made only of
    title words ("Prime Minister") is returned unchanged: nothing would be left to name.
    """
    tokens = name.split()
    last_title = -1
    for i, token in enumerate(tokens[:-1]):
        word = fold_name(token)
        if word in rules.TITLE_WORDS:
            last_title = i
        elif word in rules.TITLE_GLUE or (i == 0 and token[:1].isupper()):
            continue  # glue, or a nationality such as "Russian" in front of the title
        else:
            break
    rest = tokens[last_title + 1 :]
    if last_title < 0 or all(fold_name(t) in rules.TITLE_WORDS for t in rest):
        return name
    return " ".join(rest)


def surname_key(name: str) -> str:
    """The folded last name: suffixes ("Jr.") and particles ("al-") do not count."""
    parts = fold_name(name).split()
    tokens = [t for t in parts if t not in rules.NAME_SUFFIXES] or parts
    last = tokens[-1] if tokens else ""
    for prefix in rules.SURNAME_PREFIXES:
        if last.startswith(prefix) and len(last) > len(prefix):
            return last[len(prefix) :]
    return last


def singular_group(name: str) -> str:
    """ "Israelis" -> "Israeli", "Palestinians" -> "Palestinian": one facet per group.

    Only a final plain "s" goes ("Swiss" and "Chinese" stay); adjective and plural facet as one.
    """
    if len(name) > 3 and name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


class AliasMap:
    """Learned surname -> full-name counts across articles, for articles that use a surname only.

    Rule: a lone surname takes the most frequent full name seen with it, but only with at least
    ``min_count`` articles behind it and a ``min_share`` majority. Trade-offs: it learns, so the
    first articles of a new name facet under the bare surname until the evidence is there; it
    fixes the dominant reading of a surname ("Biden" -> "Joe Biden"), so a lone mention meaning
    another bearer is mis-facetted, which the share threshold keeps to clear-cut cases. The
    state is a plain ``dict`` (``to_dict``/``from_dict``) for a Faust table or a JSON file.
    """

    def __init__(self, min_count: int = 2, min_share: float = 0.75) -> None:
        self.min_count = min_count
        self.min_share = min_share
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)

    def observe(self, full_names: Iterable[str]) -> None:
        """Count each full name once per article (call with one article's names)."""
        for name in set(full_names):
            self._counts[surname_key(name)][name] += 1

    def resolve(self, surname: str) -> str | None:
        counts = self._counts.get(surname_key(surname))
        if not counts:
            return None
        name, count = counts.most_common(1)[0]
        if count >= self.min_count and count >= self.min_share * sum(counts.values()):
            return name
        return None

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {key: dict(counter) for key, counter in self._counts.items()}

    @classmethod
    def from_dict(
        cls, data: dict[str, dict[str, int]], min_count: int = 2, min_share: float = 0.75
    ) -> AliasMap:
        alias_map = cls(min_count, min_share)
        for key, counts in data.items():
            alias_map._counts[key].update(counts)
        return alias_map


@dataclass
class _Work:
    mention: Mention
    label: str
    name: str


def people_by_surname(named: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Surname key -> the article's full name for it, if the article is unambiguous about it.

    ``named`` holds one article's (label, name) pairs.
    """
    by_surname: dict[str, Counter[str]] = defaultdict(Counter)
    for label, name in named:
        if label == "PERSON" and len(name.split()) >= 2:
            by_surname[surname_key(name)][name] += 1
    people = {}
    for key, names in by_surname.items():
        firsts = {fold_name(name).split()[0] for name in names}
        if len(firsts) == 1:  # "Joe Biden" and "Hunter Biden" leave "Biden" alone
            people[key] = max(names, key=lambda n: (names[n], len(n), n))
    return people


def _trim_headline(work: _Work, people: dict[str, str], body_names: set[str]) -> None:
    tokens = work.name.split()
    if work.mention.field != "title" or len(tokens) < 2 or fold_name(work.name) in body_names:
        return
    for size in range(len(tokens) - 1, 0, -1):
        head = " ".join(tokens[:size])
        known = fold_name(head) in body_names or (size == 1 and surname_key(head) in people)
        where = work.mention.text.find(head)
        if known and where >= 0:
            start = work.mention.start + where
            work.mention = replace(work.mention, start=start, end=start + len(head), text=head)
            work.name = head
            return


def is_sign_off(mention: Mention, texts: Mapping[str, str]) -> bool:
    """Whether the mention is alone on the last line of the body: a sign-off or a credit.

    Old wire stories end in the agency's sign-off ("Reuter", "REUTER"), which the model reads
    as a person; bylines and photo credits left at the end are not what the story names either.
    """
    body = texts.get("body", "")
    if mention.field != "body" or not body:
        return False
    line_start = body.rfind("\n", 0, mention.start) + 1
    before = body[line_start : mention.start]
    after = body[mention.end :]
    return not before.strip(_EDGE_PUNCT + ".") and not after.strip(_EDGE_PUNCT + ".\x03")


def join_split_names(mentions: Sequence[Mention], texts: Mapping[str, str]) -> list[Mention]:
    """Join a person the model split at a name particle: "Abdel Fattah" + "el-Sisi" (NORP)."""
    joined: list[Mention] = []
    for mention in mentions:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and previous.label == "PERSON"
            and previous.field == mention.field
            and mention.text.casefold().startswith(rules.SURNAME_PREFIXES)
            and not texts.get(mention.field, " ")[previous.end : mention.start].strip()
            and 0 < mention.start - previous.end <= 2
        ):
            text = texts.get(mention.field, "")[previous.start : mention.end] or (
                f"{previous.text} {mention.text}"
            )
            joined[-1] = replace(previous, end=mention.end, text=text)
        else:
            joined.append(mention)
    return joined


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w.casefold() not in rules.TITLE_GLUE).upper()


def defined_acronyms(mentions: Sequence[Mention], texts: Mapping[str, str]) -> dict[str, str]:
    """Acronyms the article defines, folded -> the name: "the European Community (EC)".

    Only an acronym made of the initials of the name's words counts ("of", "the", "and" and
    "for" may be skipped): a parenthesis after a name says many other things ("(D-Ill.)").
    """
    found: dict[str, str] = {}
    for mention in mentions:
        if mention.label not in _ACRONYM_LABELS:
            continue
        match = _DEFINED.match(texts.get(mention.field, ""), mention.end)
        if match is None:
            continue
        name = clean_surface(mention.text)
        acronym = match.group(1).replace(".", "")
        if len(name.split()) >= 2 and _initials(name) == acronym.upper():
            found.setdefault(fold_name(acronym), name)
    return found


def canonicalize(
    mentions: Sequence[Mention],
    aliases: AliasMap | None = None,
    texts: Mapping[str, str] | None = None,
) -> list[Entity]:
    """One article's mentions as entities with canonical forms (see the module docstring).

    ``texts`` are the article's fields by name ("title", "body"); without them the rules that
    read the text around a mention (sign-offs, split names, defined acronyms) are skipped.
    """
    acronyms: dict[str, str] = {}
    if texts is not None:
        mentions = join_split_names([m for m in mentions if not is_sign_off(m, texts)], texts)
        acronyms = defined_acronyms(mentions, texts)
    # An ORG may end in 's by name (McDonald's): drop it only when the bare form occurs too.
    seen = {fold_name(clean_surface(m.text, keep_possessive=True)) for m in mentions}
    works: list[_Work] = []
    for m in mentions:
        name = clean_surface(m.text)
        if m.label == "ORG" and fold_name(name) not in seen:
            name = clean_surface(m.text, keep_possessive=True)
        if not name:
            continue
        label = m.label
        if (full := acronyms.get(fold_name(name))) is not None:
            name, label = full, _label_of(full, mentions, label)
        works.append(_Work(m, label, strip_titles(name) if label == "PERSON" else name))
    people = people_by_surname((w.label, w.name) for w in works)
    body_names = {fold_name(w.name) for w in works if w.mention.field == "body"}
    for work in works:
        if work.label == "PERSON":
            _trim_headline(work, people, body_names)
        single = len(work.name.split()) == 1
        if work.label in _RELABEL_FROM and single and surname_key(work.name) in people:
            work.label = "PERSON"  # "Lavrov" (ORG) beside "Sergei Lavrov" (PERSON)
        elif work.label in _COUNTRY_FROM and fold_name(work.name) in rules.COUNTRIES:
            work.label = "GPE"  # "Gabon" (PERSON) in a list of countries
        # No relabelling from the cross-article map: "Apple" next to a learned "Fiona Apple"
        # shows why a label change needs evidence from the article itself.
    entities = [_entity(work, people, aliases) for work in works]
    return vote_labels(entities)


def _label_of(name: str, mentions: Sequence[Mention], default: str) -> str:
    """The label the model gave the spelled-out name (an acronym alone is often mislabelled)."""
    key = fold_name(name)
    labels = Counter(m.label for m in mentions if fold_name(clean_surface(m.text)) == key)
    return labels.most_common(1)[0][0] if labels else default


def _entity(work: _Work, people: dict[str, str], aliases: AliasMap | None) -> Entity:
    canonical, label = work.name, work.label
    if label == "PERSON":
        if len(canonical.split()) == 1:
            key = surname_key(canonical)
            known = people.get(key) or (aliases.resolve(key) if aliases else None)
            canonical = known or _without_particle(canonical)
    elif (alias := rules.ALIASES.get(fold_name(canonical))) is not None:
        canonical, label = alias
    elif label == "NORP":
        canonical = singular_group(canonical)
    m = work.mention
    return Entity(
        label=label, text=m.text, canonical=canonical, field=m.field, start=m.start, end=m.end
    )


def _without_particle(surname: str) -> str:
    """ "al-Sisi" -> "Sisi": a lone surname is named without its particle as often as with it."""
    folded = surname.casefold()
    for prefix in rules.SURNAME_PREFIXES:
        if folded.startswith(prefix) and len(surname) > len(prefix):
            rest = surname[len(prefix) :]
            return rest[:1].upper() + rest[1:]
    return surname


def vote_labels(entities: list[Entity]) -> list[Entity]:
    """Give every mention of one canonical value the label most of its mentions have."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for entity in entities:
        votes[fold_name(entity.canonical)][entity.label] += 1
    # Counter keeps first-seen order and max() returns the first maximum, so ties go to the
    # label seen first and the outcome does not depend on anything but the article.
    winners = {key: max(counts, key=lambda label: counts[label]) for key, counts in votes.items()}
    return [
        e
        if e.label == winners[fold_name(e.canonical)]
        else e.model_copy(update={"label": winners[fold_name(e.canonical)]})
        for e in entities
    ]


def full_names(entities: Iterable[Entity]) -> list[str]:
    """The multi-word PERSON canonicals of one article: what an :class:`AliasMap` learns from."""
    return sorted({e.canonical for e in entities if e.label == "PERSON" and " " in e.canonical})
