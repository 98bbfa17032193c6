"""The revocation classifier (core.revocation) as properties: what a reply asks does not
depend on how it is dressed (case, punctuation, emoji, a greeting around it, a typo in the
word that carries it); a negation undoes a revocation; ordinary uses of "stop", "end" and
"cancel" stay ordinary; and the phrases are data, versioned."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.core.revocation import Verdict, classify, clauses, compile_book, phrase_book
from tests.revocation.phrasings import CORES, replies

STRONGER = {"revoke": {"revoke"}, "wrong_number": {"wrong_number", "revoke"},
            "review": {"review", "wrong_number", "revoke"}, "none": {"none"}}  # fmt: skip


@given(reply=replies())
def test_a_reply_asks_what_it_was_written_to_ask_however_it_is_dressed(
    reply: tuple[str, str],
) -> None:
    kind, text = reply
    got = classify(text)
    assert got.kind in STRONGER[kind], (text, got)


@given(
    core=st.sampled_from(["stop texting me", "remove me from your list", "unsubscribe me",
                          "take me off your list", "stop sending me messages"]),
    negation=st.sampled_from(["don't", "do not", "please don't", "never", "I don't want you to",
                              "Don't you", "I never said"]),
    after=st.sampled_from(["", ", I'm interested", "! love these", ", keep them coming"]),
)  # fmt: skip
def test_a_negated_revocation_does_not_revoke(core: str, negation: str, after: str) -> None:
    text = f"{negation} {core}{after}"
    assert classify(text).kind != "revoke", (text, classify(text))


@given(
    day=st.sampled_from(["Saturday", "tomorrow", "the office", "anytime", "after work", "at 5"]),
    lead=st.sampled_from(["", "Can I ", "I'll ", "We could ", "Happy to ", "Let's "]),
    verb=st.sampled_from(["stop by", "stop in", "stop over"]),
    mark=st.sampled_from(["", "?", "!", " 😊"]),
)
def test_stopping_by_is_a_visit_not_a_revocation(day: str, lead: str, verb: str, mark: str) -> None:
    text = f"{lead}{verb} {day}{mark}"
    assert classify(text).kind == "none", (text, classify(text))


@pytest.mark.parametrize(
    "text",
    [
        "When does the showing end?", "non-stop showings all weekend!", "Cancel my 3pm showing",
        "I can't stop thinking about that kitchen", "Is the bus stop close?", "the end unit?",
        "I quit my job, moving closer to family", "Please don't stop the updates",
        "We have got to STOP this bill", "stop worrying, we're in", "Remove the old photos",
        "¿A qué hora termina?", "No pares, me interesa", "Es para mi hija",
    ],
)  # fmt: skip
def test_ordinary_uses_of_the_words_stay_ordinary(text: str) -> None:
    assert classify(text).kind == "none", classify(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Don't text me after 8pm", "review"), ("no me escriban en la noche", "review"),
        ("Stop texting me before 9am please", "review"), ("don't text me at 7", "review"),
        ("Don't text me", "revoke"), ("Stop texting me right now", "revoke"),
    ],
)  # fmt: skip
def test_a_revocation_narrowed_to_some_hours_is_held_for_review(text: str, kind: str) -> None:
    assert classify(text).kind == kind, classify(text)


def test_the_normal_form() -> None:
    assert clauses("S.T.O.P!!! Don't  TEXT me 🛑") == [["stop"], ["dont", "text", "me", "stop"]]
    assert clauses("Ｎo más MENSAJES, por favor") == [["no", "mas", "mensajes"], ["porfavor"]]
    assert clauses("unsubscibe plz, stoooop") == [["unsubscribe", "please"], ["stop"]]
    assert clauses("") == [] and classify("") == Verdict("none")


def test_a_verdict_names_the_rule_and_the_words() -> None:
    verdict = classify("Hi Sam! Please remove my number from your list, thanks")
    assert verdict.kind == "revoke" and verdict.rule is not None
    assert verdict.phrase is not None and "remove" in verdict.phrase
    assert str(verdict).startswith("revoke (")


def test_the_phrases_are_versioned_data() -> None:
    text = resources.files("campaignctl.core").joinpath("data/revocation.json").read_text()
    document = json.loads(text)
    assert document["version"] == phrase_book().version
    assert classify("kindly vacate my inbox").kind == "none"
    document["rules"].append(
        {"kind": "revoke", "lang": "en", "id": "vacate", "pattern": "vacate my inbox"}
    )
    edited = compile_book(document)
    assert any(rule.id == "vacate" for rule in edited.rules)
    assert edited.rules[-1].pattern.search("kindly vacate my inbox")


def test_every_core_phrase_of_the_generator_is_classified_as_written() -> None:
    for kind, cores in CORES.items():
        for core in cores:
            assert classify(core).kind in STRONGER[kind], (core, classify(core))


@given(text=st.text(max_size=300))
def test_any_text_is_classified(text: str) -> None:
    """Whatever arrives (any script, control characters, lone marks), one verdict."""
    verdict = classify(text)
    assert verdict.kind in STRONGER
    assert (verdict.phrase is None) == (verdict.kind == "none")
