"""State commands and webhook writes: credits, opt-outs, suspend, replies, outbox, serial."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from campaignctl.core.actions import Defer, Pause, Send, Skip
from campaignctl.errors import StateError
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, later, launch, phone, send


def test_credits_ledger_with_running_balance(store: Store) -> None:
    assert store.add_credits(100, "invoice 1", T0) == 100
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    attempt_id = send(store, "c1", phone(1), 1, later(minutes=1), credits=3)
    store.record_outcome(attempt_id, Outcome("failed"), later(minutes=1), 30)
    assert store.add_credits(5, None, later(1)) == 105
    entries = store.ledger()
    assert [(e.amount, e.balance_after) for e in entries] == [
        (100, 100),
        (-3, 97),
        (3, 100),
        (5, 105),
    ]
    assert [e.attempt_id for e in entries] == [None, attempt_id, attempt_id, None]
    assert entries[-1].note == "top-up"
    assert [e.amount for e in store.ledger(limit=2)] == [3, 5]
    assert store.ledger_size() == 4
    with pytest.raises(StateError, match="positive"):
        store.add_credits(0, None, T0)


def test_the_ledger_is_append_only(store: Store) -> None:
    store.add_credits(10, None, T0)
    with pytest.raises(Exception, match="append-only"):
        store._conn.execute("UPDATE ledger SET amount = 1000")
    with pytest.raises(Exception, match="append-only"):
        store._conn.execute("DELETE FROM ledger")
    assert store.balance() == 10


def test_optouts_and_their_history(store: Store) -> None:
    assert store.add_optout(phone(1), "manual", "asked by phone", T0)
    assert not store.add_optout(phone(1), "sms", "STOP", later(1))
    [record] = store.optouts()
    assert (record.source, record.note, record.at) == ("manual", "asked by phone", T0)
    assert store.remove_optout(phone(1), "texted START", "sms", later(2))
    assert not store.remove_optout(phone(1), "again", "manual", later(3))
    assert store.optouts() == [] and store.optout_of(phone(1)) is None
    history = [(e.kind, e.what, e.reason) for e in store.explain(phone(1))]
    assert history == [("optout", "manual", "asked by phone"), ("optin", "sms", "texted START")]
    with pytest.raises(StateError, match="reason"):
        store.remove_optout(phone(1), "  ", "manual", T0)
    with pytest.raises(ValueError, match="source"):
        store.add_optout(phone(2), "git", None, T0)


def test_suspend_and_resume(store: Store) -> None:
    assert store.suspended() is None
    store.suspend("wrong link", T0)
    assert store.suspended() == "wrong link" and store.suspended_at() == T0
    store.resume(later(1))
    assert store.suspended() is None and store.suspended_at() is None


def test_replies_end_only_stop_on_reply_campaigns(store: Store) -> None:
    store.ensure_campaign("keeps", T0)
    store.set_campaign_status("keeps", "active", None, T0, launch("g1", stop_on_reply=False))
    active_campaign(store, "stops", "g2")
    store.enroll_many("keeps", [contact(phone(1))], T0)
    store.enroll_many("stops", [contact(phone(2))], T0)
    assert store.end_live_enrollments(phone(1), "replied", T0, only_stop_on_reply=True) == []
    assert store.end_live_enrollments(phone(2), "replied", T0, only_stop_on_reply=True) == ["stops"]
    assert store.end_live_enrollments(phone(1), "opted_out", T0) == ["keeps"]
    assert store.end_live_enrollments(phone(1), "opted_out", T0) == []
    ended = {r.name: dict(r.ended) for r in store.campaign_status_rows()}
    assert ended == {"keeps": {"opted_out": 1}, "stops": {"replied": 1}}


def test_decisions_keep_a_bounded_history(store: Store) -> None:
    active_campaign(store)
    skip = Skip("c1", phone(1), "missing_field", "field 'city' is empty")
    pause = Pause("c1", "balance is 0")
    defer = Defer("c1", phone(1), 1, "quiet_hours", until=later(hours=8))
    for tick in range(20):
        store.record_decisions([pause, skip, defer], later(minutes=15 * tick))
    store.record_decisions([Send("c1", phone(1), 1, "hi", 1, 1)], later(1))
    store.record_decisions([skip, defer], later(2))
    rows = store._conn.execute("SELECT type, repeats FROM decisions ORDER BY id").fetchall()
    assert rows == [("pause", 20), ("skip", 20), ("send", 1), ("skip", 1)]  # no defer kept
    [first, *_] = [e for e in store.explain(phone(1)) if e.kind == "decision"]
    assert (first.at, first.last_at, first.repeats) == (T0, later(minutes=15 * 19), 20)
    assert first.reason == "missing_field" and first.detail == "field 'city' is empty"


def test_every_state_change_increases_the_serial(store: Store) -> None:
    changes = [
        lambda: store.add_credits(10, None, T0),
        lambda: active_campaign(store),
        lambda: store.enroll_many("c1", [contact(phone(1))], T0),
        lambda: store.set_group_digest("c1", "d"),
        lambda: store.add_optout(phone(9), "manual", None, T0),
        lambda: store.remove_optout(phone(9), "asked", "manual", T0),
        lambda: store.suspend("x", T0),
        lambda: store.resume(T0),
        lambda: store.end_enrollment("c1", phone(1), "removed", T0),
        lambda: store.record_decisions([Skip("c1", phone(1), "dnc")], T0),
    ]
    seen = [store.serial]
    for change in changes:
        change()
        seen.append(store.serial)
    assert all(b > a for a, b in itertools.pairwise(seen))
    run_id = store.record_run(T0, "sha256:abc", {"send": 0})
    stored = store._conn.execute(
        "SELECT serial, counts FROM runs WHERE id = ?", [run_id]
    ).fetchone()
    assert stored == (store.serial, '{"send":0}')


def test_outbox_records_once_per_attempt(store: Store) -> None:
    store.add_credits(10, None, T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    attempt = store.attempt(send(store, "c1", phone(1), 1, T0))
    assert attempt is not None
    first = store.outbox_add(attempt.message(), later(minutes=1))
    assert first.startswith("OB") and len(first) == 34
    assert store.outbox_add(attempt.message(), later(minutes=2)) == first
    [record] = store.outbox()
    assert (record.to, record.sender, record.step, record.at) == (
        phone(1),
        "+15125550100",
        1,
        later(minutes=1),
    )
    assert store.outbox_find(attempt.id) == record
    assert store.outbox_find(attempt.id + 1) is None
    assert store.outbox(campaign="other") == []


def test_a_refused_outbox_write_keeps_nothing_and_the_next_one_goes_through(
    store: Store,
) -> None:
    """The outbox's write is begun, run and committed at once (one round trip on
    PostgreSQL): one the database refuses leaves no row and no transaction open."""
    store.add_credits(10, None, T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    attempt = store.attempt(send(store, "c1", phone(1), 1, T0))
    assert attempt is not None
    message = attempt.message()
    with pytest.raises(StateError, match=r"NOT NULL|not-null"):
        nothing = dataclasses.replace(message, body=None)  # type: ignore[arg-type]
        store.outbox_add(nothing, later(minutes=1))
    assert store.outbox_find(attempt.id) is None
    assert store.outbox_add(message, later(minutes=2)).startswith("OB")
    assert [record.at for record in store.outbox()] == [later(minutes=2)]
    store.add_credits(1, None, later(minutes=3))  # a write of the state, after it
    assert store.balance() == 10 - attempt.credits + 1


def test_a_bulk_load_of_the_ledger_moves_the_balance_by_its_sum(store: Store) -> None:
    """The balance follows the ledger however its rows arrive: one at a time (a top-up, a
    debit) or many in one statement (the bulk load of a state copy)."""
    assert store.add_credits(10, "invoice 1", T0) == 10
    rows = [(T0.isoformat(), amount, f"row {i}", None) for i, amount in enumerate([5, -2, 40])]
    with store._write(bump=False) as conn:
        conn.insert_rows("ledger", ("at", "amount", "note", "attempt_id"), rows)
    assert store.balance() == 10 + 5 - 2 + 40
    assert [e.amount for e in store.ledger()] == [10, 5, -2, 40]
