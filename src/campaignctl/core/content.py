"""What a carrier checks in a message's content, as warnings: the brand named in a campaign's
first message, a HELP answer carrying the brand and a contact, no public link shortener, no
SHAFT terms (sex, hate, alcohol, firearms, tobacco, cannabis). Pure.

The lists are versioned data (`core/data/content.json`). Words are compared as keywords are
(`keywords.words`: NFKC, case-folded, punctuation as word breaks), whole words only, so
"Sussex" is not "sex" and "gunnison" is not "gun".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from campaignctl.core.keywords import words

# a contact a HELP answer may give: a web address, an email address or a phone number
_CONTACT = re.compile(
    r"https?://\S+|\bwww\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|us|biz|info|realty|homes|app)\b"
    r"|\+?\d[\d\s().-]{8,}\d",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    code: str  # content_brand, content_help, content_shortener, content_shaft
    message: str


@dataclass(frozen=True)
class ContentRules:
    version: str
    shorteners: re.Pattern[str]
    shaft: dict[tuple[str, ...], str]  # the words of a term -> its category
    longest: int  # the most words a term has


@lru_cache(maxsize=1)
def content_rules() -> ContentRules:
    """The lists shipped with this version of campaignctl."""
    text = resources.files("campaignctl.core").joinpath("data/content.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    domains = "|".join(re.escape(d) for d in sorted(document["shorteners"], key=len, reverse=True))
    shaft = {
        tuple(words(term)): category
        for category, terms in document["shaft"].items()
        for term in terms
    }
    return ContentRules(
        version=str(document["version"]),
        shorteners=re.compile(rf"(?<![\w.-])(?:https?://)?(?:www\.)?({domains})(?![\w-])", re.I),
        shaft=shaft,
        longest=max(len(key) for key in shaft),
    )


def _contains(haystack: list[str], needle: list[str]) -> bool:
    size = len(needle)
    return size > 0 and any(
        haystack[at : at + size] == needle for at in range(len(haystack) - size + 1)
    )


def brand_finding(first_body: str, brand: str | None) -> Finding | None:
    """The first message of a campaign must name the brand (A2P 10DLC)."""
    if not brand or _contains(words(first_body), words(brand)):
        return None
    return Finding(
        "content_brand",
        f"the first step does not name the brand {brand!r}: carriers expect the first "
        "message to say who is sending",
    )


def help_text_findings(help_text: str, brand: str | None) -> list[Finding]:
    """A HELP answer names the brand and gives a contact (a phone, an email or a site)."""
    found: list[Finding] = []
    if brand and not _contains(words(help_text), words(brand)):
        found.append(Finding("content_help", f"helpText does not name the brand {brand!r}"))
    if not _CONTACT.search(help_text):
        found.append(
            Finding(
                "content_help",
                "helpText gives no contact: add a phone number, an email address or a web site",
            )
        )
    return found


def body_findings(body: str) -> list[Finding]:
    """Public link shorteners and SHAFT terms in a message body."""
    rules = content_rules()
    found: list[Finding] = []
    shortener = rules.shorteners.search(body)
    if shortener:
        found.append(
            Finding(
                "content_shortener",
                f"links through the public shortener {shortener.group(1).lower()}: carriers "
                "filter them; link to a domain of your own",
            )
        )
    tokens = words(body)
    terms: dict[str, list[str]] = {}
    at = 0
    while at < len(tokens):
        size = 1
        for size in range(rules.longest, 0, -1):  # the longest term starting here
            category = rules.shaft.get(tuple(tokens[at : at + size]))
            if category is not None:
                named = " ".join(tokens[at : at + size])
                if named not in terms.setdefault(category, []):
                    terms[category].append(named)
                break
        at += size
    for category, listed in terms.items():
        shown = ", ".join(repr(term) for term in listed)
        found.append(
            Finding(
                "content_shaft",
                f"mentions {shown} ({category}): carriers refuse or age-gate SHAFT content "
                "(sex, hate, alcohol, firearms, tobacco, cannabis)",
            )
        )
    return found
