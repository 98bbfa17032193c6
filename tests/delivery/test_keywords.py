"""Inbound keywords: one word, any case, surrounding spaces and punctuation ignored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.webhooks.app import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    classify_inbound,
    keyword_of,
)

KIND_OF = {
    **{w: "opt_out" for w in OPT_OUT_KEYWORDS},
    **{w: "opt_in" for w in OPT_IN_KEYWORDS},
    **{w: "help" for w in HELP_KEYWORDS},
}
padding = st.text(alphabet=" \t\n.,!?;:'\"-()*¡¿…", max_size=6)


def random_case(word: str, flips: list[bool]) -> str:
    flips = (flips + [False] * len(word))[: len(word)]
    return "".join(c.lower() if f else c for c, f in zip(word, flips, strict=True))


@given(
    word=st.sampled_from(sorted(KIND_OF)),
    before=padding,
    after=padding,
    flips=st.lists(st.booleans(), max_size=12),
)
def test_a_keyword_with_any_case_and_padding_is_recognised(
    word: str, before: str, after: str, flips: list[bool]
) -> None:
    body = before + random_case(word, flips) + after
    assert keyword_of(body) == word
    assert classify_inbound(body) == KIND_OF[word]


@given(
    word=st.sampled_from(sorted(KIND_OF)),
    other=st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True),
    separator=st.sampled_from([" ", "  ", "\t", " - ", ", "]),
    first=st.booleans(),
)
def test_a_keyword_inside_a_sentence_is_just_a_reply(
    word: str, other: str, separator: str, first: bool
) -> None:
    body = word + separator + other if first else other + separator + word
    assert classify_inbound(body) == "reply"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("stop", "opt_out"),
        (" Stop! ", "opt_out"),
        ("STOPALL", "opt_out"),
        ("unsubscribe.", "opt_out"),
        ("OptOut", "opt_out"),
        ("We have got to STOP this bill", "reply"),
        ("stopp", "reply"),
        ("s t o p", "reply"),
        ("opt out", "reply"),
        ("Yes!", "opt_in"),
        ("unstop", "opt_in"),
        ("help?", "help"),
        ("info", "help"),
        ("", "reply"),
        ("👍", "reply"),
        ("Thanks, call me", "reply"),
    ],
)
def test_examples(body: str, kind: str) -> None:
    assert classify_inbound(body) == kind


@pytest.mark.parametrize(
    ("body", "opt_out_type", "kind"),
    [
        ("arrêt", "STOP", "opt_out"),
        ("please stop texting me", "STOP", "opt_out"),
        ("stop", "START", "opt_in"),
        ("aide", "HELP", "help"),
        ("hello", "", "reply"),
        ("stop", "SOMETHING", "opt_out"),
    ],
)
def test_twilio_opt_out_type_wins(body: str, opt_out_type: str, kind: str) -> None:
    assert classify_inbound(body, opt_out_type or None) == kind
