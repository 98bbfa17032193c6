"""What an incoming SMS means: an opt-out, an opt-in, a request for help, or a reply.

Pure: a function of the message text (and of Twilio's own OptOutType verdict, when its
Advanced Opt-Out is on). The keywords and the words a short opt-out reply may carry are
versioned data (data/keywords.json), so a change in the rules is a change of data, with
its tests.

A message is compared in one normal form, so that its dress does not matter: Unicode NFKC
(full-width "ＳＴＯＰ" is "STOP"), case-folded, apostrophes dropped ("don't" is one word), and
every other punctuation mark, symbol or space a word break. A message whose words, written
together, are exactly a keyword is that keyword ("Stop!", "opt-out.", "Opt out", "stop all").
A short reply made of an opt-out keyword and courtesy words only ("please stop texting me")
revokes too; a sentence that merely uses the word ("stop by Saturday?") is a reply.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

InboundKind = Literal["opt_out", "opt_in", "help", "reply"]
KEYWORD_KINDS: tuple[InboundKind, ...] = ("opt_out", "opt_in", "help")
# Twilio's Advanced Opt-Out tells what it made of the message; its verdict wins
TWILIO_OPT_OUT_TYPES: Mapping[str, InboundKind] = {
    "STOP": "opt_out",
    "START": "opt_in",
    "HELP": "help",
}

_APOSTROPHES = re.compile("['\u2018\u2019\u02bc\uff07`\u00b4]")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Inbound:
    """What a message means, and the keyword it amounts to (upper-case, e.g. STOP or
    OPTOUT; Twilio's OptOutType when that decided; None for a reply)."""

    kind: InboundKind
    keyword: str | None = None


@dataclass(frozen=True)
class KeywordTable:
    """The keyword lists of data/keywords.json, keyed by their normal form."""

    version: str
    kinds: Mapping[str, InboundKind]  # normal form ("stop") -> kind
    names: Mapping[str, str]  # normal form -> the keyword as listed ("STOP")
    courtesy: frozenset[str]
    max_words: int

    def keywords(self, kind: InboundKind) -> frozenset[str]:
        """The keywords of one kind, as listed (upper-case)."""
        return frozenset(self.names[key] for key, found in self.kinds.items() if found == kind)


def words(body: str) -> list[str]:
    """The message's words in normal form (NFKC, case-folded, no punctuation or spacing)."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", body).casefold())
    return _WORD.findall(_APOSTROPHES.sub("", text))


def keyword_of(body: str) -> str | None:
    """The keyword a message consists of, as listed (STOP, OPTOUT...), or None."""
    table = keyword_table()
    return table.names.get("".join(words(body)))


def classify(body: str, opt_out_type: str | None = None) -> Inbound:
    """What an incoming message means; Twilio's own OptOutType verdict wins when present."""
    verdict = (opt_out_type or "").strip().upper()
    table = keyword_table()
    if verdict in TWILIO_OPT_OUT_TYPES:
        kind = TWILIO_OPT_OUT_TYPES[verdict]
        said = "".join(words(body))
        return Inbound(kind, table.names[said] if table.kinds.get(said) == kind else verdict)
    found = words(body)
    joined = "".join(found)
    if joined in table.kinds:
        return Inbound(table.kinds[joined], table.names[joined])
    revoking = _short_opt_out(table, found)
    if revoking is not None:
        return Inbound("opt_out", table.names[revoking])
    return Inbound("reply")


def _short_opt_out(table: KeywordTable, found: list[str]) -> str | None:
    """The opt-out keyword of a short reply made of opt-out keywords and courtesy words
    only (two-word forms such as "opt out" joined first), else None."""
    if len(found) > table.max_words:
        return None
    merged: list[str] = []
    at = 0
    while at < len(found):
        pair = found[at] + found[at + 1] if at + 1 < len(found) else ""
        if table.kinds.get(pair) == "opt_out":
            merged.append(pair)
            at += 2
        else:
            merged.append(found[at])
            at += 1
    revoking = [word for word in merged if table.kinds.get(word) == "opt_out"]
    if not revoking:
        return None
    if all(word in table.courtesy or word in revoking for word in merged):
        return revoking[0]
    return None


@lru_cache(maxsize=1)
def keyword_table() -> KeywordTable:
    """The keyword lists shipped with this version of campaignctl."""
    return _table(_load())


def _load() -> dict[str, Any]:
    text = resources.files("campaignctl.core").joinpath("data/keywords.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _table(document: dict[str, Any]) -> KeywordTable:
    kinds: dict[str, InboundKind] = {}
    names: dict[str, str] = {}
    for kind in KEYWORD_KINDS:
        for name in document["keywords"][kind]:
            key = "".join(words(name))
            kinds[key] = kind
            names[key] = str(name)
    short = document["shortReply"]
    return KeywordTable(
        version=str(document["version"]),
        kinds=kinds,
        names=names,
        courtesy=frozenset("".join(words(word)) for word in short["courtesy"]),
        max_words=int(short["maxWords"]),
    )
