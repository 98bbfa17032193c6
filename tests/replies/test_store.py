"""The replies in the state, on both backends: every incoming message kept in the webhook's
own transaction with what it did, the campaign and step it answers, and its pending
forward; the reads of `replies`, `explain` and `status`; the forward outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from campaignctl.errors import StateError
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from campaignctl.store.copy import copy_between
from campaignctl.store.inbound import InboundEvent
from campaignctl.store.replies import DIDS
from campaignctl.store.replies_schema import DID_VALUES
from tests.store.helpers import (
    SENDER,
    T0,
    active_campaign,
    contact,
    inserts_refused,
    later,
    launch,
    phone,
    send,
)

OURS = SENDER.key


def event(sid: str, number: str, kind: str, body: str, keyword: str | None = None) -> InboundEvent:
    return InboundEvent(sid, number, kind, keyword, body, OURS)  # type: ignore[arg-type]


def sent_step_1(store: Store, campaign: str, number: str) -> None:
    store.add_credits(10, None, T0)
    attempt_id = send(store, campaign, number, 1, T0)
    store.record_outcome(attempt_id, Outcome("sent", provider_id=f"SMout{number}"), T0, 30)


def test_every_incoming_message_is_kept_with_what_it_did(store: Store) -> None:
    active_campaign(store)
    store.ensure_campaign("quiet", T0)
    store.set_campaign_status("quiet", "active", None, T0, launch("g2", stop_on_reply=False))
    store.enroll_many("c1", [contact(phone(n)) for n in (1, 2, 3, 4)], T0)
    store.enroll_many("quiet", [contact(phone(5))], T0)
    sent_step_1(store, "c1", phone(1))
    messages = [
        event("SM1", phone(1), "reply", "Sounds good, call me"),
        event("SM2", phone(2), "opt_out", "Stop!", "STOP"),
        event("SM3", phone(2), "opt_in", "start", "START"),
        event("SM4", phone(3), "help", "help?", "HELP"),
        event("SM5", phone(5), "reply", "ok thanks"),  # stopOnReply false: nothing ends
        event("SM6", phone(99), "reply", "who is this?"),  # a number in no campaign
    ]
    for n, message in enumerate(messages):
        assert store.record_inbound(message, later(minutes=n)).reply_id is not None
    kept = {r.message_sid: r for r in store.replies()}
    assert {sid: kept[sid].did for sid in kept} == {
        "SM1": "ended", "SM2": "opted_out", "SM3": "opted_in", "SM4": "help", "SM5": "kept",
        "SM6": "review",  # words that may revoke consent hold the number
    }  # fmt: skip
    first = kept["SM1"]
    assert (first.phone, first.sender, first.body) == (phone(1), OURS, "Sounds good, call me")
    assert (first.campaign, first.step, first.received_at) == ("c1", 1, T0)
    assert (kept["SM2"].campaign, kept["SM2"].step, kept["SM2"].keyword) == ("c1", None, "STOP")
    # the opt-in answers the campaign the opt-out ended: still the number's last one
    assert kept["SM3"].campaign == "c1"
    assert (kept["SM5"].campaign, kept["SM6"].campaign, kept["SM6"].step) == ("quiet", None, None)
    assert all(r.forwarded_at is None and r.forward_attempts == 0 for r in kept.values())


def test_a_retried_message_is_kept_once(store: Store) -> None:
    stop = event("SM1", phone(1), "opt_out", "STOP", "STOP")
    store.record_inbound(stop, T0)
    assert store.record_inbound(stop, later(1)).duplicate
    assert [r.message_sid for r in store.replies()] == ["SM1"]
    assert store.forward_backlog().pending == 1


@pytest.mark.parametrize("table", ["replies", "reply_forwards"])
def test_the_reply_and_its_forward_are_in_the_events_transaction(
    store: Store, backend: str, state: str, table: str
) -> None:
    """A reply that cannot be kept leaves nothing of its event (no opt-out, no mark), so
    Twilio's retry records it all; and never a reply without its forward row."""
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    stop = event("SM1", phone(1), "opt_out", "STOP", "STOP")
    refused = inserts_refused(backend, state, table, "refused by the test")
    with refused, pytest.raises(StateError, match="refused by the test"):
        store.record_inbound(stop, T0)
    assert store.optout_of(phone(1)) is None
    assert store.replies() == [] and store.forward_backlog().pending == 0
    assert not store.record_inbound(stop, later(1)).duplicate
    assert [(r.did, r.campaign) for r in store.replies()] == [("opted_out", "c1")]
    assert store.forward_backlog().pending == 1


def test_replies_are_listed_newest_first_and_filtered(store: Store) -> None:
    active_campaign(store, "a")
    active_campaign(store, "b", "g2")
    store.enroll_many("a", [contact(phone(1))], T0)
    store.enroll_many("b", [contact(phone(2))], T0)
    for n in range(6):
        number, kind = (phone(1), "reply") if n % 2 else (phone(2), "help")
        store.record_inbound(event(f"SM{n}", number, kind, f"text {n}"), later(hours=n))
    assert [r.message_sid for r in store.replies()] == [f"SM{n}" for n in (5, 4, 3, 2, 1, 0)]
    assert [r.message_sid for r in store.replies(campaign="b")] == ["SM4", "SM2", "SM0"]
    window = store.replies(since=later(hours=1), until=later(hours=4))
    assert [r.message_sid for r in window] == ["SM3", "SM2", "SM1"]
    assert [r.did for r in store.replies(did="help")] == ["help"] * 3
    assert [r.message_sid for r in store.replies(did="ended")] == ["SM1"]  # ended once
    assert [r.message_sid for r in store.replies(limit=2)] == ["SM5", "SM4"]
    assert store.replies(campaign="nope") == []


def test_explain_and_status_include_the_replies(store: Store) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1)), contact(phone(2))], T0)
    sent_step_1(store, "c1", phone(1))
    store.record_inbound(event("SM1", phone(1), "opt_out", "stop please", "STOP"), later(1))
    store.record_inbound(event("SM2", phone(2), "reply", "maybe"), later(1))
    history = [(e.kind, e.what, e.step, e.detail) for e in store.explain(phone(1))]
    # the reply comes before the opt-out it made, at the same instant
    assert history[-3:] == [
        ("reply", "opted_out", 1, "stop please"),
        ("optout", "sms", None, None),
        ("ended", "ended", 1, None),
    ]
    (row,) = store.campaign_status_rows()
    assert row.replies == 2


def test_the_forward_outbox(store: Store) -> None:
    for n in range(3):
        store.record_inbound(event(f"SM{n}", phone(n), "reply", "hi"), T0)
    first, second, third = sorted(r.id for r in store.replies())
    assert [r.id for r in store.forwards_due(T0, 10)] == [first, second, third]
    store.forward_failed(first, "HTTP 500 Internal Server Error", later(minutes=5), T0)
    assert [r.id for r in store.forwards_due(T0, 10)] == [second, third]
    assert [r.id for r in store.forwards_due(later(minutes=5), 1)] == [first]
    assert store.forward_accepted(second, "https://crm.example.com/in", T0)
    assert not store.forward_accepted(second, "https://crm.example.com/in", T0)  # once
    backlog = store.forward_backlog()
    assert (backlog.pending, backlog.failing) == (2, 1)
    assert backlog.last_error == "HTTP 500 Internal Server Error"
    kept = {r.id: r for r in store.replies()}
    assert (kept[first].forward_attempts, kept[first].next_attempt_at) == (1, later(minutes=5))
    assert kept[second].forwarded_at == T0 and kept[second].forward_attempts == 1
    store.forward_accepted(first, "https://crm.example.com/in", later(minutes=6))
    store.forward_failed(first, "late failure", later(hours=1), later(hours=1))  # no effect
    kept = {r.id: r for r in store.replies()}
    assert (kept[first].forward_attempts, kept[first].forward_error) == (2, None)
    assert [r.id for r in store.forwards_due(later(days=1), 10)] == [third]
    assert store.forward_backlog().pending == 1


def test_a_state_copy_keeps_the_replies_and_their_forwards(
    store: Store, state: str, new_state: Callable[[], str]
) -> None:
    store.record_inbound(event("SM1", phone(1), "reply", "hi"), T0)
    store.record_inbound(event("SM2", phone(2), "opt_out", "STOP", "STOP"), T0)
    (pending, done) = sorted(r.id for r in store.replies())
    store.forward_accepted(done, "https://crm.example.com/in", T0 + timedelta(seconds=1))
    destination = new_state()
    report = copy_between(state, destination)
    assert (report.tables["replies"], report.tables["reply_forwards"]) == (2, 2)
    with Store.open(destination) as copied:
        assert [r.message_sid for r in copied.replies()] == ["SM2", "SM1"]
        assert [r.id for r in copied.forwards_due(T0, 10)] == [pending]
        copied.record_inbound(event("SM3", phone(3), "reply", "again"), T0)
        assert max(r.id for r in copied.replies()) == done + 1  # ids continue after the copy


def test_the_schema_admits_exactly_what_a_reply_may_have_done() -> None:
    assert DIDS == DID_VALUES
