"""The state's side of consent and sendWithin, on SQLite and PostgreSQL: the consent kept
with each enrollment (read back for explain and the export) and a step passed over."""

from __future__ import annotations

from datetime import timedelta

from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, later, phone

GIVEN = {
    "first_name": "Ana",
    "consentSource": "open-house sign-in",
    "consentAt": "2026-03-01T00:00:00Z",
}


def test_consent_is_kept_with_each_enrollment_and_exported_in_order(store: Store) -> None:
    active_campaign(store, "spring", "g1")
    active_campaign(store, "fall", "g2")
    store.enroll_many("spring", [contact(phone(1), **GIVEN), contact(phone(2))], T0)
    store.enroll_many("fall", [contact(phone(3), first_name="Bo", consentSource="web form")], T0)
    [ana] = store.consent_of(phone(1))
    assert (ana.campaign, ana.consent_source, ana.consent_at) == (
        "spring", "open-house sign-in", "2026-03-01T00:00:00Z",
    )  # fmt: skip
    rows = [(r.phone, r.campaign, r.consent_source, r.consent_at, r.status)
            for r in store.consent_records()]  # fmt: skip
    assert rows == [
        (phone(1), "spring", "open-house sign-in", "2026-03-01T00:00:00Z", "live"),
        (phone(2), "spring", None, None, "live"),
        (phone(3), "fall", "web form", None, "live"),
    ]
    assert [r.phone for r in store.consent_records("fall")] == [phone(3)]
    assert store.consent_of(phone(9)) == []


def test_a_passed_over_step_moves_the_sequence_on_from_its_expiry(store: Store) -> None:
    active_campaign(store, "spring", "g1")  # two steps, the second 30 days after the first
    store.enroll_many("spring", [contact(phone(1))], T0)
    expired = later(7)
    store.pass_over("spring", phone(1), 1, expired, 30, later(40))
    [e] = store.enrollments_of(phone(1))
    assert (e.status, e.steps_sent, e.next_due_at, e.last_sent_at) == (
        "live", 1, expired + timedelta(days=30), None,
    )  # fmt: skip
    # a step that is not the next one (already passed, or sent meanwhile) changes nothing
    store.pass_over("spring", phone(1), 1, later(8), 30, later(41))
    assert store.enrollments_of(phone(1)) == [e]
    store.pass_over("spring", phone(1), 2, later(44), None, later(50))
    [done] = store.enrollments_of(phone(1))
    assert (done.status, done.steps_sent, done.ended_at) == ("done", 2, later(50))
    assert [r.live for r in store.campaign_status_rows()] == [0]
