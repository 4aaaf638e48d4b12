"""Canonical forms for entities a pipeline found in a language other than English.

The rules of :mod:`processors.entities.canonical` were written on English news, and most of
them read English words: titles ("Prime Minister"), the leading "the", the possessive "'s",
country names and aliases ("UK" is "United Kingdom"), the glue words of acronyms, plural
nationalities. On French text they would do little good and some harm ("the" is not a French
word, but "Premier ministre" is a title they would not strip). Only the rules that hold in any
language are applied here, in this order:

1. Debris dropped: a name alone on the body's last line is a sign-off or a credit.
2. Surface cleaning: typography folded (``wirehose.core.text``: quotes, guillemets, dashes,
   zero-width marks), runs of spaces collapsed, punctuation trimmed from both ends.
3. A bare surname of a person named in full in the same article, whatever label the model gave
   it, is that person ("Macron" beside "Emmanuel Macron"); failing that, the cross-article
   :class:`~processors.entities.canonical.AliasMap` may name it (the tagger for each language
   keeps its own map).
4. Within one article a canonical value gets one label: the majority of its mentions.

Labels are ours already: :data:`processors.entities.rules.LABEL_ALIASES` reads the WikiNER
pipelines' PER as PERSON, and their MISC is dropped before this module sees a mention.
Everything else is kept as the model found it: a title the model took into a name stays in
it, and no country or alias list merges spellings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from processors.entities.canonical import (
    AliasMap,
    Mention,
    is_sign_off,
    people_by_surname,
    surname_key,
    vote_labels,
)
from wirehose.core.article import Entity
from wirehose.core.text import collapse_spaces, fold_typography

# Punctuation that is never part of a name at its ends. A trailing dot stays ("S.A.", "Jr.").
_EDGE_PUNCT = " \t\n\"'`,;:!?()[]{}<>*-"


def clean_name(text: str) -> str:
    """The name with typography folded, single spaces and no punctuation at either end."""
    return collapse_spaces(fold_typography(text)).strip(_EDGE_PUNCT)


def canonicalize_neutral(
    mentions: Sequence[Mention],
    aliases: AliasMap | None = None,
    texts: Mapping[str, str] | None = None,
) -> list[Entity]:
    """One article's mentions as entities, by the language-neutral rules only (module docstring).

    ``texts`` are the article's fields by name; without them sign-offs are not looked for.
    """
    if texts is not None:
        mentions = [m for m in mentions if not is_sign_off(m, texts)]
    named = [(m, name) for m in mentions if (name := clean_name(m.text))]
    people = people_by_surname((m.label, name) for m, name in named)
    entities: list[Entity] = []
    for mention, name in named:
        label, canonical = mention.label, name
        if len(name.split()) == 1:
            key = surname_key(name)
            if key in people:
                label, canonical = "PERSON", people[key]
            elif label == "PERSON" and aliases is not None:
                canonical = aliases.resolve(key) or name
        entities.append(
            Entity(
                label=label,
                text=mention.text,
                canonical=canonical,
                field=mention.field,
                start=mention.start,
                end=mention.end,
            )
        )
    return vote_labels(entities)
