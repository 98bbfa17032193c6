"""Webhook events: each recorded in one transaction with the mark that it was processed, so
Twilio's retry of an event is a no-op once, and only once, the event is in the state."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest

from campaignctl.errors import StateError
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent, StatusEvent
from tests.store.helpers import (
    T0,
    active_campaign,
    contact,
    inserts_refused,
    later,
    phone,
    send,
)


def test_an_inbound_event_is_processed_once(store: Store) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    serial = store.serial
    stop = InboundEvent("SM1", phone(1), "opt_out", "OPTOUT")
    first = store.record_inbound(stop, T0)
    assert (first.duplicate, first.changed, first.ended) == (False, True, ("c1",))
    assert store.serial == serial + 1
    assert store.record_inbound(stop, later(1)).duplicate  # Twilio's retry
    assert store.serial == serial + 1
    record = store.optout_of(phone(1))
    assert record is not None and record.note == "OPTOUT by SMS"
    help_ = store.record_inbound(InboundEvent("SM2", phone(1), "help"), T0)
    assert (help_.duplicate, help_.changed, store.serial) == (False, False, serial + 1)


def history_refused(backend: str, state: str) -> AbstractContextManager[None]:
    """While inside, the database itself refuses to write an opt-out's history row: the
    second write of the event fails after the first succeeded."""
    return inserts_refused(backend, state, "optout_history", "no room for the history")


def test_a_failure_inside_the_event_leaves_nothing_and_the_retry_goes_through(
    store: Store, backend: str, state: str
) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    stop = InboundEvent("SM1", phone(1), "opt_out", "STOP")
    with history_refused(backend, state), pytest.raises(StateError, match="no room"):
        store.record_inbound(stop, T0)
    assert store.optout_of(phone(1)) is None
    assert [e.end_reason for e in store.enrollments_of(phone(1))] == [None]
    assert not store.record_inbound(stop, later(1)).duplicate
    assert [e.end_reason for e in store.enrollments_of(phone(1))] == ["opted_out"]


def test_status_callbacks_are_matched_ranked_and_deduplicated(store: Store) -> None:
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    store.add_credits(10, None, T0)
    attempt_id = send(store, "c1", phone(1), 1, T0)
    store.record_outcome(attempt_id, Outcome("sent", provider_id="SM9"), T0, 30)
    assert store.record_status(StatusEvent("SMX", "delivered"), T0).outcome == "unknown"
    wrong_url = StatusEvent("SMX", "delivered", attempt_id=attempt_id)  # the SID disagrees
    assert store.record_status(wrong_url, T0).outcome == "unknown"
    serial = store.serial
    sent = store.record_status(StatusEvent("SM9", "sent", attempt_id=attempt_id), T0)
    assert (sent.outcome, sent.previous) == ("recorded", None)
    lost = StatusEvent("SM9", "undelivered", 30005)
    assert store.record_status(lost, T0).ended == ("c1",)
    assert store.record_status(lost, T0).outcome == "duplicate"
    assert store.record_status(StatusEvent("SM9", "sent"), T0).outcome == "late"
    assert store.serial == serial + 1  # only the ended enrollment changes a plan
    record = store.attempt(attempt_id)
    assert record is not None
    assert (record.delivery_status, record.error_code) == ("undelivered", 30005)
