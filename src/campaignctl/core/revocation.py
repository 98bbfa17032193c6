"""Revocation of consent in any words: what a reply asks of us, beyond the keywords.

Pure: `classify(text)` reads a reply and says whether it revokes consent (opt the number
out, as STOP does), may revoke it (hold the number until a person decides), says we have
the wrong number (end it and never enroll it again), or is an ordinary reply. The phrases
are versioned data (data/revocation.json), in English and Spanish, written as patterns over
words in a normal form rather than as a list of messages, so that a phrasing never seen
before is still understood:

    normalise   NFKC, case-folded, accents and apostrophes dropped, a few emoji read as
                words; cut into clauses at punctuation; spaced letters joined ("s t o p"),
                stretched letters taken once ("stooop"), a typo one edit away from a word
                that carries a revocation read as that word ("unsubscibe"), word pairs
                joined ("do not" -> "dont")
    match       each rule's pattern, clause by clause; a revocation preceded by a negation
                ("don't stop texting me") does not count, one narrowed by a time or a
                channel ("don't text me after 8") is held for review instead
    decide      revoke over wrong_number over review over none

A reply whose words are only a keyword and courtesy ("please stop!!") revokes, as does one
that opens or closes with STOP outside an ordinary use ("STOP I'm not interested", but not
"stop by Saturday?" nor "the bus stop").
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

VerdictKind = Literal["revoke", "review", "wrong_number", "none"]
VERDICT_KINDS: tuple[VerdictKind, ...] = ("revoke", "review", "wrong_number", "none")
PRIORITY: Mapping[VerdictKind, int] = {"revoke": 3, "wrong_number": 2, "review": 1, "none": 0}

_APOSTROPHES = re.compile("['\u2018\u2019\u02bc\uff07`\u00b4]")
_CLAUSE_BREAK = re.compile(r"[^\w\s#-]+|_")
_WORD = re.compile(r"[^\W_]+|#")
_STRETCHED = re.compile(r"(.)\1{2,}")
_DOUBLED = re.compile(r"(.)\1+")
_CLOCK = re.compile(r"\d{1,2}(?::?\d\d)?(?:am|pm|h|hs|hrs)")
# single letters with a mark between them ("s.t.o.p", "s-t-o-p"): one word
_SPELLED = re.compile(r"(?<![^\W_])(?:[^\W\d_][.\-*·_ ]){2,}[^\W\d_](?![^\W_])")
_SPELLED_GAP = re.compile(r"[.\-*·_ ]")
# endings of adjectives, adverbs and verb forms: "not possible", "not likely", "not happening"
_NOT_NAMES = ("ing", "ble", "ly", "ful", "ous", "ive", "ed", "al", "ent", "ant", "ary", "ic")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")  # "StopTextingMe": three words
_MACRO = re.compile(r"<([a-z_]+)>")
_SHORT_NAME = re.compile(
    r"^(?:im not|this isnt|its not|thats not|this aint|this is not|not|no soy|no es|"
    r"este no es|esta no es|aqui no es) ([a-z]+)(?: ([a-z]+))?$"
)


@dataclass(frozen=True)
class Verdict:
    """What a reply asks: its kind, and the words that decided it (for `explain` and the
    review queue), with the rule that matched them."""

    kind: VerdictKind
    phrase: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        return f"{self.kind} ({self.rule}: {self.phrase!r})"


@dataclass(frozen=True)
class Rule:
    kind: VerdictKind
    lang: str
    id: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class PhraseBook:
    """data/revocation.json, compiled."""

    version: str
    emoji: Mapping[str, str]
    aliases: Mapping[str, str]
    pairs: tuple[tuple[tuple[str, ...], str], ...]  # longest first
    vocabulary: frozenset[str]
    collapsed: Mapping[str, str]  # a known word with doubled letters taken once -> the word
    typo_targets: Mapping[str, tuple[str, ...]]  # first letter -> the words typos go to
    clause_keywords: frozenset[str]
    clause_words: frozenset[str]
    lead: frozenset[str]
    lead_ordinary: frozenset[str]
    trail: frozenset[str]
    trail_ordinary: frozenset[str]
    negators: Mapping[str, frozenset[str]]  # language -> negating words
    rhetorical: frozenset[str]
    bridges: frozenset[str]
    limiters: frozenset[str]
    messaging: frozenset[str]  # the words of messages and of sending them (classes msg, gap)
    me: frozenset[str]  # the person who replies (class me)
    short_name_ordinary: frozenset[str]
    rules: tuple[Rule, ...]


# --------------------------------------------------------------------------- normal form


def clauses(text: str, book: PhraseBook | None = None) -> list[list[str]]:
    """The reply's clauses, each a list of words in normal form."""
    book = book or phrase_book()
    folded = _CAMEL.sub(" ", unicodedata.normalize("NFKC", text)).casefold()
    for symbol, word in book.emoji.items():
        folded = folded.replace(symbol, f" {word} ")
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    plain = _SPELLED.sub(lambda m: _SPELLED_GAP.sub("", m.group(0)), _APOSTROPHES.sub("", plain))
    plain = plain.replace("#", " # ")
    found: list[list[str]] = []
    for part in _CLAUSE_BREAK.split(plain):
        words = _join_spelled(_WORD.findall(part))
        words = _join_pairs([w for raw in words for w in _canonical(raw, book).split()], book)
        if words:
            found.append(words)
    return found


def _join_spelled(words: list[str]) -> list[str]:
    """Runs of three or more single letters are one word ("s t o p")."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        out.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if word:
            out.append(word)
    return out


def _canonical(word: str, book: PhraseBook) -> str:
    if word == "#":
        return "number"
    if word in book.aliases:
        return book.aliases[word]
    if word in book.vocabulary or word.isdigit():
        return word
    stretched = _STRETCHED.sub(r"\1", word)
    if stretched in book.vocabulary:
        return stretched
    if stretched in book.aliases:
        return book.aliases[stretched]
    single = _DOUBLED.sub(r"\1", word)
    if single in book.collapsed:
        return book.collapsed[single]
    return _typo(stretched, book) or stretched


def _typo(word: str, book: PhraseBook) -> str | None:
    """The revocation word `word` is a typo of, if any (see the module's note)."""
    if len(word) < 4:
        return None
    firsts = {word[0], word[1]}  # a swap of the first two letters keeps the word
    for first in firsts:
        for target in book.typo_targets.get(first, ()):
            if abs(len(target) - len(word)) > 2:
                continue
            limit = 2 if len(target) >= 9 else 1 if len(target) >= 6 else 0
            distance = _distance(word, target, limit + 1)
            if distance <= limit or (distance == 1 and _swapped(word, target)):
                return target
    return None


def _swapped(a: str, b: str) -> bool:
    """b is a with two neighbouring letters swapped."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) != 2 or diff[1] != diff[0] + 1:
        return False
    return a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _distance(a: str, b: str, cap: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), stopped at `cap`."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= cap:
            return cap
        previous2, previous = previous, current
    return min(previous[len(b)], cap)


def _join_pairs(words: list[str], book: PhraseBook) -> list[str]:
    out: list[str] = []
    at = 0
    while at < len(words):
        for phrase, joined in book.pairs:
            if tuple(words[at : at + len(phrase)]) == phrase:
                out.append(joined)
                at += len(phrase)
                break
        else:
            out.append(words[at])
            at += 1
    return out


# --------------------------------------------------------------------------- deciding


def classify(text: str) -> Verdict:
    """What a reply asks (see the module's note); "none" for an ordinary reply."""
    book = phrase_book()
    found = clauses(text, book)
    best = Verdict("none")
    for verdict in _verdicts(found, book, _NameTest(text, book)):
        if PRIORITY[verdict.kind] > PRIORITY[best.kind]:
            best = verdict
            if best.kind == "revoke":
                break
    return best


def _verdicts(
    found: list[list[str]], book: PhraseBook, is_name: Callable[[str], bool]
) -> Iterator[Verdict]:
    if not found:
        return
    for words in found:
        yield from _clause_verdicts(words, book, is_name)
    lead = _lead(found[0], book)
    if lead is not None:
        yield lead
    trail = _trail(found[-1], book)
    if trail is not None:
        yield trail


def _clause_verdicts(
    words: list[str], book: PhraseBook, is_name: Callable[[str], bool]
) -> Iterator[Verdict]:
    text = " ".join(words)
    if _keyword_clause(words, book):
        yield Verdict("revoke", text, "keyword-clause")
    for rule in book.rules:
        for match in rule.pattern.finditer(text):
            start = text[: match.start()].count(" ")
            phrase = match.group(0).strip()
            end = start + len(phrase.split())
            if rule.kind == "revoke":
                if _negated(words, start, rule.lang, book):
                    continue
                if _narrowed(words, end, book):
                    yield Verdict("review", phrase, f"{rule.id} (narrowed)")
                    continue
            yield Verdict(rule.kind, phrase, rule.id)
            break
    named = _SHORT_NAME.match(text)
    if named is not None and is_name(named.group(1)):
        yield Verdict("wrong_number", text, "short-name")


def _narrowed(words: Sequence[str], end: int, book: PhraseBook) -> bool:
    """Words after a revocation that narrow it to some times or channels ("after 8",
    "at 7", "8pm", "instead"): then it asks for less, not for nothing."""
    for at in range(end, len(words)):
        word = words[at]
        if word in book.limiters or _CLOCK.fullmatch(word) is not None:
            return True
        if word == "at" and at + 1 < len(words) and words[at + 1].isdigit():
            return True
    return False


def _keyword_clause(words: Sequence[str], book: PhraseBook) -> bool:
    """Only keywords and courtesy words, with a keyword, and no negation."""
    if not any(word in book.clause_keywords for word in words):
        return False
    return all(word in book.clause_keywords or word in book.clause_words for word in words)


def _lead(words: Sequence[str], book: PhraseBook) -> Verdict | None:
    """STOP opening the reply (after courtesy words), not followed by an ordinary use."""
    at = 0
    while at < len(words) and words[at] not in book.lead and words[at] in book.clause_words:
        at += 1
    if at + 1 >= len(words) or words[at] not in book.lead:
        return None
    following = words[at + 1]
    if following in book.lead_ordinary or _ordinary_gerund(words, at + 1, book):
        return None
    phrase = " ".join(words[: at + 2])
    if _narrowed(words, at + 1, book):
        return Verdict("review", phrase, "opens-with-stop (narrowed)")
    return Verdict("revoke", phrase, "opens-with-stop")


def _ordinary_gerund(words: Sequence[str], at: int, book: PhraseBook) -> bool:
    """words[at] is an -ing word that is not about messages nor done to the person who
    replies ("stop renting", "stop worrying"; but "stop stalking me")."""
    word = words[at]
    if not word.endswith("ing") or word in book.messaging:
        return False
    return at + 1 >= len(words) or words[at + 1] not in book.me


def _trail(words: Sequence[str], book: PhraseBook) -> Verdict | None:
    end = len(words)
    while end > 0 and words[end - 1] in book.clause_words and words[end - 1] not in book.trail:
        end -= 1
    if end < 2 or words[end - 1] not in book.trail or words[end - 2] in book.trail_ordinary:
        return None
    if _negated(list(words), end - 1, "en", book):
        return None
    if _narrowed(words[: end - 1], 0, book):
        return Verdict("review", " ".join(words[end - 2 : end]), "closes-with-stop (narrowed)")
    return Verdict("revoke", " ".join(words[end - 2 : end]), "closes-with-stop")


def _negated(words: Sequence[str], start: int, lang: str, book: PhraseBook) -> bool:
    """A negation before words[start], across bridge words only, and not rhetorical."""
    negators = book.negators.get(lang, frozenset())
    at = start - 1
    while at >= 0 and start - at <= 5:
        word = words[at]
        if word in negators:
            return not (at > 0 and words[at - 1] in book.rhetorical)
        if word not in book.bridges:
            return False
        at -= 1
    return False


class _NameTest:
    """Whether a word of the reply is someone's name ("I'm not Ana"): not a word the data
    knows nor an ordinary one; written with a capital where the reply uses both cases
    ("Not possible" names nobody), else not shaped like an adjective or a verb."""

    def __init__(self, text: str, book: PhraseBook) -> None:
        self.book = book
        letters = [c for c in text if c.isalpha()]
        self.cased = any(c.isupper() for c in letters) and any(c.islower() for c in letters)
        words = _WORD.findall(_APOSTROPHES.sub("", unicodedata.normalize("NFKC", text)))
        self.capitalized = {_plain(w) for w in words if w[:1].isupper() and not w.isupper()}
        self.shouted = {_plain(w) for w in words if len(w) > 1 and w.isupper()}

    def __call__(self, word: str) -> bool:
        book = self.book
        if len(word) < 2 or word in book.short_name_ordinary or word in book.vocabulary:
            return False
        if self.cased and word not in self.shouted:
            return word in self.capitalized
        return not word.endswith(_NOT_NAMES)


def _plain(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


# --------------------------------------------------------------------------- the data


@lru_cache(maxsize=1)
def phrase_book() -> PhraseBook:
    """The phrase lists shipped with this version of campaignctl."""
    text = resources.files("campaignctl.core").joinpath("data/revocation.json").read_text("utf-8")
    return compile_book(json.loads(text))


def compile_book(document: Mapping[str, Any]) -> PhraseBook:
    """A PhraseBook from the JSON document (also used by tests on edited copies)."""
    classes: dict[str, list[str]] = {k: list(v) for k, v in document["classes"].items()}
    rules = tuple(
        Rule(
            kind=rule["kind"],
            lang=rule["lang"],
            id=rule["id"],
            pattern=re.compile(_expand(rule["pattern"], classes)),
        )
        for rule in document["rules"]
    )
    clause = document["keywordClause"]
    vocabulary = _vocabulary(document, classes)
    collapsed = {
        _DOUBLED.sub(r"\1", word): word for word in sorted(vocabulary, key=len) if len(word) >= 3
    }
    targets: dict[str, list[str]] = {}
    for word in document["typoTargets"]["words"]:
        targets.setdefault(word[0], []).append(word)
    pairs = sorted(
        ((tuple(phrase.split()), joined) for phrase, joined in document["pairs"].items()),
        key=lambda item: -len(item[0]),
    )
    negation = document["negation"]
    return PhraseBook(
        version=str(document["version"]),
        emoji=dict(document["emoji"]),
        aliases=dict(document["aliases"]),
        pairs=tuple(pairs),
        vocabulary=frozenset(vocabulary),
        collapsed=collapsed,
        typo_targets={k: tuple(v) for k, v in targets.items()},
        clause_keywords=frozenset(clause["keywords"]),
        clause_words=frozenset(clause["words"]),
        lead=frozenset(document["lead"]["keywords"]),
        lead_ordinary=frozenset(document["lead"]["ordinaryNext"]),
        trail=frozenset(document["trail"]["keywords"]),
        trail_ordinary=frozenset(document["trail"]["ordinaryBefore"]),
        negators={k: frozenset(v) for k, v in negation["negators"].items()},
        rhetorical=frozenset(negation["rhetorical"]),
        bridges=frozenset(negation["bridges"]),
        limiters=frozenset(document["limiters"]["words"]),
        messaging=frozenset([*classes["msg"], *classes["gap"], *classes["msg_es"]]),
        me=frozenset(classes["me"]),
        short_name_ordinary=frozenset(document["shortName"]["ordinary"]),
        rules=rules,
    )


def _expand(pattern: str, classes: Mapping[str, list[str]]) -> str:
    """A rule's pattern as a regular expression over the clause's words, joined by single
    spaces: `<class>` is any word of that class; a match starts and ends at word bounds."""

    def one_of(match: re.Match[str]) -> str:
        words = sorted(classes[match.group(1)], key=len, reverse=True)
        return "(?:" + "|".join(re.escape(word) for word in words) + ")"

    return r"(?:^|(?<= ))(?:" + _MACRO.sub(one_of, pattern) + r")(?= |$)"


def _vocabulary(document: Mapping[str, Any], classes: Mapping[str, list[str]]) -> set[str]:
    """Every word the data knows: typos are never 'corrected' away from one of these."""
    words: set[str] = set()
    for members in classes.values():
        words.update(members)
    for key in ("keywordClause", "lead", "trail"):
        for values in document[key].values():
            if isinstance(values, list):
                words.update(values)
    words.update(document["negation"]["bridges"])
    for values in document["negation"]["negators"].values():
        words.update(values)
    words.update(document["limiters"]["words"])
    words.update(document["shortName"]["ordinary"])
    words.update(document["typoTargets"]["words"])
    words.update(document["typoTargets"]["ordinary"])
    for target in [*document["aliases"].values(), *document["pairs"].values()]:
        words.update(target.split())
    for phrase in document["pairs"]:
        words.update(phrase.split())
    for rule in document["rules"]:
        words.update(re.findall(r"[a-z]{2,}", _MACRO.sub(" ", rule["pattern"])))
    return words
