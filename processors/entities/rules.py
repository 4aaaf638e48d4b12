"""Word lists behind entity canonicalization: titles, aliases, countries.

Kept apart from the logic so they can grow without touching it. Each list is deliberately
small and conservative: a wrong alias merges two facets for good, a missing one only leaves
two spellings side by side.
"""

from __future__ import annotations

# spaCy labels that name something; numbers, dates and quantities facet poorly and are dropped.
NAMED_LABELS: frozenset[str] = frozenset(
    {
        "PERSON",
        "ORG",
        "GPE",
        "LOC",
        "NORP",
        "EVENT",
        "FAC",
        "PRODUCT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
    }
)

# Labels of other pipelines read as ours. The WikiNER-trained pipelines (fr, de, es, it, pt, ...)
# tag PER, ORG, LOC and MISC: PER is a PERSON, ORG and LOC mean what ours do, and MISC (works,
# events, nationalities, products in one bag) is not in NAMED_LABELS, so it is dropped.
LABEL_ALIASES: dict[str, str] = {"PER": "PERSON"}

# Words that precede a name as a title or office ("Prime Minister Benjamin Netanyahu",
# "Pm Netanyahu", "Russian Foreign Minister Sergei Lavrov"). Compared lower-case without dots.
# Royal and religious titles (King, Queen, Pope, Prince) are NOT here: "Pope Francis" and
# "King Charles" are how those people are named, and stripping them leaves an ambiguous word.
TITLE_WORDS: frozenset[str] = frozenset(
    """
    mr mrs ms miss dr prof sir dame president vice prime minister pm premier chancellor
    secretary foreign defense defence finance interior state deputy ambassador envoy
    senator sen rep representative congressman congresswoman gov governor mayor
    gen general lt col colonel maj major capt captain adm admiral sgt commander
    judge justice chief chairman chairwoman chair ceo spokesman spokeswoman spokesperson
    former late acting opposition leader speaker mp mk president-elect
    """.split()  # noqa: SIM905 - a word list reads better than 66 quoted strings
)

# Words allowed inside a title run without being a title themselves ("Secretary of State").
TITLE_GLUE: frozenset[str] = frozenset({"of", "the", "and", "for"})

# Name particles that do not carry the surname: "Bashar al-Assad" is "Assad" on second mention.
SURNAME_PREFIXES: tuple[str, ...] = ("al-", "el-", "ad-", "as-", "an-", "ar-")
NAME_SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "ii", "iii", "iv"})

# "The" is part of these names; elsewhere a leading "the" is grammar, not name.
KEEP_THE: frozenset[str] = frozenset({"the hague", "the gambia"})

# Spellings of one organisation or place, keyed lower-case without dots -> (canonical, label).
ALIASES: dict[str, tuple[str, str]] = {
    "us": ("United States", "GPE"),
    "usa": ("United States", "GPE"),
    "united states of america": ("United States", "GPE"),
    "america": ("United States", "GPE"),
    "uk": ("United Kingdom", "GPE"),
    "britain": ("United Kingdom", "GPE"),
    "great britain": ("United Kingdom", "GPE"),
    "un": ("United Nations", "ORG"),
    "eu": ("European Union", "ORG"),
    "un security council": ("United Nations Security Council", "ORG"),
    "security council": ("United Nations Security Council", "ORG"),
    "gaza strip": ("Gaza", "GPE"),
    "idf": ("Israel Defense Forces", "ORG"),
    "nato": ("NATO", "ORG"),
    # Seats of government stand for the government: an organisation, however NER reads them.
    "kremlin": ("Kremlin", "ORG"),
    "white house": ("White House", "ORG"),
    "pentagon": ("Pentagon", "ORG"),
}

# Sovereign states and common short forms. Small models label a bare country in a list
# ("China, Gabon and Mozambique") as PERSON or ORG; a country name is never that ambiguous.
COUNTRIES: frozenset[str] = frozenset(
    name.strip().lower()
    for name in """
    Afghanistan, Albania, Algeria, Andorra, Angola, Argentina, Armenia, Australia, Austria,
    Azerbaijan, Bahamas, Bahrain, Bangladesh, Barbados, Belarus, Belgium, Belize, Benin, Bhutan,
    Bolivia, Bosnia, Botswana, Brazil, Brunei, Bulgaria, Burkina Faso, Burundi, Cambodia,
    Cameroon, Canada, Cape Verde, Chad, Chile, China, Colombia, Comoros, Congo, Costa Rica,
    Croatia, Cuba, Cyprus, Czech Republic, Czechia, Denmark, Djibouti, Dominica, Ecuador, Egypt,
    El Salvador, Eritrea, Estonia, Eswatini, Ethiopia, Fiji, Finland, France, Gabon, Gambia,
    Georgia, Germany, Ghana, Greece, Grenada, Guatemala, Guinea, Guyana, Haiti, Honduras,
    Hungary, Iceland, India, Indonesia, Iran, Iraq, Ireland, Israel, Italy, Ivory Coast,
    Jamaica, Japan, Jordan, Kazakhstan, Kenya, Kiribati, Kosovo, Kuwait, Kyrgyzstan, Laos,
    Latvia, Lebanon, Lesotho, Liberia, Libya, Liechtenstein, Lithuania, Luxembourg, Madagascar,
    Malawi, Malaysia, Maldives, Mali, Malta, Mauritania, Mauritius, Mexico, Micronesia,
    Moldova, Monaco, Mongolia, Montenegro, Morocco, Mozambique, Myanmar, Namibia, Nauru, Nepal,
    Netherlands, New Zealand, Nicaragua, Niger, Nigeria, North Korea, North Macedonia, Norway,
    Oman, Pakistan, Palau, Palestine, Panama, Papua New Guinea, Paraguay, Peru, Philippines,
    Poland, Portugal, Qatar, Romania, Russia, Rwanda, Samoa, San Marino, Saudi Arabia, Senegal,
    Serbia, Seychelles, Sierra Leone, Singapore, Slovakia, Slovenia, Somalia, South Africa,
    South Korea, South Sudan, Spain, Sri Lanka, Sudan, Suriname, Sweden, Switzerland, Syria,
    Taiwan, Tajikistan, Tanzania, Thailand, Togo, Tonga, Trinidad and Tobago, Tunisia, Turkey,
    Turkmenistan, Tuvalu, Uganda, Ukraine, United Arab Emirates, United Kingdom, United States,
    Uruguay, Uzbekistan, Vanuatu, Venezuela, Vietnam, Yemen, Zambia, Zimbabwe
    """.split(",")  # noqa: SIM905
)
