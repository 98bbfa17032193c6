"""The due enrollments a tick leaves unread are counted the shorter way: the due ones
after the tick's place themselves, or all the live ones less those not due and those read.
Both ways give the same count, at every moment and every place in the queue."""

from __future__ import annotations

import random
from datetime import timedelta

from campaignctl.store import Store
from campaignctl.store.db import to_text
from campaignctl.store.due import (
    EVERY,
    START,
    _by_complement,
    _count_due_after,
    campaign_page,
    count_after,
    key_of,
)
from tests.store.helpers import T0, active_campaign, contact, phone


def _varied_state(store: Store, rng: random.Random, count: int) -> None:
    """`count` enrollments whose next moments are unknown, come or to come, and whose
    waits are over or not; some ended."""
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(i)) for i in range(count)], T0)
    with store._write() as conn:
        for (ident,) in conn.execute("SELECT id FROM enrollments").fetchall():
            wait = T0 + timedelta(hours=rng.randrange(-48, 48))
            moment = wait + timedelta(hours=rng.randrange(0, 24))
            next_at = None if rng.random() < 0.2 else to_text(moment)
            conn.execute(
                "UPDATE enrollments SET next_due_at = ?, next_at = ? WHERE id = ?",
                [to_text(wait), next_at, ident],
            )
        ended = [phone(i) for i in range(count) if rng.random() < 0.1]
    store.end_enrollments("c1", ended, "removed", T0)


def test_both_ways_count_the_same_at_every_place_in_the_queue(store: Store) -> None:
    rng = random.Random(7)
    _varied_state(store, rng, 300)
    checked = 0
    with store._read() as conn:
        for hours in (-60, -24, -3, 0, 5, 30, 80):
            at = to_text(T0 + timedelta(hours=hours))
            due = campaign_page(conn, "c1", at, START, None)
            places = [START] + [key_of(row) for row in due]
            for after in places:
                direct = _count_due_after(conn, "c1", at, after, EVERY, None)
                assert _by_complement(conn, "c1", at, after, EVERY) == direct, (hours, after)
                assert count_after(conn, "c1", at, after) == direct
                checked += 1
            assert _count_due_after(conn, "c1", at, START, EVERY, None) == len(due)
    assert checked > 300


def test_the_enrollments_of_the_apply_under_way_are_counted_the_direct_way(
    store: Store,
) -> None:
    rng = random.Random(8)
    _varied_state(store, rng, 50)
    with store._read() as conn:
        (newest,) = conn.execute("SELECT max(id) FROM enrollments").fetchone()
        at = to_text(T0)
        before = newest - 10  # the last ten were made by this apply: not counted
        assert _by_complement(conn, "c1", at, START, before) is None
        direct = _count_due_after(conn, "c1", at, START, before, None)
        assert count_after(conn, "c1", at, START, before) == direct
        assert direct < _count_due_after(conn, "c1", at, START, EVERY, None)
