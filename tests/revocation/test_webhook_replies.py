"""Replies through the webhook application over real HTTP (waitress), on both backends:
what a revocation in other words, a reply that may revoke, a wrong number and an ordinary
reply each leave in the state, and a replayed MessageSid changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaignctl.store import Store
from tests.delivery.helpers import enroll, inbound, live_campaigns, post_signed, webhook_server

ANA, BEN, CLEO, DAN = "+14155550100", "+14155550101", "+14155550102", "+14155550103"


@pytest.fixture
def enrolled(state: Path) -> Path:
    with Store.open(state) as store:
        enroll(store, "spring", [ANA, BEN, CLEO, DAN], stop_on_reply=False)
    return state


@pytest.fixture
def hooks(enrolled: Path) -> Iterator[str]:
    with webhook_server(enrolled) as base:
        yield base


def say(hooks: str, phone: str, body: str, sid: str | None = None) -> str:
    status, _type, text = post_signed(f"{hooks}/twilio/inbound", inbound(phone, body, sid))
    assert status == 200
    return text


def test_each_kind_of_reply_through_the_webhook(hooks: str, enrolled: Path) -> None:
    say(hooks, ANA, "Hey, I'm not interested anymore. PLEASE REMOVE ME FROM YOUR LIST 🙏")
    say(hooks, BEN, "Quién es?")
    say(hooks, CLEO, "wrong # sorry")
    say(hooks, DAN, "Sounds good, call me Friday")
    with Store.open(enrolled) as store:
        optout = store.optout_of(ANA)
        assert optout is not None and optout.source == "sms"
        assert "revoked in other words" in (optout.note or "")
        assert live_campaigns(store, ANA) == {"spring": "opted_out"}
        assert [(h.phone, h.text) for h in store.review_holds()] == [(BEN, "Quién es?")]
        assert live_campaigns(store, BEN) == {"spring": None}  # held, not ended
        assert [w.phone for w in store.wrong_numbers()] == [CLEO]
        assert live_campaigns(store, CLEO) == {"spring": "wrong_number"}
        assert live_campaigns(store, DAN) == {"spring": None}  # stopOnReply is off
        assert store.optout_of(DAN) is None and store.optout_of(BEN) is None


def test_a_replayed_reply_is_recorded_once(hooks: str, enrolled: Path) -> None:
    say(hooks, BEN, "not interested", "SM" + "7" * 32)
    with Store.open(enrolled) as store:
        store.decide(BEN, "keep", "asked to be called instead", store.review_holds()[0].since)
    say(hooks, BEN, "not interested", "SM" + "7" * 32)  # Twilio retries the same message
    with Store.open(enrolled) as store:
        assert store.review_holds() == []
        assert len(store.review_holds(decided=True)) == 1


def test_advanced_opt_out_is_recorded_and_never_answered_by_us(hooks: str, enrolled: Path) -> None:
    """Twilio answers its own keywords under Advanced Opt-Out: our answer is an empty TwiML
    (no second confirmation), whatever the words, and the opt-out or opt-in is recorded."""
    empty = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    for body, kind in [("STOP", "STOP"), ("Stop texting me!", "STOP"), ("START", "START"),
                       ("quit", "STOP"), ("HELP", "HELP")]:  # fmt: skip
        status, _type, text = post_signed(
            f"{hooks}/twilio/inbound", inbound(ANA, body, OptOutType=kind)
        )
        assert (status, text) == (200, empty), body
    with Store.open(enrolled) as store:
        optout = store.optout_of(ANA)
        assert optout is not None and optout.source == "sms"
        assert live_campaigns(store, ANA) == {"spring": "opted_out"}
