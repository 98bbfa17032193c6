"""Replies in many phrasings, each with what it asks, for the property tests: a core phrase
(written here, not taken from the corpus), dressed as people type it (case, punctuation,
emoji, a greeting or a sign-off around it, a typo in a word that carries the request)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from campaignctl.core.revocation import VerdictKind

CORES: dict[VerdictKind, list[str]] = {
    "revoke": [
        "stop", "stop texting me", "please stop messaging me", "quit sending me texts",
        "remove me from your list", "take me off your list", "unsubscribe", "unsubscribe me",
        "do not contact me again", "don't text me anymore", "no more texts", "no more messages",
        "leave me alone", "I want to opt out", "opt me out", "cancel", "end", "quit", "revoke",
        "stop contacting me", "delete my number", "lose my number", "I revoke my consent",
        "please remove my number", "I no longer wish to receive these texts",
        "put me on your do not call list", "cease and desist", "stop sending me messages",
        "deja de escribirme", "no me manden mensajes", "no más mensajes", "alto", "basta",
        "bórrenme de su lista", "dejen de enviarme mensajes", "no me escriban más",
    ],
    "review": [
        "not interested", "who is this", "how did you get my number", "no thanks",
        "I'm not interested", "who are you", "I never signed up for this", "no me interesa",
        "quién es", "de dónde sacaron mi número",
    ],
    "wrong_number": [
        "wrong number", "you have the wrong number", "wrong person", "this isn't Ana",
        "número equivocado", "se equivocó de número",
    ],
    "none": [
        "don't stop, I'm interested", "stop by Saturday?", "when does the showing end?",
        "yes please", "what's the price?", "I'll stop by after work", "sounds good",
        "sí, me interesa", "can you call me tomorrow?", "cancel my 3pm showing please",
        "is there a bus stop nearby?", "send me more listings", "please keep texting me",
    ],
}  # fmt: skip

# words a typo may fall on: those that carry the request, as people mistype them
TYPOS = {
    "stop": ["stopp", "stpo", "sotp", "stoop", "stooop"],
    "texting": ["textin", "texing", "txting", "textng"],
    "texts": ["txts", "textss"],
    "messaging": ["messageing", "mesaging", "messsaging"],
    "messages": ["mesages", "messges", "massages"],
    "unsubscribe": ["unsubscibe", "unsuscribe", "unsubcribe", "unsubscrbe", "unsusbcribe"],
    "remove": ["remvoe", "remov", "removee"],
    "please": ["pls", "plz", "pleas", "pleae", "plase"],
    "contact": ["contatc", "contac"],
    "contacting": ["contacing", "contactin"],
    "interested": ["intrested", "interessted", "intersted"],
    "number": ["numbr", "nunber", "#"],
    "wrong": ["wrng", "worng"],
}
OPENERS = ["", "", "Hi. ", "Hey Sam, ", "Hello, ", "Ok. ", "Hola, ", "Look, ", "Sorry, "]
CLOSERS = ["", "", ".", "!", "!!!", "?!", " 😡", " 🙏", " 👋", ". Thanks", " thx", ". Bye."]


def dress(core: str, rng: random.Random, kind: VerdictKind) -> str:
    """The core as someone might type it."""
    words = core.split(" ")
    if kind != "none" and rng.random() < 0.5:
        spots = [i for i, word in enumerate(words) if word.lower() in TYPOS]
        if spots:
            at = rng.choice(spots)
            words[at] = rng.choice(TYPOS[words[at].lower()])
    text = " ".join(words)
    case = rng.randrange(4)
    if case == 1:
        text = text.upper()
    elif case == 2:
        text = text[:1].upper() + text[1:]
    return rng.choice(OPENERS) + text + rng.choice(CLOSERS)


@st.composite
def replies(draw: st.DrawFn, kinds: tuple[VerdictKind, ...] = tuple(CORES)) -> tuple[str, str]:
    """(what the reply asks, the reply)."""
    kind = draw(st.sampled_from(kinds))
    core = draw(st.sampled_from(CORES[kind]))
    seed = draw(st.integers(0, 2**32 - 1))
    return kind, dress(core, random.Random(seed), kind)
