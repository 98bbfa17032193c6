"""The planner's snapshot: due work only, in order, and per-phone facts where needed."""

from __future__ import annotations

from datetime import timedelta

from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, desired, group, later, phone, send


def test_due_is_oldest_first_and_excludes_in_flight_and_not_yet_due(store: Store) -> None:
    store.add_credits(100, None, T0)
    active_campaign(store, "c1", "g1")
    active_campaign(store, "c2", "g2")
    store.enroll_many("c1", [contact(phone(1))], later(minutes=30))
    store.enroll_many("c2", [contact(phone(2))], later(minutes=10))
    store.enroll_many("c1", [contact(phone(3)), contact(phone(4))], later(minutes=20))
    store.enroll_many("c2", [contact(phone(5))], later(hours=5))  # not due yet
    flying = send(store, "c1", phone(4), 1, later(minutes=21))  # in flight: not due
    want = desired({}, {})
    snap = store.snapshot(want, later(hours=1))
    assert [e.phone for e in snap.due] == [phone(2), phone(3), phone(1)]
    assert snap.due[0].campaign == "c2" and snap.due[0].fields == {"first_name": "Ana"}
    assert snap.due[0].zones == ("America/Los_Angeles",) and snap.due[0].us_state == "CA"
    store.record_outcome(flying, Outcome("retry"), later(minutes=22), None)
    assert phone(4) in [e.phone for e in store.snapshot(want, later(hours=1)).due]
    # after a send, the enrollment is due again only once its wait is over
    sent = send(store, "c1", phone(1), 1, later(hours=1))
    store.record_outcome(sent, Outcome("sent"), later(hours=1), 30)
    assert phone(1) not in [e.phone for e in store.snapshot(want, later(29)).due]
    assert phone(1) in [e.phone for e in store.snapshot(want, later(31)).due]


def test_changed_groups_are_read_and_unchanged_ones_are_not(store: Store) -> None:
    active_campaign(store, "c1", "g1")
    store.enroll_many("c1", [contact(phone(1)), contact(phone(2))], T0)
    store.end_enrollment("c1", phone(2), "removed", T0)
    store.set_group_digest("c1", "old")
    contacts = [contact(phone(1)), contact(phone(2)), contact(phone(3))]

    changed = store.snapshot(desired({"g1": group("g1", contacts, "new")}, {"c1": "g1"}), T0)
    assert changed.enrolled == {"c1": frozenset({phone(1), phone(2)})}
    assert changed.live == {"c1": frozenset({phone(1)})}
    assert changed.live_owner == {phone(1): "c1"}

    same = store.snapshot(desired({"g1": group("g1", contacts, "old")}, {"c1": "g1"}), T0)
    assert same.enrolled == {} and same.live == {}

    skipped = store.snapshot(
        desired({"g1": group("g1", [], "new", loaded=False)}, {"c1": "g1"}), T0
    )
    assert skipped.enrolled == {}

    fresh = store.snapshot(desired({"g2": group("g2", contacts, "x")}, {"c9": "g2"}), T0)
    assert fresh.enrolled == {"c9": frozenset()} and fresh.live == {"c9": frozenset()}
    assert fresh.live_owner == {phone(1): "c1"}


def test_live_owner_and_last_sent_across_campaigns(store: Store) -> None:
    store.add_credits(100, None, T0)
    active_campaign(store, "c1", "g1")
    active_campaign(store, "c2", "g2")
    store.enroll_many("c1", [contact(phone(1))], T0)
    attempt_id = send(store, "c1", phone(1), 1, later(hours=1))
    store.record_outcome(attempt_id, Outcome("sent"), later(hours=1), None)  # done
    store.enroll_many("c2", [contact(phone(1))], later(2))
    contacts = [contact(phone(1)), contact(phone(7))]
    snap = store.snapshot(desired({"g3": group("g3", contacts)}, {"c3": "g3"}), later(3))
    assert snap.live_owner == {phone(1): "c2"}
    assert snap.last_sent == {phone(1): later(hours=1)}


def test_sent_today_counts_by_utc_day_and_sender(store: Store) -> None:
    store.add_credits(100, None, T0)
    active_campaign(store)
    day = T0.replace(hour=0, minute=0)
    numbers = [phone(i) for i in range(5)]
    store.enroll_many("c1", [contact(n) for n in numbers], day - timedelta(days=1))
    times = [day - timedelta(microseconds=1), day, day + timedelta(hours=23, minutes=59)]
    ids = [send(store, "c1", n, 1, at) for n, at in zip(numbers, times, strict=False)]
    for attempt_id in ids:
        store.record_outcome(attempt_id, Outcome("sent"), T0, 30)
    failed = send(store, "c1", numbers[3], 1, day + timedelta(hours=1))
    store.record_outcome(failed, Outcome("failed"), day, 30)
    pending = send(store, "c1", numbers[4], 1, day + timedelta(hours=2))
    assert pending
    snap = store.snapshot(desired({}, {}), T0)
    assert snap.sent_today == {"+15125550100": 3}  # two sent today + one in flight
    assert store.snapshot(desired({}, {}), day - timedelta(hours=1)).sent_today == {
        "+15125550100": 1
    }


def test_scalars(store: Store) -> None:
    store.add_credits(12, None, T0)
    store.add_optout(phone(1), "sms", None, T0)
    store.suspend("audit", T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(2)), contact(phone(3))], T0)
    snap = store.snapshot(desired({}, {}), T0)
    assert snap.serial == store.serial
    assert snap.balance == 12 and snap.opted_out == {phone(1)} and snap.suspended == "audit"
    state = snap.campaigns["c1"]
    assert state.status == "active" and state.live_enrollments == 2
    assert state.launch is not None and state.launch.steps[1].wait_days == 30
    assert state.launch.quiet_hours.start.hour == 9 and state.launch.sender.key == "+15125550100"


def test_synced_groups(store: Store) -> None:
    active_campaign(store, "c1", "g1")
    active_campaign(store, "c2", "g2")
    assert store.synced_groups() == {}
    store.set_group_digest("c1", "d1")
    store.set_group_digest("c2", "d2")
    assert store.synced_groups() == {"g1": "d1", "g2": "d2"}
    assert store.group_digests() == {"c1": "d1", "c2": "d2"}
    store.set_campaign_status("c2", "completed", None, T0)
    assert store.synced_groups() == {"g1": "d1"}
