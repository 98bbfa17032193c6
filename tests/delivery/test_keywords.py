"""Inbound classification (core.keywords): a keyword in any dress, a short opt-out reply,
and sentences that merely use the word."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from campaignctl.core.keywords import classify, keyword_of, keyword_table, words

TABLE = keyword_table()
KIND_OF = {word: kind for kind in ("opt_out", "opt_in", "help") for word in TABLE.keywords(kind)}
# the written forms of each keyword: as listed, and the two-word forms people type
FORMS = sorted({*KIND_OF, "OPT OUT", "STOP ALL", "UN SUBSCRIBE"})
padding = st.text(alphabet=" \t\n.,!?;:'\"-()*¡¿…。、！？\u3000\u00a0🛑", max_size=6)
between = st.sampled_from(["", "", "", " ", "-", ".", "  ", "\u3000", "_", "·"])


def full_width(char: str) -> str:
    """The full-width form of an ASCII letter (NFKC maps it back)."""
    return chr(ord(char) - 0x21 + 0xFF01) if "!" <= char <= "~" else char


@st.composite
def dressed(draw: st.DrawFn, form: str) -> str:
    """`form` in random case and width, with punctuation and spacing around and between."""
    out = []
    for char in form:
        if char == " ":
            out.append(draw(st.sampled_from([" ", "-", "", "  ", "\u3000", "_"])))
            continue
        char = char.lower() if draw(st.booleans()) else char
        out.append(full_width(char) if draw(st.booleans()) else char)
        out.append(draw(between) if draw(st.integers(0, 5)) == 0 else "")
    return draw(padding) + "".join(out) + draw(padding)


@given(data=st.data(), form=st.sampled_from(FORMS))
def test_any_dress_of_a_keyword_classifies_as_the_bare_keyword(
    data: st.DataObject, form: str
) -> None:
    body = data.draw(dressed(form))
    assert classify(body) == classify(form.replace(" ", ""))
    assert classify(body).kind == KIND_OF[form.replace(" ", "")]
    assert keyword_of(body) == form.replace(" ", "")


def ordinary_word(text: str) -> bool:
    """A word that neither is, nor forms with a keyword, something the table knows."""
    word = "".join(words(text))
    return bool(word) and word not in TABLE.courtesy and word not in TABLE.kinds


@given(
    form=st.sampled_from(FORMS),
    other=st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True).filter(ordinary_word),
    separator=st.sampled_from([" ", "  ", "\t", " - ", ", "]),
    first=st.booleans(),
)
def test_a_keyword_beside_an_ordinary_word_is_just_a_reply(
    form: str, other: str, separator: str, first: bool
) -> None:
    body = form + separator + other if first else other + separator + form
    assume(keyword_of(body) is None)  # e.g. "UN" + "STOP" is UNSTOP
    assert classify(body).kind == "reply"


@given(
    form=st.sampled_from([*sorted(TABLE.keywords("opt_out")), "OPT OUT"]),
    before=st.lists(st.sampled_from(sorted(TABLE.courtesy)), max_size=3),
    after=st.lists(st.sampled_from(sorted(TABLE.courtesy)), max_size=3),
)
def test_an_opt_out_keyword_among_courtesy_words_opts_out(
    form: str, before: list[str], after: list[str]
) -> None:
    body = " ".join([*before, form.lower(), *after])
    assert classify(body).kind == "opt_out"


@pytest.mark.parametrize(
    ("body", "kind", "keyword"),
    [
        ("stop", "opt_out", "STOP"),
        (" Stop! ", "opt_out", "STOP"),
        ("STOPALL", "opt_out", "STOPALL"),
        ("stop all", "opt_out", "STOPALL"),
        ("unsubscribe.", "opt_out", "UNSUBSCRIBE"),
        ("OptOut", "opt_out", "OPTOUT"),
        ("Opt out", "opt_out", "OPTOUT"),
        ("Opt-out", "opt_out", "OPTOUT"),
        ("opt-out.", "opt_out", "OPTOUT"),
        ("ＳＴＯＰ", "opt_out", "STOP"),
        ("ｓｔｏｐ！", "opt_out", "STOP"),
        ("s t o p", "opt_out", "STOP"),
        ("STOP 🛑", "opt_out", "STOP"),
        ("stop texting me please", "opt_out", "STOP"),
        ("Please stop texting me.", "opt_out", "STOP"),
        ("opt out please", "opt_out", "OPTOUT"),
        ("END", "opt_out", "END"),
        ("cancel my subscription", "opt_out", "CANCEL"),
        ("Unsubscribe me from this list", "opt_out", "UNSUBSCRIBE"),
        ("I want to stop", "opt_out", "STOP"),
        ("Quit it!", "opt_out", "QUIT"),
        ("We have got to STOP this bill", "reply", None),
        ("stop by Saturday?", "reply", None),
        ("Can you stop by the open house?", "reply", None),
        ("Don't stop", "reply", None),
        ("cancel the appointment", "reply", None),
        ("at the end of the day", "reply", None),
        ("stopp", "reply", None),
        ("Yes!", "opt_in", "YES"),
        ("ＹＥＳ", "opt_in", "YES"),
        ("unstop", "opt_in", "UNSTOP"),
        ("yes please", "reply", None),  # opting back in takes the keyword alone
        ("help?", "help", "HELP"),
        ("info", "help", "INFO"),
        ("", "reply", None),
        ("👍", "reply", None),
        ("Thanks, call me", "reply", None),
    ],
)
def test_examples(body: str, kind: str, keyword: str | None) -> None:
    meaning = classify(body)
    assert (meaning.kind, meaning.keyword) == (kind, keyword)


@pytest.mark.parametrize(
    ("body", "opt_out_type", "kind", "keyword"),
    [
        ("arrêt", "STOP", "opt_out", "STOP"),
        ("please stop texting me", "STOP", "opt_out", "STOP"),
        ("Opt out", "STOP", "opt_out", "OPTOUT"),
        ("stop", "START", "opt_in", "START"),
        ("aide", "HELP", "help", "HELP"),
        ("hello", "", "reply", None),
        ("stop", "SOMETHING", "opt_out", "STOP"),
    ],
)
def test_twilio_opt_out_type_wins(
    body: str, opt_out_type: str, kind: str, keyword: str | None
) -> None:
    meaning = classify(body, opt_out_type or None)
    assert (meaning.kind, meaning.keyword) == (kind, keyword)


def test_the_lists_are_versioned_data() -> None:
    assert TABLE.version
    assert TABLE.keywords("opt_out") >= {"STOP", "OPTOUT", "UNSUBSCRIBE", "REVOKE"}
    assert not TABLE.courtesy & set(TABLE.kinds)  # a courtesy word is never a keyword
