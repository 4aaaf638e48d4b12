"""Small rules that recognise the debris around an article pasted from a news site.

Each rule looks at one paragraph (a non-empty line of the pasted text) and either recognises it
and says what it means (a date, a publisher, an agency credit) or returns ``None``. The rules
know nothing about particular files: ``producers.seeds`` applies them from the top (headers,
headline) and from the bottom (trailers) of any pasted article.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from wirehose.core.text import normalize_text

# Canonical agency names, keyed by the folded spellings seen in credits and datelines.
AGENCIES: dict[str, str] = {
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "dpa": "dpa",
    "upi": "UPI",
    "united press international": "UPI",
    "xinhua": "Xinhua",
    "tass": "TASS",
    "efe": "EFE",
    "ansa": "ANSA",
    "kyodo": "Kyodo",
    "anadolu": "Anadolu",
    "bloomberg": "Bloomberg",
    "pa": "PA",
    "press association": "PA",
    "cna": "CNA",
    "wafa": "WAFA",
}

# Navigation labels a site prints above the headline. Single capitalised words are caught by
# shape; these are the multi-word or ambiguous ones.
SECTIONS = frozenset(
    {"politics", "world", "world news", "us", "u.s.", "u.s. news", "business", "opinion",
     "middle east", "israel at war", "breaking news", "news", "international", "europe",
     "asia", "africa", "americas", "analysis", "national security", "top stories"}
)  # fmt: skip

# Share-button strips: a paragraph made only of these words is widget text, never prose.
_SHARE_WORDS = frozenset(
    {"facebook", "twitter", "x", "pinterest", "linkedin", "tumblr", "whatsapp", "telegram",
     "reddit", "email", "e-mail", "print", "share", "copy", "link", "flipboard", "messenger"}
)  # fmt: skip

# Calls to action and widget labels that are whole paragraphs on many sites.
BOILERPLATE = frozenset(
    {"share your opinion", "share this article", "share this story", "leave a comment",
     "comments", "read more", "related", "related articles", "advertisement", "subscribe",
     "sign up for our newsletter", "click here to subscribe", "follow us", "share"}
)  # fmt: skip

_SENTENCE_END = re.compile(r"[.:;,][\"'”’)\]]*$")
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z .,'-]{1,60}?(?:,\s*[A-Z][a-z]{2,8}\.? \d{1,2})?\s*)?"
    r"\((?P<who>[^()]{2,40})\)\s*[-–—]\s*"
)
# Possessive ``\s++`` and a ``who`` that ends on a non-space keep this linear: with a plain
# ``.+?\s+`` every space of a long run would start a new scan of the rest of that run.
_CREDIT = re.compile(
    r"^(?P<who>.*?\S)\s++contributed\s++(?:reporting\s++)?to\s++(?:this|the)\s++"
    r"(?:report|story|article)\.?$",
    re.IGNORECASE,
)
_APPEARED_FIRST = re.compile(
    r"^This (?:post|article|story) (?:appeared first|first appeared|was first published|"
    r"was originally published|originally appeared) (?:on|in|at) (?P<pub>.+?)\.?$",
    re.IGNORECASE,
)
# "Copyright" or "(c)" must be followed by a year, so prose such as "Copyright law ..." is safe.
# "\s*©?\s*" and ".+?\s*(?:[.,]?\s*...)" could split one run of spaces in many ways, each tried
# in turn (cubic in the run); possessive runs and a publisher that ends on a non-space cannot.
_COPYRIGHT = re.compile(
    r"^(?:(?:copyright|\(c\))\s*+(?:©\s*+)?(?=\d{4})|©\s*+)"
    r"(?:\d{4}(?:\s*+[-–]\s*+\d{4})?\s*+(?:,\s*+)?)?(?P<pub>.*?\S)"
    r"\s*+(?:[.,]?\s*+all rights reserved)?\.?$",
    re.IGNORECASE,
)
_STAFF_BIO = re.compile(
    r"^(?:The )?(?P<staff>(?P<pub>[A-Z][\w&.' -]{1,60}?) (?:Staff|Team|Newsroom|Desk)) (?:is|are) "
    r"(?:a |an |the )?(?:team|group|staff) of\b.{0,160}$"
)
_BYLINE = re.compile(r"^By\s+(?P<who>[A-Z][\w.'-]*(?:[ ,]+(?:and\s+)?[A-Z][\w.'-]*){0,7})$")
# Possessive spaces: "\s*[-–—|]?\s*" would try every split of a run of spaces before failing.
_DATE_HEADER = re.compile(
    r"^(?P<when>[\w ,:./-]{8,40}?\d{1,2}:\d{2}(?:\s*+[ap]\.?m\.?)?)"
    r"(?:\s*+(?:[-–—|]\s*+)?(?P<zone>[A-Za-z][A-Za-z _/]{1,40}?)(?:\s++time)?)?$",
    re.IGNORECASE,
)
_DATE_FORMATS = (
    "%a %d %b %Y %I:%M %p",
    "%A %d %B %Y %I:%M %p",
    "%a %d %b %Y %H:%M",
    "%d %b %Y %H:%M",
    "%d %B %Y %H:%M",
    "%B %d %Y %I:%M %p",
    "%b %d %Y %I:%M %p",
    "%a %B %d %Y %I:%M %p",
    "%A %B %d %Y %I:%M %p",
    "%Y-%m-%d %H:%M",
)
_ZONE_ALIASES = {"utc": "UTC", "gmt": "UTC", "z": "UTC", "et": "America/New_York",
                 "est": "America/New_York", "edt": "America/New_York", "bst": "Europe/London",
                 "cet": "Europe/Paris", "cest": "Europe/Paris", "idt": "Asia/Jerusalem",
                 "ist": "Asia/Jerusalem", "msk": "Europe/Moscow"}  # fmt: skip


def folded(text: str) -> str:
    """Lower-case, typography-free form used to compare paragraphs with known phrases."""
    return normalize_text(text).strip(" .!:")


def is_sentence_end(paragraph: str) -> bool:
    """True when the paragraph ends like running prose (a period, colon, comma), not a headline."""
    return bool(_SENTENCE_END.search(paragraph))


def looks_like_headline(paragraph: str) -> bool:
    """Headlines are short and, unlike prose, do not end with a period.

    ``?`` and ``!`` are allowed: question and exclamation headlines are common, prose
    paragraphs that end with one are rare at the very top of an article.
    """
    return (
        0 < len(paragraph) <= 250
        and len(paragraph.split()) <= 35
        and not is_sentence_end(paragraph)
    )


def is_section_label(paragraph: str) -> bool:
    """A site's section name above the headline, e.g. ``Politics``."""
    if folded(paragraph) in SECTIONS:
        return True
    return bool(re.fullmatch(r"[A-Z][A-Za-z&-]{1,24}", paragraph))


def is_share_buttons(paragraph: str) -> bool:
    """``Pinterest LinkedIn Tumblr`` and friends: social buttons flattened into text."""
    words = re.split(r"[\s|/·•,]+", paragraph.strip().casefold())
    words = [w for w in words if w]
    return bool(words) and all(w in _SHARE_WORDS for w in words) and len(words) >= 2


def is_boilerplate(paragraph: str) -> bool:
    """Widget labels and calls to action that are never part of the story."""
    return folded(paragraph) in BOILERPLATE or is_share_buttons(paragraph)


def canonical_agency(name: str) -> str | None:
    """``Associated Press`` -> ``AP``; ``None`` when the name is not a news agency."""
    return AGENCIES.get(normalize_text(name).strip(" ."))


def credited_agencies(paragraph: str) -> tuple[str, ...] | None:
    """Agencies named by a credit line (``Reuters contributed to this report.``).

    Returns ``None`` when the paragraph is not a credit line, ``()`` when it credits only
    people (it is still a credit, not story text).
    """
    match = _CREDIT.match(paragraph.strip())
    if not match:
        return None
    # Split on the separators alone: "\s*(?:,|and|&)\s*" would rescan a run of spaces from each
    # of its positions. canonical_agency ignores the spaces left around a part.
    parts = re.split(r",|\band\b|&", match["who"])
    found = (canonical_agency(part) for part in parts if part.strip())
    return tuple(dict.fromkeys(a for a in found if a))


def trailer_publisher(paragraph: str) -> str | None:
    """The publisher named by a trailer: syndication note, copyright line or staff bio."""
    text = paragraph.strip()
    for pattern in (_APPEARED_FIRST, _COPYRIGHT, _STAFF_BIO):
        match = pattern.match(text)
        if match and len(match["pub"]) <= 60:
            return match["pub"].strip(" ,.")
    return None


def staff_byline(paragraph: str) -> str | None:
    """``The All Israel News Staff is a team of ...`` -> ``All Israel News Staff``."""
    match = _STAFF_BIO.match(paragraph.strip())
    return match["staff"] if match else None


def byline(paragraph: str) -> str | None:
    """``By Jane Doe and John Roe`` -> ``Jane Doe and John Roe``."""
    match = _BYLINE.match(paragraph.strip())
    return match["who"] if match else None


def split_dateline(paragraph: str) -> tuple[str | None, str | None, str]:
    """Strip a leading ``(Reuters) -``, ``JERUSALEM (AP) —`` or ``(Site.com) –`` prefix.

    Returns ``(agency, publisher, rest)``: a known agency in the parentheses is an agency, a
    domain or other name is the publisher's own prefix.
    """
    match = _DATELINE.match(paragraph)
    if not match:
        return None, None, paragraph
    who = match["who"].strip()
    agency = canonical_agency(who)
    if agency is None and not (_DOMAIN.match(who) or who[:1].isupper()):
        return None, None, paragraph
    rest = paragraph[match.end() :].lstrip()
    return (agency, None, rest) if agency else (None, who, rest)


@lru_cache(maxsize=256)
def zone_named(name: str) -> tzinfo | None:
    """The time zone for ``Jerusalem``, ``New York``, ``GMT`` or ``Europe/Paris``."""
    key = name.strip().casefold()
    if key in _ZONE_ALIASES:
        return zoneinfo.ZoneInfo(_ZONE_ALIASES[key])
    zone = _zones_by_suffix().get(key.replace(" ", "_"))
    return zoneinfo.ZoneInfo(zone) if zone else None


@lru_cache(maxsize=1)
def _zones_by_suffix() -> dict[str, str]:
    """Every IANA zone under its full name and each ``/``-suffix of it, case-folded
    (``europe/paris``, ``paris``); a suffix several zones share names the first in sorted order.

    Built once: listing the zones walks the tz database on disk (milliseconds), and text full
    of date-like lines would otherwise pay that for every zone name it makes up.
    """
    index: dict[str, str] = {}
    for zone in sorted(zoneinfo.available_timezones()):
        parts = zone.casefold().split("/")
        for start in range(len(parts)):
            index.setdefault("/".join(parts[start:]), zone)
    return index


def parse_date_header(paragraph: str) -> datetime | None:
    """A date line such as ``Sun 10 Dec 2023 4:15 pm - Jerusalem Time``, in UTC.

    The named place picks the IANA zone (so daylight saving is right for the date). A date
    without a zone, or with one we cannot place, is taken as UTC: a few hours off beats none.
    """
    match = _DATE_HEADER.match(paragraph.strip())
    if not match:
        return None
    when = re.sub(r"\b([ap])\.m\.?", r"\1m", match["when"], flags=re.IGNORECASE)
    when = re.sub(r"[\s,]+", " ", when).strip()
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(when, fmt)  # zone applied below
        except ValueError:
            continue
        zone = zone_named(match["zone"]) if match["zone"] else None
        try:
            return local.replace(tzinfo=zone or UTC).astimezone(UTC)
        except OverflowError:  # year 1 east of Greenwich, or 9999 west of it: not in UTC's range
            return None
    return None
