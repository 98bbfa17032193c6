"""Every write that moves an enrollment's wait moves its next moment with it, on SQLite and
PostgreSQL: a next moment left behind its wait is safe (a lower bound) but keeps the row in
the range every tick reads and in the count of those waiting for a later moment."""

from __future__ import annotations

from datetime import timedelta

from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, later, phone


def _moments(store: Store) -> dict[str, tuple[str, str, str | None]]:
    rows = store._conn.execute(
        "SELECT phone, next_due_at, next_at, next_why FROM enrollments"
    ).fetchall()
    return {
        str(p): (str(due), str(at), None if why is None else str(why)) for p, due, at, why in rows
    }


def test_a_passed_over_step_moves_the_next_moment_to_the_next_wait(state: str) -> None:
    with Store.open(state) as store:
        active_campaign(store, "spring", "g1")  # two steps, the second 30 days after
        store.enroll_many("spring", [contact(phone(1))], T0)
        store.pass_over("spring", phone(1), 1, later(7), 30, later(40))
        due, at, _ = _moments(store)[phone(1)]
        assert due == at  # the wait from the expiry, not the enrollment's first moment
        [e] = store.enrollments_of(phone(1))
        assert e.next_due_at == later(7) + timedelta(days=30)
        assert store.later_counts(later(40), 2**62) == {}


def test_an_enrollment_made_in_quiet_hours_is_counted_waiting_for_its_window(
    state: str,
) -> None:
    with Store.open(state) as store:
        active_campaign(store, "spring", "g1")
        opens = later(1)
        night = contact(phone(1))  # its window opens later; the other's is open
        day = contact(phone(2))._replace(zones=("America/New_York",), us_state="NY")
        store.enroll_many("spring", [night, day], T0, lambda c: opens if c is night else T0)
        moments = _moments(store)
        assert moments[phone(1)][2] == "quiet_hours" and moments[phone(2)][2] is None
        assert store.later_counts(T0, 2**62) == {("spring", "quiet_hours"): 1}
        assert store.later_counts(opens, 2**62) == {}  # its window is open: read, not counted
        last = store.last_enrollment_id()
        assert store.later_counts(T0, last - 2) == {}  # both made by the apply under way
