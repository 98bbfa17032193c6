"""Intents and outcomes: every outcome's effect on the attempt, ledger and enrollment."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import psycopg
import pytest

from campaignctl.errors import StateError
from campaignctl.providers.base import Outcome
from campaignctl.store import SendBlocked, Store
from campaignctl.store.records import Intent, Landed
from tests.store.helpers import SENDER, T0, active_campaign, contact, later, phone, send

A = phone(1)


@pytest.fixture
def ready(store: Store) -> Store:
    store.add_credits(10, "seed", T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(A)], T0)
    return store


def _enrollment(store: Store) -> tuple[str, int, str | None, str | None, str | None]:
    [e] = store.enrollments_of(A)
    return (
        e.status,
        e.steps_sent,
        e.end_reason,
        e.last_sent_at.isoformat() if e.last_sent_at else None,
        e.next_due_at.isoformat() if e.next_due_at else None,
    )


def test_intent_debits_and_is_in_flight(ready: Store) -> None:
    attempt_id = send(ready, "c1", A, 1, later(minutes=1), credits=3)
    assert ready.balance() == 7
    [entry] = [e for e in ready.ledger() if e.attempt_id == attempt_id]
    assert entry.amount == -3 and entry.balance_after == 7
    [flying] = ready.in_flight()
    assert (flying.id, flying.status, flying.step, flying.phone) == (attempt_id, "pending", 1, A)
    message = flying.message()
    assert message.from_number == "+15125550100" and message.messaging_service_sid is None
    assert message.to == A and message.attempt_id == attempt_id


def test_sent_advances_the_enrollment_and_the_phone(ready: Store) -> None:
    at = later(minutes=1)
    attempt_id = send(ready, "c1", A, 1, at)
    ready.record_outcome(attempt_id, Outcome("sent", provider_id="SM1"), at, 30)
    assert ready.attempt(attempt_id).status == "sent"  # type: ignore[union-attr]
    assert ready.attempt_by_provider_id("SM1").id == attempt_id  # type: ignore[union-attr]
    assert _enrollment(ready) == (
        "live",
        1,
        None,
        at.isoformat(),
        (at + timedelta(days=30)).isoformat(),
    )
    assert ready.balance() == 9
    assert ready.in_flight() == []


def test_sent_last_step_makes_the_enrollment_done(ready: Store) -> None:
    first = send(ready, "c1", A, 1, T0)
    ready.record_outcome(first, Outcome("sent"), T0, 30)
    second = send(ready, "c1", A, 2, later(30))
    ready.record_outcome(second, Outcome("sent"), later(30), None)
    status, steps, reason, last, _ = _enrollment(ready)
    assert (status, steps, reason, last) == ("done", 2, None, later(30).isoformat())
    assert [r.live for r in ready.campaign_status_rows()] == [0]


@pytest.mark.parametrize("status", ["retry", "auth_failed"])
def test_retry_refunds_and_leaves_the_step_due(ready: Store, status: str) -> None:
    attempt_id = send(ready, "c1", A, 1, T0, credits=4)
    ready.record_outcome(attempt_id, Outcome(status, error_code=20429), T0, 30)  # type: ignore[arg-type]
    assert ready.attempt(attempt_id).status == "retry"  # type: ignore[union-attr]
    assert ready.balance() == 10
    assert _enrollment(ready)[:3] == ("live", 0, None)
    again = send(ready, "c1", A, 1, later(minutes=15))  # the same step may be tried again
    assert again != attempt_id


def test_unknown_keeps_the_debit_and_blocks_a_second_intent(ready: Store) -> None:
    attempt_id = send(ready, "c1", A, 1, T0, credits=2)
    ready.record_outcome(attempt_id, Outcome("unknown", detail="HTTP 503"), T0, 30)
    assert ready.balance() == 8
    assert [a.status for a in ready.in_flight()] == ["unknown"]
    with pytest.raises(StateError, match=r"attempt .* is unknown"):
        send(ready, "c1", A, 1, later(minutes=15))
    ready.record_outcome(attempt_id, Outcome("sent", provider_id="SM9"), T0, 30)  # resolved
    assert _enrollment(ready)[:2] == ("live", 1)


def test_opted_out_refunds_opts_out_and_ends(ready: Store) -> None:
    attempt_id = send(ready, "c1", A, 1, T0, credits=2)
    ready.record_outcome(attempt_id, Outcome("opted_out", error_code=21610), T0, 30)
    assert ready.attempt(attempt_id).status == "failed"  # type: ignore[union-attr]
    assert ready.balance() == 10
    assert _enrollment(ready)[:3] == ("ended", 0, "opted_out")
    [record] = ready.optouts()
    assert (record.phone, record.source) == (A, "provider")
    assert [e.what for e in ready.explain(A) if e.kind == "optout"] == ["provider"]


@pytest.mark.parametrize("status", ["rejected", "failed"])
def test_rejected_refunds_and_ends_provider_rejected(ready: Store, status: str) -> None:
    attempt_id = send(ready, "c1", A, 1, T0, credits=2)
    ready.record_outcome(attempt_id, Outcome(status, error_code=21614), T0, 30)  # type: ignore[arg-type]
    assert ready.balance() == 10
    assert _enrollment(ready)[:3] == ("ended", 0, "provider_rejected")
    assert ready.optouts() == []


def test_an_outcome_is_recorded_once(ready: Store) -> None:
    attempt_id = send(ready, "c1", A, 1, T0)
    ready.record_outcome(attempt_id, Outcome("sent"), T0, 30)
    with pytest.raises(StateError, match="already has the outcome sent"):
        ready.record_outcome(attempt_id, Outcome("retry"), T0, 30)
    with pytest.raises(StateError, match="no send attempt 999"):
        ready.record_outcome(999, Outcome("sent"), T0, 30)


def test_a_step_is_never_recorded_sent_twice(ready: Store, state: str) -> None:
    attempt_id = send(ready, "c1", A, 1, T0)
    ready.record_outcome(attempt_id, Outcome("sent"), T0, 30)
    with pytest.raises(SendBlocked, match=r"attempt .* is sent") as blocked:
        send(ready, "c1", A, 1, later(31))
    assert blocked.value.reason == "step_taken"
    # below the store's checks, the partial unique index itself refuses it (on another
    # connection, as another process would write)
    insert = (
        "INSERT INTO attempts (campaign, phone, step, body, segments, credits, sender_key,"
        " provider, status, created_at, updated_at)"
        " VALUES ('c1', ?, 1, 'x', 1, 1, 'k', 'outbox', ?, 'x', 'x')"
    )
    with Store.open(state) as other:
        with pytest.raises(Exception, match=r"(?i)unique") as refused:
            other._conn.execute(insert, [A, "sent"])
        assert isinstance(refused.value, sqlite3.IntegrityError | psycopg.errors.UniqueViolation)
        other._conn.execute(insert, [A, "retry"])  # a retry row for the same step is history


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda s: s.add_optout(A, "sms", "STOP", T0), "opted_out"),
        (lambda s: s.suspend("wrong link", T0), "suspended"),
        (lambda s: s.end_enrollment("c1", A, "removed", T0), "not_live"),
    ],
)
def test_the_state_blocks_a_send_it_forbids(ready: Store, prepare, reason: str) -> None:  # type: ignore[no-untyped-def]
    prepare(ready)
    balance = ready.balance()
    with pytest.raises(SendBlocked) as blocked:
        send(ready, "c1", A, 1, T0)
    assert blocked.value.reason == reason
    assert ready.balance() == balance and ready.in_flight() == []


def test_a_send_the_balance_cannot_pay_is_blocked(ready: Store) -> None:
    with pytest.raises(SendBlocked, match="costs 11 credits, the balance is 10") as blocked:
        send(ready, "c1", A, 1, T0, credits=11)
    assert blocked.value.reason == "insufficient_credits"


def test_steps_go_in_order(ready: Store) -> None:
    with pytest.raises(SendBlocked, match="0 steps sent"):
        send(ready, "c1", A, 2, T0)


def test_delivery_callbacks(ready: Store) -> None:
    attempt_id = send(ready, "c1", A, 1, T0)
    ready.record_outcome(attempt_id, Outcome("sent", provider_id="SM1"), T0, 30)
    serial = ready.serial
    ready.record_delivery(attempt_id, "delivered", None, later(minutes=1))
    assert ready.attempt(attempt_id).delivery_status == "delivered"  # type: ignore[union-attr]
    assert ready.serial == serial  # a plan cannot see a delivered status
    assert _enrollment(ready)[0] == "live"
    ready.record_delivery(attempt_id, "undelivered", 30006, later(minutes=2))
    assert ready.attempt(attempt_id).error_code == 30006  # type: ignore[union-attr]
    assert _enrollment(ready)[:3] == ("ended", 1, "provider_rejected")
    assert ready.serial == serial + 1
    with pytest.raises(StateError, match="no send attempt"):
        ready.record_delivery(12345, "delivered", None, T0)


def test_outcomes_and_intents_go_in_one_transaction_each_intent_in_turn(ready: Store) -> None:
    """`record_sends`: the outcome of a call back, then the intents of the next calls, each
    checked against the state as the ones before it left it: one refused (its number opted
    out, the balance spent by those before it) refuses only itself."""
    b, c, d = phone(2), phone(3), phone(4)
    ready.enroll_many("c1", [contact(b), contact(c), contact(d)], T0)
    ready.add_optout(c, "sms", "STOP", T0)
    first = send(ready, "c1", A, 1, T0, credits=4)  # 6 credits left
    serial = ready.serial
    sent = Landed(first, Outcome("sent", provider_id="SM1"), later(minutes=1), 30)
    intents = [
        Intent("c1", n, 1, "step 1", 1, 3, SENDER.key, "outbox", later(minutes=1))
        for n in (b, c, d, phone(5))
    ]
    recorded = ready.record_sends([sent], intents)
    assert isinstance(recorded[0], int)
    assert [getattr(r, "reason", None) for r in recorded[1:]] == [
        "opted_out",
        None,  # paid with the last 3 credits
        "not_live",  # never enrolled
    ]
    assert ready.serial == serial + 1  # one transaction
    assert ready.balance() == 0
    assert _enrollment(ready)[:2] == ("live", 1)
    assert sorted((a.phone, a.status) for a in ready.in_flight()) == [
        (b, "pending"),
        (d, "pending"),
    ]
    assert ready.record_sends([], []) == [] and ready.serial == serial + 1  # nothing: no write
