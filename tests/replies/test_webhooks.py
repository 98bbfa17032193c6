"""Incoming SMS through the webhook server over real HTTP (signed as Twilio signs them):
each one kept as a reply, whatever it says, with what it did."""

from __future__ import annotations

from campaignctl.store import Store
from tests.delivery.helpers import SENDER, enroll, inbound, post_signed, webhook_server

ANA = "+14155550100"
STRANGER = "+14155550199"


def test_every_inbound_message_is_kept_as_a_reply(state: str) -> None:
    with Store.open(state) as store:
        enroll(store, "spring", [ANA])
    messages = [
        (ANA, "Is the house on Elm still for sale?", "SM" + "1" * 32),
        (ANA, "HELP", "SM" + "2" * 32),
        (ANA, "Stop texting me please", "SM" + "3" * 32),
        (ANA, "START", "SM" + "4" * 32),
        (STRANGER, "who is this?", "SM" + "5" * 32),
    ]
    with webhook_server(state) as base:
        for phone, body, sid in messages:
            assert post_signed(f"{base}/twilio/inbound", inbound(phone, body, sid))[0] == 200
        # Twilio's retry of the first one
        retry = inbound(ANA, messages[0][1], messages[0][2])
        assert post_signed(f"{base}/twilio/inbound", retry)[0] == 200
    with Store.open(state) as store:
        kept = store.replies()
    assert [(r.phone, r.body, r.did, r.campaign) for r in reversed(kept)] == [
        (ANA, "Is the house on Elm still for sale?", "ended", "spring"),
        (ANA, "HELP", "help", "spring"),
        (ANA, "Stop texting me please", "opted_out", "spring"),
        (ANA, "START", "opted_in", "spring"),
        (STRANGER, "who is this?", "review", None),  # may revoke: held for a person
    ]
    assert {r.sender for r in kept} == {SENDER}
    assert [r.message_sid for r in reversed(kept)] == [sid for _p, _b, sid in messages]
    assert [r.keyword for r in reversed(kept)][1:4] == ["HELP", "STOP", "START"]
